#!/usr/bin/env bash
# Install libsmbsign (shared + static), its header, smbsign.pc and the
# smbsign CLI under a prefix:
#   bash tools/install.sh [PREFIX]        (default /usr/local)
# Then:  cc tool.c $(pkg-config --cflags --libs smbsign)
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a non-standard prefix).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
prefix="$(mkdir -p "$prefix" && cd "$prefix" && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
major="${version%%.*}"
cargo build --release --quiet
target="${CARGO_TARGET_DIR:-target}/release"
# Native libraries the static library needs (from rustc, not guessed).
static_libs="$(cargo rustc --release --quiet --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)"
install -d "$prefix/lib/pkgconfig" "$prefix/include" "$prefix/bin"
install -m 0644 "$target/libsmbsign.a" "$prefix/lib/libsmbsign.a"
install -m 0755 "$target/libsmbsign.so" "$prefix/lib/libsmbsign.so.$version"
ln -sf "libsmbsign.so.$version" "$prefix/lib/libsmbsign.so.$major"
ln -sf "libsmbsign.so.$major" "$prefix/lib/libsmbsign.so"
install -m 0644 include/smbsign.h "$prefix/include/smbsign.h"
install -m 0755 "$target/smbsign" "$prefix/bin/smbsign"
cat > "$prefix/lib/pkgconfig/smbsign.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: smbsign
Description: SMB signing analysis for packet captures
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lsmbsign
Libs.private: $static_libs
PC
echo "installed smbsign $version under $prefix"
