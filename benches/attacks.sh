#!/usr/bin/env bash
# What relay and tamper tracking cost: smbsign at BASE (default: the commit
# before it, 4a5ce7f) and at HEAD scan the same large captures, runs
# alternating, best of BENCH_REPS each.
#   bash benches/attacks.sh          (BENCH_MB=100, BENCH_REPS=5)
# Inputs: a signed 3.1.1 session (no attack) and both legs of the lab's
# ntlmrelayx relay, each scaled by examples/scale_capture.rs (so the relay
# input holds thousands of NTLM logons to index and correlate).
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-4a5ce7f}"
mb="${BENCH_MB:-100}"
reps="${BENCH_REPS:-5}"
work="$(mktemp -d /tmp/smbsign-attacks-bench.XXXXXX)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cargo build --release --quiet --bin smbsign --example scale_capture
git worktree add --quiet --detach "$work/base" "$base"
# The baseline's build is cached outside the clone.
CARGO_TARGET_DIR="${BASE_TARGET:-/tmp/smbsign-bench-base-target}" \
  cargo build --release --quiet --bin smbsign --manifest-path "$work/base/Cargo.toml"
old="${BASE_TARGET:-/tmp/smbsign-bench-base-target}/release/smbsign"
new=target/release/smbsign
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
echo "| input | size MB | before ($base) s | with relay/tamper tracking s | ratio |"
echo "|---|---|---|---|---|"
for src in tests/captures/smb311-gmac.pcap tests/captures/attacks/relay-auto.pcap; do
  f="$work/$(basename "$src" .pcap)-$mb.pcap"
  target/release/examples/scale_capture "$src" "$f" "$mb" 16 2>/dev/null
  cat "$f" >/dev/null
  b_old=""; b_new=""
  for _ in $(seq "$reps"); do
    x=$(t "$old" scan --json --no-progress "$f"); y=$(t "$new" scan --json --no-progress "$f")
    if [ -z "$b_old" ] || (( $(echo "$x < $b_old" | bc -l) )); then b_old=$x; fi
    if [ -z "$b_new" ] || (( $(echo "$y < $b_new" | bc -l) )); then b_new=$y; fi
  done
  size=$(echo "scale=1; $(stat -c %s "$f") / 1000000" | bc -l)
  echo "| $(basename "$src") | $size | $(printf %.3f "$b_old") | $(printf %.3f "$b_new") | $(echo "scale=3; $b_new / $b_old" | bc -l) |"
done
