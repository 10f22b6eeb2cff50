#!/usr/bin/env bash
# Run the plugin's tests against another Wireshark release, in a Debian
# chroot of the suite that ships it:
#   sudo bash tests/wireshark/chroot.sh trixie [CARGO TEST ARGS...]   (4.4)
#   sudo bash tests/wireshark/chroot.sh sid    [CARGO TEST ARGS...]   (4.6)
# or, with SMBSIGN_CHROOT_RUN='COMMAND', that command in the repository
# instead of cargo test (benches/plugin-releases.sh).
# The chroot is made once with mmdebstrap, from the mirror apt already
# uses, and kept in $SMBSIGN_CHROOTS (default /var/cache/smbsign/chroots),
# outside the clone. The host's toolchain (~/.cargo, ~/.rustup) and this
# repository are bind-mounted at the same paths, so the test binaries and
# the static library built on the host are reused, and crates come from
# the host's cache (`cargo fetch` first; --offline inside). Every mount is
# undone on exit, before anything could delete the chroot.
set -euo pipefail
suite="${1:?suite: trixie or sid}"
shift
repo="$(cd "$(dirname "$0")/../.." && pwd)"
base="${SMBSIGN_CHROOTS:-/var/cache/smbsign/chroots}"
root="$base/$suite"
# libpcap-dev: should cargo relink the CLI inside, it links libpcap.
# valgrind: benches/plugin.sh counts instructions there.
packages=libwireshark-dev,tshark,gcc,pkg-config,libglib2.0-dev,libpcap-dev,valgrind
[ "$(id -u)" = 0 ] || { echo "chroot.sh: needs root (chroot and mount)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

mounted=()
undo() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m="${mounted[$i]}"
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  mounted=()
}
trap undo EXIT
bind() { # bind SRC DEST_IN_CHROOT
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  mounted+=("$root$2")
}
# Removing a chroot: only with nothing mounted below it.
remove_chroot() {
  if findmnt -rn -o TARGET | grep -q "^$1\(/\|$\)"; then
    echo "chroot.sh: refusing to delete $1: something is still mounted there" >&2
    exit 2
  fi
  rm -rf --one-file-system "$1"
}

mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)"
mirror="${mirror:-http://deb.debian.org/debian}"
# The stamp names the packages the chroot was made with: a new list
# makes it again.
if [ "$(cat "$root/.smbsign-ready" 2>/dev/null)" != "$packages" ]; then
  mkdir -p "$base"
  [ -e "$root" ] && remove_chroot "$root"
  [ -e "$root.tmp" ] && remove_chroot "$root.tmp"
  opts=()
  # sid's Release file on a mirror can be weeks old.
  [ "$suite" = sid ] && opts+=(--aptopt='Acquire::Check-Valid-Until "false"')
  echo "== making the $suite chroot in $root (mmdebstrap, $mirror)"
  mmdebstrap --quiet --variant=apt "${opts[@]}" --include="$packages" "$suite" "$root.tmp" "$mirror"
  echo "$packages" > "$root.tmp/.smbsign-ready"
  mv "$root.tmp" "$root"
fi
echo "== Wireshark $(chroot "$root" pkg-config --modversion wireshark) in the $suite chroot"

mkdir -p "$root/proc" && mount -t proc proc "$root/proc" && mounted+=("$root/proc")
bind /dev /dev
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
# At the same paths: cargo's dep-info names the host's crate sources.
bind "$cargo_home" "$cargo_home"
bind "$rustup_home" "$rustup_home"
bind "$repo" "$repo"
# The public corpus the tests also replay, where the host has it.
corpus="${SMBSIGN_CORPUS:-$repo/../shared/corpus}"
if [ -d "$corpus" ]; then
  corpus="$(cd "$corpus" && pwd)"
  bind "$corpus" "$corpus"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# Same test binaries as the host's run: cargo finds them fresh.
set +e
chroot "$root" /usr/bin/env -i \
  PATH="$cargo_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  HOME="$HOME" CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" \
  CI="${CI:-}" SMBSIGN_PLUGIN_VIEWS="${SMBSIGN_PLUGIN_VIEWS:-}" \
  SMBSIGN_PLUGIN_COMPARE="${SMBSIGN_PLUGIN_COMPARE:-}" SMBSIGN_CORPUS="$corpus" TERM=dumb \
  SMBSIGN_CHROOT_RUN="${SMBSIGN_CHROOT_RUN:-}" \
  bash -c 'cd "$0" && if [ -n "$SMBSIGN_CHROOT_RUN" ]; then eval "$SMBSIGN_CHROOT_RUN"; else cargo test --offline "$@"; fi' "$repo" "$@"
status=$?
# The tests' scratch folders (copies of captures, plugin homes).
rm -rf --one-file-system "$root"/tmp/smbsign-plugin-*
exit "$status"
