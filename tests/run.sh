#!/usr/bin/env bash
# Every smbsign test, on a fresh Debian 12 machine with Rust:
#   bash tests/run.sh
# Installs what the tests need when it is missing (tshark for the
# differential tests; libpcap, pkg-config, valgrind and gcc's ASan/UBSan
# runtimes for the C API tests;
# libclang for the bindgen round-trip; libwireshark-dev for the plugin;
# chromium for the HTML report; samba, smbclient, tcpdump and iproute2 for
# the live watch test in a network namespace; mmdebstrap for the Wireshark
# 4.4 and 4.6 chroots), then runs formatting and lint checks and the whole
# test suite, then the plugin's tests again on Wireshark 4.4 (Debian
# trixie) and 4.6 (sid) in chroots, then builds, installs, uses and
# removes the Debian package (tests/deb.sh), then runs each fuzz target briefly
# (SMBSIGN_FUZZ_SECONDS, default 10). The lab that made tests/captures
# (tests/lab/lab.py) is not rerun: its captures are committed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openjdk-17-jre-headless python3-venv tshark wireshark-qt xvfb xdotool imagemagick tesseract-ocr tesseract-ocr-eng fonts-dejavu-core libwireshark-dev libglib2.0-dev libpcap-dev pkg-config valgrind libasan8 libubsan1 libclang-dev chromium samba smbclient tcpdump iproute2 mmdebstrap dpkg-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== cargo fetch (every platform's crates: the licence test reads them offline)"
cargo fetch
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo build (the C tests link target/debug/libsmbsign.so)"
cargo build --workspace
echo "== cargo test --workspace"
cargo test --workspace --all-targets
# The plugin on the other current Wireshark releases, each in a Debian
# chroot (made once, kept in /var/cache/smbsign/chroots): the same test
# binaries, the plugin built against that release, and its views compared
# with 4.0's written by the run above (the slow mutation test runs on 4.0
# only).
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
for suite in trixie sid; do
  echo "== the plugin on the Wireshark of Debian $suite, in a chroot"
  $sudo env CI="${CI:-}" SMBSIGN_PLUGIN_COMPARE=1 bash tests/wireshark/chroot.sh "$suite" \
    --test plugin -- --skip mutated_captures
done
echo "== the Python package: wheel (maturin), pytest against the CLI, the Spark example in local[2]"
bash tests/python.sh
echo "== the Debian package: build, dpkg -i, use, dpkg -r (tests/deb.sh)"
command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb
# The plugin tests' release build, reused.
$sudo env CARGO_TARGET_DIR="$PWD/target/plugin-build" PATH="$PATH" bash tests/deb.sh
echo "== fuzzing, ${SMBSIGN_FUZZ_SECONDS:-10}s per target"
bash fuzz/run.sh "${SMBSIGN_FUZZ_SECONDS:-10}"
