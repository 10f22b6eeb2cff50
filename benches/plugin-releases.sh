#!/usr/bin/env bash
# The plugin's cost on every Wireshark release CI tests (4.0 on the host,
# 4.4 and 4.6 in the chroots of tests/wireshark/chroot.sh), side by side
# with tshark without the plugin on the same input, in one run:
#   sudo bash benches/plugin-releases.sh     (BENCH_PLUGIN_MB=30, BENCH_REPS=7)
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${BENCH_REPS:-7}"
dir="$PWD/target/bench-plugin"
mkdir -p "$dir"
input="$dir/smb311-gmac-replayed.pcap"
cargo build --release --quiet --example scale_capture
target/release/examples/scale_capture tests/captures/smb311-gmac.pcap "$input" \
  "${BENCH_PLUGIN_MB:-30}" 16 2>/dev/null
small="$dir/smb311-gmac-5mb.pcap"
target/release/examples/scale_capture tests/captures/smb311-gmac.pcap "$small" 5 16 2>/dev/null
chmod a+r "$input" "$small"
# The plugin's static library, built on the host for every release.
CARGO_TARGET_DIR="$PWD/target/plugin-build" cargo build --release --quiet --lib
echo "| Wireshark | input MB | tshark s | tshark + smbsign s | ratio (wall, best of $reps) | ratio (instructions, 5 MB, callgrind) |"
echo "|---|---|---|---|---|---|"
CARGO_TARGET_DIR="$PWD/target/plugin-build" bash benches/plugin.sh "$input" "$reps" "$small"
for suite in trixie sid; do
  SMBSIGN_CHROOT_RUN="CARGO_TARGET_DIR=$PWD/target/plugin-build bash benches/plugin.sh $input $reps $small" \
    bash tests/wireshark/chroot.sh "$suite" 2>&1 | grep '^|'
done
