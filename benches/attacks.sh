#!/usr/bin/env bash
# What relay and tamper tracking cost: smbsign at BASE (default: the commit
# before it, 4a5ce7f) and at HEAD scan the same large captures, runs
# alternating, best of BENCH_REPS each (CPU time, user + system).
#   bash benches/attacks.sh          (BENCH_MB=100, BENCH_REPS=5)
# BASE is built twice: as it shipped (its own release profile: 16 codegen
# units, no LTO) and with HEAD's release profile (LTO, one unit), so the
# tracking's own cost is the ratio against the second.
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
bt="${BASE_TARGET:-/tmp/smbsign-bench-base-target}"
CARGO_TARGET_DIR="$bt" \
  cargo build --release --quiet --bin smbsign --manifest-path "$work/base/Cargo.toml"
CARGO_TARGET_DIR="$bt-lto" CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  cargo build --release --quiet --bin smbsign --manifest-path "$work/base/Cargo.toml"
shipped="$bt/release/smbsign"
old="$bt-lto/release/smbsign"
new=target/release/smbsign
. benches/common.sh
echo "| input | size MB | $base as shipped s | $base, HEAD's profile s | HEAD s | HEAD / shipped | HEAD / same profile |"
echo "|---|---|---|---|---|---|---|"
for src in tests/captures/smb311-gmac.pcap tests/captures/attacks/relay-auto.pcap; do
  f="$work/$(basename "$src" .pcap)-$mb.pcap"
  target/release/examples/scale_capture "$src" "$f" "$mb" 16 2>/dev/null
  cat "$f" >/dev/null
  b_ship=""; b_old=""; b_new=""
  for _ in $(seq "$reps"); do
    b_ship=$(best "$b_ship" "$(t "$shipped" scan --json --no-progress "$f")")
    b_old=$(best "$b_old" "$(t "$old" scan --json --no-progress "$f")")
    b_new=$(best "$b_new" "$(t "$new" scan --json --no-progress "$f")")
  done
  size=$(echo "scale=1; $(stat -c %s "$f") / 1000000" | bc -l)
  echo "| $(basename "$src") | $size | $(printf %.3f "$b_ship") | $(printf %.3f "$b_old") | $(printf %.3f "$b_new") | $(echo "scale=3; $b_new / $b_ship" | bc -l) | $(echo "scale=3; $b_new / $b_old" | bc -l) |"
done
