#!/usr/bin/env bash
# Build the smbsign Wireshark plugin against the installed libwireshark-dev
# (pkg-config wireshark) and install it:
#   bash plugin/build.sh            -> ~/.local/lib/wireshark/plugins/<major.minor>/epan/
#   bash plugin/build.sh DEST_DIR   -> DEST_DIR/smbsign.so
# Needs: apt-get install libwireshark-dev libglib2.0-dev tshark
# Note: Wireshark ignores the personal plugin folder when run as root; run
# tshark/Wireshark as your normal user (or install into the global folder,
# $(pkg-config --variable=plugindir wireshark)/epan).
set -euo pipefail
cd "$(dirname "$0")/.."
ws_version="$(pkg-config --modversion wireshark)"
ws_mm="${ws_version%.*}"
dest="${1:-$HOME/.local/lib/wireshark/plugins/$ws_mm/epan}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
target="${CARGO_TARGET_DIR:-target}/release"
# One build of the library; rustc also tells which system libraries the
# static library needs.
static_libs="$(cargo rustc --release --quiet --lib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)"
out="$target/plugin"
mkdir -p "$out"
# The static library is linked in whole-archive-free and its symbols kept
# local: the plugin exports only plugin_version/plugin_want_*/plugin_register.
cc -shared -fPIC -fvisibility=hidden -O2 -g -Wall -Wextra -Werror \
  -DVERSION="\"$version\"" \
  $(pkg-config --cflags wireshark) -Iinclude \
  plugin/packet-smbsign.c -o "$out/smbsign.so" \
  "$target/libsmbsign.a" -Wl,--exclude-libs,ALL -Wl,--as-needed \
  $(pkg-config --libs wireshark) $static_libs
install -d "$dest"
install -m 0755 "$out/smbsign.so" "$dest/smbsign.so"
echo "installed $dest/smbsign.so (Wireshark $ws_version plugin, smbsign $version)"
