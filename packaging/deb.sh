#!/usr/bin/env bash
# Build smbsign_<version>_<arch>.deb with cargo-deb:
#   bash packaging/deb.sh            -> target/debian/smbsign_<version>_<arch>.deb
# Holds /usr/bin/smbsign, libsmbsign.so.0 (+ the .so link) and
# libsmbsign.a, /usr/include/smbsign.h, smbsign.pc, the man pages and
# bash/zsh/fish completions (made from the CLI definition: `smbsign
# generate-docs`), and the Wireshark plugin built against this machine's
# libwireshark-dev, in that release's global plugin folder. Its
# dependencies, libwireshark's ABI package among them, are read from the
# ELF files (cargo-deb's $auto, dpkg-shlibdeps).
# Needs: cargo install cargo-deb; apt-get install libwireshark-dev dpkg-dev
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
multiarch="$(gcc -print-multiarch)"
ws_plugins="$(pkg-config --variable=plugindir wireshark)" # /usr/lib/<multiarch>/wireshark/plugins/X.Y
# CARGO_TARGET_DIR is honoured (tests/run.sh reuses the plugin tests'
# release build).
out="${CARGO_TARGET_DIR:-target}/release"
root=target/debian-root
rm -rf "$root"
# The CLI, the libraries, the header and smbsign.pc: as tools/install.sh
# installs them, staged under $root.
DESTDIR="$root" LIBDIR="lib/$multiarch" bash tools/install.sh /usr >/dev/null
install -d "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" \
  "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d" \
  "$root$ws_plugins/epan"
docs=target/debian-docs
rm -rf "$docs"
"$out/smbsign" generate-docs "$docs"
for page in "$docs"/*.1; do gzip -9n -c "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"; done
install -m 0644 "$docs/smbsign.bash" "$root/usr/share/bash-completion/completions/smbsign"
install -m 0644 "$docs/_smbsign" "$root/usr/share/zsh/vendor-completions/_smbsign"
install -m 0644 "$docs/smbsign.fish" "$root/usr/share/fish/vendor_completions.d/smbsign.fish"
bash plugin/build.sh "$root$ws_plugins/epan" "$root/usr/share/wireshark/profiles" >/dev/null
cargo deb --no-build --no-strip --output target/debian/
