#!/usr/bin/env bash
# Run every fuzz target for a fixed budget (seconds each, default 20):
#   bash fuzz/run.sh [SECONDS]
# Installs cargo-fuzz when missing. The committed seeds (fuzz/seeds/) are
# copied into the working corpus (fuzz/corpus/, not committed). Uses -s none: the stable toolchain has
# no sanitizers for Rust (smbsign's Rust is safe code outside src/ffi/;
# the C side runs under valgrind in the tests). A crash leaves its input
# in fuzz/artifacts/<target>/ and fails this script: copy it into
# fuzz/regressions/<target>/ so `cargo test` replays it forever.
set -euo pipefail
cd "$(dirname "$0")"
budget="${1:-20}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# Build every target first: a build failure fails the script (the runs
# below only filter libFuzzer's output).
cargo fuzz build -s none
for t in pdu conn_sequence capture ntlmssp verify ffi; do
  echo "== fuzz $t for ${budget}s"
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  cargo fuzz run "$t" -s none -- -max_total_time="$budget" -rss_limit_mb=1024 -max_len=65536 \
    2>&1 | grep -E "^Done|ERROR|panicked|Failing input|SUMMARY" || true
  if ls "artifacts/$t"/crash-* >/dev/null 2>&1 || ls "artifacts/$t"/oom-* >/dev/null 2>&1; then
    echo "fuzz target $t found a failing input: see fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "fuzzing: no crash in ${budget}s per target"
