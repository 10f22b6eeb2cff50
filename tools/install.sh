#!/usr/bin/env bash
# Install libsmbsign (shared + static), its header, smbsign.pc and the
# smbsign CLI under a prefix:
#   bash tools/install.sh [PREFIX]        (default /usr/local)
# Then:  cc tool.c $(pkg-config --cflags --libs smbsign)
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a non-standard prefix).
# For packages: DESTDIR stages the files under another root (smbsign.pc
# still names PREFIX), and LIBDIR (relative to PREFIX, default lib) is
# where the libraries go, e.g. lib/x86_64-linux-gnu (packaging/deb.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
destdir="${DESTDIR:-}"
if [ -z "$destdir" ]; then
  prefix="$(mkdir -p "$prefix" && cd "$prefix" && pwd)"
fi
libdir="${LIBDIR:-lib}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
major="${version%%.*}"
cargo build --release --quiet
target="${CARGO_TARGET_DIR:-target}/release"
# Native libraries the static library needs (from rustc, not guessed).
static_libs="$(cargo rustc --release --quiet --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)"
lib="$destdir$prefix/$libdir"
install -d "$lib/pkgconfig" "$destdir$prefix/include" "$destdir$prefix/bin"
install -m 0644 "$target/libsmbsign.a" "$lib/libsmbsign.a"
install -m 0755 "$target/libsmbsign.so" "$lib/libsmbsign.so.$version"
ln -sf "libsmbsign.so.$version" "$lib/libsmbsign.so.$major"
ln -sf "libsmbsign.so.$major" "$lib/libsmbsign.so"
install -m 0644 include/smbsign.h "$destdir$prefix/include/smbsign.h"
install -m 0755 "$target/smbsign" "$destdir$prefix/bin/smbsign"
cat > "$lib/pkgconfig/smbsign.pc" <<PC
prefix=$prefix
libdir=\${prefix}/$libdir
includedir=\${prefix}/include

Name: smbsign
Description: SMB signing analysis for packet captures
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lsmbsign
Libs.private: $static_libs
PC
echo "installed smbsign $version under $destdir$prefix"
