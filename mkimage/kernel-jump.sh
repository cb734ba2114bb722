#!/bin/bash
# Build the KEXEC_JUMP test kernel from Debian's linux-source-6.12:
# `make tinyconfig`, then mkimage/kernel-jump.config merged over it, then
# `make olddefconfig`; every line of the fragment is checked to hold in the
# final .config (a symbol Kconfig silently drops fails the build).
#
#   build/kernel-jump/<key>/bzImage     the kernel (A, B and C alike)
#   build/kernel-jump/<key>/config      its final .config
#   build/kernel-jump/<key>/System.map  its symbols (to name addresses)
#
# <key> is a hash of the fragment, the linux-source package version, the
# compiler version and RECIPE below, so a CI run builds it once (about
# 200 s on 2 cores) and every later call, in any scenario, reuses it.
# Prints the bzImage path on stdout; all else goes to stderr.
#
# Needs: linux-source-6.12 flex bison bc libelf-dev libssl-dev (make deps-jump).
# Env: JOBS (default: nproc), KERNEL_JUMP_DIR (default build/kernel-jump).
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Bump when the way the kernel is built changes (not the fragment: that is
# hashed itself).
RECIPE=1
PKG=linux-source-6.12
TARBALL=/usr/src/linux-source-6.12.tar.xz
FRAGMENT="$MKIMAGE_DIR/kernel-jump.config"
TOP="${KERNEL_JUMP_DIR:-$REPO_ROOT/build/kernel-jump}"
JOBS="${JOBS:-$(nproc)}"

for c in make gcc flex bison bc xz; do need_cmd "$c" "flex bison bc gcc make xz-utils"; done
[ -r "$TARBALL" ] || die "$TARBALL missing: apt-get install $PKG"
[ -e /usr/include/libelf.h ] || die "libelf.h missing: apt-get install libelf-dev"
[ -e /usr/include/openssl/ssl.h ] || die "openssl headers missing: apt-get install libssl-dev"

srcver="$(dpkg-query -W -f='${Version}' "$PKG")"
key="$( { echo "recipe $RECIPE"; echo "$PKG $srcver"; gcc --version | head -n1; cat "$FRAGMENT"; } |
	sha256sum | cut -c1-16)"
out="$TOP/$key"
mkdir -p "$TOP"

# One build at a time; a second caller waits and then finds it done.
exec 9>"$TOP/.lock"
flock 9

if [ -e "$out/done" ]; then
	log "kernel-jump $key ($PKG $srcver): cached"
	echo "$out/bzImage"
	exit 0
fi

start=$SECONDS
src="$TOP/src-$srcver"
if [ ! -e "$src/.unpacked" ]; then
	log "kernel-jump: unpacking $TARBALL into $src"
	rm -rf "$src"
	mkdir -p "$src"
	nice tar -xJf "$TARBALL" -C "$src" --strip-components=1
	touch "$src/.unpacked"
fi

obj="$out/obj"
rm -rf "$out"
mkdir -p "$obj"
kmake() { nice make -C "$src" O="$obj" ARCH=x86_64 "$@"; }

log "kernel-jump $key: configuring (tinyconfig + $(basename "$FRAGMENT"))"
kmake -s tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT" >&2
kmake -s olddefconfig >&2

# Every fragment line must hold: "CONFIG_X=v" as is, "# CONFIG_X is not
# set" as unset (absent or commented).
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$obj/.config" || { log "not in .config: $line"; bad=1; } ;;
	"# CONFIG_"*" is not set")
		sym="${line#\# }"; sym="${sym%% *}"
		if grep -q "^$sym=" "$obj/.config"; then log "set in .config, wanted unset: $sym"; bad=1; fi ;;
	esac
done <"$FRAGMENT"
[ "$bad" = 0 ] || die "kernel-jump: the fragment does not hold (dependencies missing?)"

log "kernel-jump $key: building bzImage with -j$JOBS"
kmake -j"$JOBS" bzImage >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; die "kernel build failed (log: $out/build.log)"; }

cp "$obj/arch/x86/boot/bzImage" "$out/bzImage"
cp "$obj/.config" "$out/config"
cp "$obj/System.map" "$out/System.map"
rm -rf "$obj"
echo "$PKG $srcver" >"$out/source"
touch "$out/done"
log "kernel-jump $key: built in $((SECONDS - start)) s: $out/bzImage ($(stat -c %s "$out/bzImage") bytes)"
echo "$out/bzImage"
