#!/usr/bin/env bash
# After a campaign: minimise each target's working corpus (cargo fuzz cmin:
# the smallest set of inputs with the same coverage) and add it to the
# committed seeds, so every `cargo test` replays what the campaign reached.
#   bash fuzz/keep_corpus.sh [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pdu conn_sequence capture ntlmssp verify ffi)
for t in "${targets[@]}"; do
  before=$(ls "corpus/$t" | wc -l)
  cargo fuzz cmin "$t" -s none "corpus/$t" -- -rss_limit_mb=1024 >/dev/null 2>&1
  mkdir -p "seeds/$t"
  # Inputs up to 16 KiB (the larger ones mostly repeat the lab captures, which
  # the tests replay anyway); named by their SHA-1, so copying never
  # overwrites a different one.
  find "corpus/$t" -maxdepth 1 -type f -size -17k -exec cp -n {} "seeds/$t/" \;
  echo "$t: corpus $before -> $(ls "corpus/$t" | wc -l) after cmin; seeds now $(ls "seeds/$t" | wc -l) files, $(du -sh "seeds/$t" | cut -f1)"
done
