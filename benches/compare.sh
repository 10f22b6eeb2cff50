#!/usr/bin/env bash
# One scan measured at two commits, side by side in the same run: BASE
# (default: the commit before issue 16, 6741c90) and HEAD, both built with
# HEAD's release profile, runs alternating, CPU time (user + system) of
# each, best of BENCH_REPS.
#   bash benches/compare.sh                      (verification, 200 MB)
#   BENCH_ARGS="scan --json --no-progress" bash benches/compare.sh
# Inputs: lab captures scaled by examples/scale_capture.rs to BENCH_MB.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-6741c90}"
mb="${BENCH_MB:-200}"
reps="${BENCH_REPS:-9}"
read -r -a scan_args <<< "${BENCH_ARGS:-scan --json --no-progress --password LAB\\smblab:Passw0rd!}"
work="$(mktemp -d /tmp/smbsign-compare.XXXXXX)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cargo build --release --quiet --bin smbsign --example scale_capture
git worktree add --quiet --detach "$work/base" "$base"
bt="${BASE_TARGET:-/tmp/smbsign-compare-target}"
CARGO_TARGET_DIR="$bt" CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  cargo build --release --quiet --bin smbsign --manifest-path "$work/base/Cargo.toml"
old="$bt/release/smbsign"
new=target/release/smbsign
. benches/common.sh
echo "scan: ${scan_args[*]}"
echo "| input | size MB | $base s | HEAD s | HEAD / $base |"
echo "|---|---|---|---|---|"
for src in tests/captures/smb311-gmac.pcap tests/captures/smb21-signed.pcap tests/captures/smb302-signed.pcap; do
  f="$work/$(basename "$src" .pcap)-$mb.pcap"
  target/release/examples/scale_capture "$src" "$f" "$mb" 16 2>/dev/null
  cat "$f" >/dev/null
  b_old=""; b_new=""
  for _ in $(seq "$reps"); do
    b_old=$(best "$b_old" "$(t "$old" "${scan_args[@]}" "$f")")
    b_new=$(best "$b_new" "$(t "$new" "${scan_args[@]}" "$f")")
  done
  size=$(echo "scale=1; $(stat -c %s "$f") / 1000000" | bc -l)
  echo "| $(basename "$src") | $size | $(printf %.3f "$b_old") | $(printf %.3f "$b_new") | $(echo "scale=3; $b_new / $b_old" | bc -l) |"
done
