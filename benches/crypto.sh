#!/usr/bin/env bash
# Decryption and GMAC verification against their raw primitives, side by
# side in one run (issue 17's floors: both at least 70%).
#   sudo bash benches/crypto.sh [BENCH_DIR]       (BENCH_REPS=10)
# Inputs: the bench lab's signed-and-encrypted 200 MB reads (AES-128-GCM
# and AES-128-CCM; made with tests/lab/bench_lab.py as root when BENCH_DIR
# does not hold them yet), and smb311-gmac replayed to 100 MB. Before each
# run the file is read once (`cat`): this machine's page cache is small.
# The ratio is the raw primitive's best time over smbsign's best wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/tmp/smbsign-bench-crypto}"
reps="${BENCH_REPS:-10}"
mkdir -p "$dir"
cargo build --release --quiet --bin smbsign --example aead_speed --example mac_speed --example scale_capture
bin=target/release/smbsign
pw='LAB\smblab:Passw0rd!'
if [ ! -s "$dir/bench-smb311-encrypted.pcap" ] || [ ! -s "$dir/bench-smb311-encrypted-ccm.pcap" ]; then
  python3 tests/lab/bench_lab.py "$dir" 100 bench-smb311-encrypted,bench-smb311-encrypted-ccm
fi
[ -s "$dir/gmac-100.pcap" ] || target/release/examples/scale_capture tests/captures/smb311-gmac.pcap "$dir/gmac-100.pcap" 100 16 >/dev/null

min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
scan_time() {
  cat "$1" >/dev/null
  local s e; s=$(date +%s.%N)
  "$bin" scan --json --no-progress --password "$pw" "$1" >/dev/null
  e=$(date +%s.%N); echo "$e - $s" | bc -l
}

echo "| input | primitive | smbsign best s | raw best s | smbsign / raw |"
echo "|---|---|---|---|---|"
for pair in bench-smb311-encrypted:aes-128-gcm bench-smb311-encrypted-ccm:aes-128-ccm gmac-100:gmac; do
  f="$dir/${pair%%:*}.pcap"; alg=${pair##*:}
  best_s=99; best_r=99
  for _ in $(seq "$reps"); do
    best_s=$(min "$(scan_time "$f")" "$best_s")
    if [ "$alg" = gmac ]; then
      r=$(target/release/examples/mac_speed "$f" gmac | cut -d' ' -f1)
    else
      r=$(target/release/examples/aead_speed "$f" "$alg" | cut -d' ' -f1)
    fi
    best_r=$(min "$r" "$best_r")
  done
  echo "| ${pair%%:*} | $alg | $best_s | $best_r | $(echo "scale=0; 100 * $best_r / $best_s" | bc -l)% |"
done
