#!/usr/bin/env bash
# The Debian package, installed and removed for real (needs root; CI runs
# as root, and tests/run.sh calls this there):
#   sudo bash tests/deb.sh
# 1. builds it (packaging/deb.sh); 2. dpkg -i; 3. the installed smbsign
# scans a lab capture and reports what the lab configured (manifest);
# 4. tshark lists the installed plugin as a dissector, from the global
# folder of this Wireshark release, and it annotates the capture; 5. the C
# example builds with `pkg-config --cflags --libs smbsign` against the
# installed files, links the installed libsmbsign.so.0 and reports the
# capture's connection; 6. dpkg -r leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests/deb.sh: needs root (dpkg -i)" >&2; exit 2; }
fail() { echo "tests/deb.sh: FAILED: $*" >&2; exit 1; }
if dpkg-query -W -f='${Status}' smbsign 2>/dev/null | grep -q "install ok installed"; then
  fail "a smbsign package is installed already: remove it first"
fi
bash packaging/deb.sh
deb="$(ls -t target/debian/smbsign_*.deb | head -n 1)"
echo "== $deb"
tmp="$(mktemp -d)"
snapshot() { find /usr /etc /var/lib/dpkg/info -xdev \( -name '*smbsign*' -o -path '*/wireshark/plugins/*' \) 2>/dev/null | sort; }
snapshot > "$tmp/before"
removed=0
cleanup() { [ "$removed" = 1 ] || dpkg -r smbsign >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
dpkg -i "$deb" >/dev/null

capture=tests/captures/port4455.pcapng
want="$(python3 -c 'import json; e=json.load(open("tests/captures/manifest.json"))["cases"]["port4455"]["expect"]; print(e["dialect"], e["server_signing"])')"
got="$(/usr/bin/smbsign scan --json "$capture" | python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin][0]; print(r["dialect"], r["server_signing"])')"
[ "$got" = "$want" ] || fail "installed smbsign: '$got', the lab configured '$want'"
echo "installed smbsign: $got (as the lab configured)"
zcat /usr/share/man/man1/smbsign-scan.1.gz | grep -q '^\.TH' || fail "man page smbsign-scan(1)"
grep -q smbsign /usr/share/bash-completion/completions/smbsign || fail "bash completion"

ws_mm="$(pkg-config --modversion wireshark | cut -d. -f1,2)"
line="$(tshark -G plugins 2>/dev/null | grep '^smbsign.so' || true)"
echo "tshark -G plugins: $line"
printf '%s\n' "$line" | grep -Pq "\tdissector\t/usr/lib/[^\t]*/wireshark/plugins/$ws_mm/epan/smbsign\.so$" ||
  fail "the plugin is not listed from the global $ws_mm folder"
annotated="$(tshark -n -r "$capture" -Y smbsign 2>/dev/null | wc -l)"
[ "$annotated" -gt 10 ] || fail "the installed plugin annotated $annotated frames"
[ -f /usr/share/wireshark/profiles/smbsign/dfilter_buttons ] || fail "the profile is not in the global profiles folder"
# The global profile's columns: the negotiate response shows the server's "required".
row="$(tshark -C smbsign -n -r "$capture" -Y 'smb2.cmd == 0 && smb2.flags.response == 1' 2>/dev/null | head -n 1)"
printf '%s\n' "$row" | grep -q ' required ' || fail "tshark -C smbsign (the installed profile): '$row'"
echo "installed profile: $row"

cc -O2 -o "$tmp/smbsign-report" examples/c/smbsign-report.c $(pkg-config --cflags --libs smbsign)
"$tmp/smbsign-report" "$capture" > "$tmp/report.txt"
grep -q "^connection " "$tmp/report.txt" || fail "the C example printed no connection"
ldd "$tmp/smbsign-report" | grep -Eq "libsmbsign\.so\.0 => /(usr/)?lib/[^ ]*/libsmbsign\.so\.0" || fail "the C example does not use the installed libsmbsign.so.0"
echo "C example (pkg-config smbsign): $(grep -c '^connection ' "$tmp/report.txt") connection(s)"

dpkg -r smbsign >/dev/null
removed=1
snapshot > "$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after"; then
  fail "dpkg -r left files behind (above)"
fi
[ ! -e /usr/bin/smbsign ] || fail "/usr/bin/smbsign is still there"
echo "dpkg -r: nothing left behind"
