#!/usr/bin/env bash
# smbsign benchmarks, side by side with tshark and cat on the same files.
#   bash benches/run.sh            (BENCH_MB=100 per input; BENCH_REPS=3)
# Inputs are made, not committed: lab captures replayed many times with
# rewritten client ports (examples/scale_capture.rs). Prints a Markdown
# table; every ratio is against a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${BENCH_MB:-100}"
reps="${BENCH_REPS:-3}"
work="$(mktemp -d /tmp/smbsign-bench.XXXXXX)"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --bin smbsign --example scale_capture --example mac_speed --example ffi_speed
bin=target/release/smbsign

# best-of-N wall time in seconds
best() {
  local best=""
  for _ in $(seq "$reps"); do
    local s e t
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  echo "$best"
}
once() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
rate() { echo "scale=1; $1 / $2" | bc -l; }

as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- env HOME="$1" "${@:2}"; else HOME="$1" "${@:2}"; fi
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "tshark: $(tshark --version 2>/dev/null | head -n1)"
echo
echo "| input | size MB | frames | cat MB/s | smbsign MB/s | smbsign % of cat | tshark MB/s | smbsign / tshark | smbsign peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for name in smb311-gmac smb302-signed smb21-signed smb1-mode15 smb311-encrypted; do
  f="$work/$name-$mb.pcap"
  target/release/examples/scale_capture "tests/captures/$name.pcap" "$f" "$mb" 16 2>/dev/null
  size=$(stat -c %s "$f"); smb=$(echo "scale=1; $size / 1000000" | bc -l)
  cat "$f" >/dev/null
  t_cat=$(best cat "$f")
  t_ours=$(best "$bin" scan --json --no-progress "$f")
  rss=$( { /usr/bin/time -f "%M" "$bin" scan --json --no-progress "$f" >/dev/null; } 2>&1 | tail -n1)
  frames=$("$bin" scan "$f" | head -n1 | sed -n 's/.*: \([0-9]*\) frames.*/\1/p')
  t_tshark=$(once tshark -r "$f" -Y smb2 -T fields -e smb2.sec_mode -e smb2.flags.signature)
  echo "| $name | $smb | $frames | $(rate "$smb" "$t_cat") | $(rate "$smb" "$t_ours") | $(echo "scale=0; 100 * $t_cat / $t_ours" | bc -l)% | $(rate "$smb" "$t_tshark") | $(echo "scale=1; $t_tshark / $t_ours" | bc -l)x | $(echo "scale=1; $rss / 1024" | bc -l) |"
done

# Verification: smbsign with the lab password against the raw MAC
# primitive (examples/mac_speed.rs), keyed once, no capture parsing: over
# the capture's own signed messages, and over the file's length in 64 KiB
# messages (the primitive's best case).
echo
echo "| verification input | algorithm | smbsign --password MB/s | raw MAC, same messages, MB/s | smbsign / raw (same messages) | raw MAC, 64 KiB messages, MB/s | smbsign / raw (64 KiB) |"
echo "|---|---|---|---|---|---|---|"
for pair in smb21-signed:hmac smb302-signed:cmac smb311-gmac:gmac; do
  name=${pair%%:*}; alg=${pair##*:}
  f="$work/$name-$mb.pcap"
  size=$(stat -c %s "$f"); smb=$(echo "scale=1; $size / 1000000" | bc -l)
  t_verify=$(best "$bin" scan --json --no-progress --password 'LAB\smblab:Passw0rd!' "$f")
  forged=$("$bin" scan --json --no-progress --password 'LAB\smblab:Passw0rd!' "$f" | grep -c '"forged_messages":0' || true)
  t_msg=1000; t_bulk=1000
  for _ in $(seq "$reps"); do
    read -r a b _ < <(target/release/examples/mac_speed "$f" "$alg")
    if (( $(echo "$a < $t_msg" | bc -l) )); then t_msg=$a; fi
    if (( $(echo "$b < $t_bulk" | bc -l) )); then t_bulk=$b; fi
  done
  echo "| $name ($forged connections, none forged) | $alg | $(rate "$smb" "$t_verify") | $(rate "$smb" "$t_msg") | $(echo "scale=0; 100 * $t_msg / $t_verify" | bc -l)% | $(rate "$smb" "$t_bulk") | $(echo "scale=0; 100 * $t_bulk / $t_verify" | bc -l)% |"
done

# C API cost per PDU against the Rust API.
echo
echo "C API: $(target/release/examples/ffi_speed tests/captures/smb311-gmac.pcap 500)"

# Peak RSS at larger sizes (BENCH_BIG_GB="1 4" to run; needs that much disk).
for gb in ${BENCH_BIG_GB:-}; do
  big="$work/big-$gb.pcap"
  target/release/examples/scale_capture tests/captures/smb311-gmac.pcap "$big" $((gb * 1000)) 64 2>/dev/null
  r=$( { /usr/bin/time -f "%M %e" "$bin" scan --json --no-progress "$big" >/dev/null; } 2>&1 | tail -n1)
  echo "peak RSS at $gb GB: $(echo "scale=1; ${r%% *} / 1024" | bc -l) MiB in ${r##* } s"
  rm -f "$big"
done

# Several files on several cores.
files=("$work"/*.pcap)
t_serial=$(best bash -c "for f in ${files[*]}; do $bin scan --json --no-progress \$f; done")
t_par=$(best bash -c "printf '%s\n' ${files[*]} | xargs -P $(nproc) -n1 $bin scan --json --no-progress")
echo
echo "All ${#files[@]} files: one after another $(printf %.3f "$t_serial") s, $(nproc) at a time $(printf %.3f "$t_par") s (speed-up $(echo "scale=2; $t_serial / $t_par" | bc -l)x)."

# Plugin overhead: tshark with the plugin against tshark without, same file.
if pkg-config --exists wireshark 2>/dev/null; then
  ws_mm="$(pkg-config --modversion wireshark)"; ws_mm="${ws_mm%.*}"
  home="$work/home"; bare="$work/bare"; mkdir -p "$bare"
  bash plugin/build.sh "$home/.local/lib/wireshark/plugins/$ws_mm/epan" >/dev/null
  chmod -R a+rX "$work"
  pf="$work/plugin-input.pcap"
  target/release/examples/scale_capture tests/captures/smb311-gmac.pcap "$pf" "${BENCH_PLUGIN_MB:-30}" 16 2>/dev/null
  chmod a+r "$pf"
  reps=$(( reps < 7 ? 7 : reps ))
  # Runs with and without alternate, so a slow spell of the machine hits
  # both; best of each.
  t_without=""; t_with=""
  for _ in $(seq "$reps"); do
    a=$(once as_user "$bare" tshark -r "$pf" -T fields -e smb2.sec_mode -e smb2.flags.signature)
    b=$(once as_user "$home" tshark -r "$pf" -T fields -e smb2.sec_mode -e smb2.flags.signature)
    if [ -z "$t_without" ] || (( $(echo "$a < $t_without" | bc -l) )); then t_without=$a; fi
    if [ -z "$t_with" ] || (( $(echo "$b < $t_with" | bc -l) )); then t_with=$b; fi
  done
  echo
  echo "Plugin overhead on $(echo "scale=1; $(stat -c %s "$pf") / 1000000" | bc -l) MB (smb311-gmac replayed): tshark without the plugin $(printf %.2f "$t_without") s, with it $(printf %.2f "$t_with") s: $(echo "scale=3; $t_with / $t_without" | bc -l)x."
fi
