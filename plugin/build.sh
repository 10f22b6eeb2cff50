#!/usr/bin/env bash
# Build the smbsign Wireshark plugin against the installed libwireshark-dev
# (pkg-config wireshark: 4.0, 4.4 or 4.6) and install it into that
# release's folder:
#   bash plugin/build.sh            -> ~/.local/lib/wireshark/plugins/<major.minor>/epan/
#                                      (as root: the global folder,
#                                      $(pkg-config --variable=plugindir wireshark)/epan,
#                                      since Wireshark run as root ignores the personal one)
#   bash plugin/build.sh DEST_DIR   -> DEST_DIR/smbsign.so
# and the configuration profile plugin/profile/smbsign (columns, coloring
# rules, filter buttons) into ~/.config/wireshark/profiles/smbsign (as
# root: the global $(pkg-config --variable=prefix wireshark)/share/wireshark/profiles),
# or PROFILE_DIR/smbsign with  bash plugin/build.sh DEST_DIR PROFILE_DIR
# Needs: apt-get install libwireshark-dev libglib2.0-dev tshark
# A build loads only in the release it was built for (a 4.0 build needs
# libwireshark.so.16): build once per release.
set -euo pipefail
cd "$(dirname "$0")/.."
ws_version="$(pkg-config --modversion wireshark)"
ws_mm="${ws_version%.*}"
if [ -n "${1:-}" ]; then
  dest="$1"
elif [ "$(id -u)" = 0 ]; then
  dest="$(pkg-config --variable=plugindir wireshark)/epan"
else
  dest="$HOME/.local/lib/wireshark/plugins/$ws_mm/epan"
fi
if [ -n "${2:-}" ]; then
  profiles="$2"
elif [ -n "${1:-}" ]; then
  profiles="" # a plugin folder given alone: no profile
elif [ "$(id -u)" = 0 ]; then
  profiles="$(pkg-config --variable=prefix wireshark)/share/wireshark/profiles"
else
  profiles="${XDG_CONFIG_HOME:-$HOME/.config}/wireshark/profiles"
fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
target="${CARGO_TARGET_DIR:-target}/release"
# One build of the library; rustc also tells which system libraries the
# static library needs.
static_libs="$(cargo rustc --release --quiet --lib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)"
out="$target/plugin/$ws_mm"
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
if [ -n "$profiles" ]; then
  install -d "$profiles/smbsign"
  install -m 0644 plugin/profile/smbsign/* "$profiles/smbsign/"
  echo "installed $profiles/smbsign (Wireshark profile: Edit > Configuration Profiles, or wireshark -C smbsign)"
fi
