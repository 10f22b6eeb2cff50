#!/usr/bin/env bash
# The auditor's view, side by side (issue 18's floors):
#   bash benches/auditor.sh [BENCH_DIR]     (BENCH_MB=300 total, BENCH_REPS=5)
# Input: a directory of many captures: every lab and corpus capture, and
# lab captures replayed (examples/scale_capture.rs) until the directory
# holds about BENCH_MB. Measured, runs alternating, best of BENCH_REPS:
#   1. `scan --json -j 1 DIR` against `-j 2` (the floor: -j 2 at least 1.7x
#      faster on 2 cores);
#      and against two `-j 1` processes over half the files each, at once
#      (what these two cores give with nothing shared);
#   2. `scan --json -j 1 DIR` against the same with `--relay-list`, which
#      adds the hosts aggregation and nothing else (the floor: at most 5%).
# Files are read once first (page cache warm).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/tmp/smbsign-bench-auditor}"
mb="${BENCH_MB:-300}"
reps="${BENCH_REPS:-5}"
cargo build --release --quiet --bin smbsign --example scale_capture
bin=target/release/smbsign
if [ ! -f "$dir/.complete-$mb" ]; then
  rm -rf "$dir"; mkdir -p "$dir/lab" "$dir/scaled"
  cp -r tests/captures/. "$dir/lab/"
  [ -d ../shared/corpus ] && cp -r ../shared/corpus "$dir/corpus"
  have=$(du -sm "$dir" | cut -f1)
  i=0
  caps=(smb311-gmac smb302-signed smb21-signed smb1-mode15 smb311-encrypted smb30-signed smb311-hmac two-connections)
  while [ "$have" -lt "$mb" ]; do
    c=${caps[$((i % ${#caps[@]}))]}
    target/release/examples/scale_capture "tests/captures/$c.pcap" "$dir/scaled/$i-$c.pcap" 20 16 >/dev/null
    i=$((i + 1)); have=$(du -sm "$dir" | cut -f1)
  done
  touch "$dir/.complete-$mb"
fi
files=$(find "$dir" -type f | wc -l)
size=$(du -sm "$dir" | cut -f1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "input: $dir, $files files, $size MB"
warm() { find "$dir" -type f -exec cat {} + >/dev/null; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
warm
# What the machine itself gives two workers: two separate `-j 1`
# processes at once, each over every other file (no shared heap, no
# merge: a bound no single process can beat).
mapfile -t all < <(find "$dir" -type f | sort)
half1=(); half2=()
for k in "${!all[@]}"; do
  if ((k % 2)); then half2+=("${all[$k]}"); else half1+=("${all[$k]}"); fi
done
pair() {
  "$bin" scan --json -q -j 1 "${half1[@]}" >/dev/null 2>&1 &
  "$bin" scan --json -q -j 1 "${half2[@]}" >/dev/null 2>&1 || true
  wait || true
}
j1=99; j2=99; base=99; agg=99; two=99
for _ in $(seq "$reps"); do
  j1=$(min "$(t "$bin" scan --json -q -j 1 "$dir")" "$j1")
  j2=$(min "$(t "$bin" scan --json -q -j 2 "$dir")" "$j2")
  two=$(min "$(t pair)" "$two")
  base=$(min "$(t "$bin" scan --json -q -j 1 "$dir")" "$base")
  agg=$(min "$(t "$bin" scan --json -q -j 1 --relay-list /dev/null "$dir")" "$agg")
done
base=$(min "$base" "$j1")
echo
echo "| run | best wall s | ratio |"
echo "|---|---|---|"
printf '| scan -j 1 | %.3f | 1.00 |\n' "$j1"
printf '| scan -j 2 | %.3f | %.2fx faster |\n' "$j2" "$(echo "$j1 / $j2" | bc -l)"
printf '| two -j 1 processes, half the files each | %.3f | %.2fx faster |\n' "$two" "$(echo "$j1 / $two" | bc -l)"
printf '| scan -j 1 --relay-list (hosts aggregation) | %.3f | %+.1f%% |\n' "$agg" "$(echo "100 * ($agg - $base) / $base" | bc -l)"
