#!/usr/bin/env bash
# Benchmark 3 (binary): the stripped size of every binary that goes into the
# initramfs, what makes up the agent (from the linker's map), and how much
# the compressed initramfs grows with the hook, against the same
# mkinitramfs configuration without it (the baseline, in the same run).
#   bench/size.sh     results: bench/results/size.txt
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=mkimage/lib.sh
. mkimage/lib.sh
work="$PWD/build/bench"
mkdir -p "$work" bench/results
make --no-print-directory static >/dev/null
# The same build as `make static`, unstripped, with a linker map.
swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static \
	--product resume-agent -Xlinker -Map="$work/resume-agent.map" >/dev/null
kver="$(detect_kver)"

# One initramfs with the hook (the boot tests' config), one without.
build_initramfs()
{
	local conf="$work/initramfs-conf-$1" out="$work/initrd-$1.img"
	rm -rf "$conf"
	mkdir -p "$conf/hooks" "$conf/scripts/init-premount" "$conf/conf.d"
	cp mkimage/initramfs-conf/initramfs.conf mkimage/initramfs-conf/modules "$conf/"
	if [ "$1" = with-agent ]; then
		install -m 0755 initramfs/hooks/resume-agent "$conf/hooks/"
		install -m 0755 initramfs/scripts/init-premount/resume-agent "$conf/scripts/init-premount/"
	fi
	mkdir -p "$work/tmp"
	TMPDIR="$work/tmp" RESUME_AGENT_BINARY="$PWD/build/static/resume-agent" \
		mkinitramfs -d "$conf" -o "$out" "$kver" >/dev/null
	[ -s "$out" ] || { echo "bench/size.sh: mkinitramfs made no $out" >&2; exit 1; }
	stat -c %s "$out"
}
without=$(build_initramfs without-agent)
with=$(build_initramfs with-agent)
agent=$(stat -c %s build/static/resume-agent)
agent_zstd=$(zstd -1 -c build/static/resume-agent | wc -c)
{
	echo "# size benchmark, $(date -u +%Y-%m-%d), $(uname -m), Swift $(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p'), kernel $kver"
	echo "# command: bench/size.sh"
	echo "binaries in the initramfs (stripped):"
	echo "  /sbin/resume-agent  $agent bytes (resume-probe is a symlink to it); zstd -1: $agent_zstd bytes"
	echo "initramfs (mkinitramfs, MODULES=list, zstd -1):"
	echo "  without the hook: $without bytes"
	echo "  with the hook:    $with bytes"
	printf '  growth: %d bytes, %.1f%% of the initramfs without it\n' $((with - without)) "$(echo "100 * ($with - $without) / $without" | bc -l)"
	echo "  (this baseline is the boot tests' minimal MODULES=list initramfs; Debian's default"
	echo "   MODULES=most one is $(stat -c %s "/boot/initrd.img-$kver" 2>/dev/null || echo '?') bytes here)"
	echo "what makes up the agent (allocated sections, from the linker map):"
	python3 bench/size-breakdown.py "$work/resume-agent.map" | sed 's/^/  /'
} | tee bench/results/size.txt
