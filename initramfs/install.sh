#!/bin/bash
# Install (or remove) the fast-resume agent's initramfs-tools integration.
#
#   initramfs/install.sh [--root DIR] [--binary FILE] [--no-update]
#   initramfs/install.sh --uninstall [--root DIR] [--no-update]
#
# Installs, each with mode 0755:
#   DIR/usr/local/sbin/resume-agent                           (the binary)
#   DIR/etc/initramfs-tools/hooks/resume-agent                (the hook)
#   DIR/etc/initramfs-tools/scripts/init-premount/resume-agent (boot script)
#   DIR/etc/initramfs-tools/scripts/local-premount/fastresume  (the same
#   DIR/etc/initramfs-tools/scripts/init-bottom/fastresume     script)
# then, when DIR is / and --no-update is not given, regenerates the
# initramfs of every installed kernel (update-initramfs -u -k all), since
# the agent only runs from an initramfs that contains it.
#
# Running it twice is harmless: files are replaced in place. --uninstall
# removes the same five files (and regenerates the initramfs so that the
# agent is gone from it too). --root DIR works on another tree (an image
# being built, or a test directory) and never runs update-initramfs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

root=/
binary="$repo/build/static/resume-agent"
action=install
update=yes

usage()
{
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

die()
{
	echo "install.sh: error: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--root)
		[ $# -ge 2 ] || die "--root needs a directory"
		root="$2"
		shift 2
		;;
	--root=*)
		root="${1#--root=}"
		shift
		;;
	--binary)
		[ $# -ge 2 ] || die "--binary needs a file"
		binary="$2"
		shift 2
		;;
	--binary=*)
		binary="${1#--binary=}"
		shift
		;;
	--uninstall)
		action=uninstall
		shift
		;;
	--no-update)
		update=no
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac
done

[ -d "$root" ] || die "--root $root is not a directory"
root="$(cd "$root" && pwd)"
# Paths below are written as "$prefix/etc/...": with root=/ that is "/etc".
prefix="${root%/}"

bin_dst="$prefix/usr/local/sbin/resume-agent"
hook_dst="$prefix/etc/initramfs-tools/hooks/resume-agent"
script_dst="$prefix/etc/initramfs-tools/scripts/init-premount/resume-agent"
# The boot script's later stages: the same file (it looks at where it runs).
stage_dsts=("$prefix/etc/initramfs-tools/scripts/local-premount/fastresume"
	"$prefix/etc/initramfs-tools/scripts/init-bottom/fastresume")

if [ "$root" = / ] && [ "$(id -u)" -ne 0 ]; then
	die "installing into / needs root (or use --root DIR)"
fi

update_initramfs()
{
	if [ "$update" = no ] || [ "$root" != / ]; then
		return 0
	fi
	if ! command -v update-initramfs >/dev/null 2>&1; then
		echo "install.sh: update-initramfs not found (is initramfs-tools installed?);" \
			"the agent runs only after the initramfs is regenerated" >&2
		return 0
	fi
	echo "install.sh: regenerating the initramfs (update-initramfs -u -k all)"
	update-initramfs -u -k all
}

case "$action" in
install)
	if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
		die "agent binary $binary is missing or not executable (build it with 'make static', or pass --binary FILE)"
	fi
	if [ "$root" = / ] && [ ! -d /usr/share/initramfs-tools ]; then
		echo "install.sh: warning: initramfs-tools is not installed; the hook does nothing without it" >&2
	fi
	# install(1) replaces the destination atomically enough for our use
	# and sets the mode each time, so a re-run repairs a changed file.
	install -D -m 0755 "$binary" "$bin_dst"
	install -D -m 0755 "$here/hooks/resume-agent" "$hook_dst"
	install -D -m 0755 "$here/scripts/init-premount/resume-agent" "$script_dst"
	for f in "${stage_dsts[@]}"; do install -D -m 0755 "$here/scripts/init-premount/resume-agent" "$f"; done
	for f in "$bin_dst" "$hook_dst" "$script_dst" "${stage_dsts[@]}"; do echo "install.sh: installed $f"; done
	update_initramfs
	;;
uninstall)
	for f in "${stage_dsts[@]}" "$script_dst" "$hook_dst" "$bin_dst"; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			rm -f "$f"
			echo "install.sh: removed $f"
		fi
	done
	update_initramfs
	;;
esac
