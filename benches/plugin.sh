#!/usr/bin/env bash
# The plugin's cost on this machine's Wireshark release: tshark with the
# plugin against tshark without it, on the same capture, runs alternating
# so a slow spell of the machine hits both; best of each.
#   bash benches/plugin.sh INPUT.pcap [REPS [SMALL.pcap]]
# With SMALL.pcap and valgrind installed, also the instructions each run
# executes on SMALL.pcap (callgrind: the same count whatever else the
# machine does), the plugin's cost without the noise of two shared cores.
# Runs on the host and, through benches/plugin-releases.sh, in the
# Debian chroots of tests/wireshark/chroot.sh (only bash, coreutils and
# awk needed there).
set -euo pipefail
cd "$(dirname "$0")/.."
input="${1:?input capture}"
reps="${2:-7}"
release="$(pkg-config --modversion wireshark)"
work="$(mktemp -d /tmp/smbsign-plugin-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
home="$work/home"
bare="$work/bare"
mkdir -p "$bare"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/plugin-build}" \
  bash plugin/build.sh "$home/.local/lib/wireshark/plugins/${release%.*}/epan" >/dev/null
chmod -R a+rX "$work"
as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- env HOME="$1" "${@:2}"; else HOME="$1" "${@:2}"; fi
}
# Nanoseconds of one run of tshark over the input, its output discarded.
run_ns() {
  local s e
  s=$(date +%s%N)
  as_user "$1" tshark -n -r "$input" -T fields -e smb2.sec_mode -e smb2.flags.signature >/dev/null 2>&1
  e=$(date +%s%N)
  echo $((e - s))
}
as_user "$home" tshark -G plugins 2>/dev/null | grep -q '^smbsign.so' ||
  { echo "plugin.sh: the plugin did not load in Wireshark $release" >&2; exit 1; }
without="" with=""
for _ in $(seq "$reps"); do
  a=$(run_ns "$bare")
  b=$(run_ns "$home")
  if [ -z "$without" ] || [ "$a" -lt "$without" ]; then without=$a; fi
  if [ -z "$with" ] || [ "$b" -lt "$with" ]; then with=$b; fi
done
small="${3:-}"
ia="" ib=""
if [ -n "$small" ] && command -v valgrind >/dev/null; then
  count() { # count HOME -> instructions tshark executes on SMALL
    as_user "$1" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      tshark -n -r "$small" -T fields -e smb2.sec_mode -e smb2.flags.signature 2>&1 >/dev/null |
      sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
  }
  ia=$(count "$bare")
  ib=$(count "$home")
fi
awk -v r="$release" -v a="$without" -v b="$with" -v mb="$(stat -c %s "$input")" -v ia="$ia" -v ib="$ib" 'BEGIN {
  instr = (ia != "" && ib != "") ? sprintf("%.3fx", ib / ia) : "n/a"
  printf "| %s | %.1f | %.3f | %.3f | %.3fx | %s |\n", r, mb / 1e6, a / 1e9, b / 1e9, b / a, instr }'
