#!/usr/bin/env bash
# Confinement benchmark (QEMU TCG, Debian's kernel, the boot tests' VM):
#
# 1. The agent's time to bring memory held back at boot online (memmap=
#    SIZE%4G-1+0xefffffff, then dax_hmem + kmem + online), per GiB, for a
#    1 GiB and an 8 GiB region: from the agent's own line "memory: N blocks
#    onlined ... in T ms" (module loading, the hand-over to kmem and the
#    onlining; its "held-back memory handed to kmem in T ms" is the first
#    part alone).
# 2. A no-image boot end to end, the same VM (1536 MiB, one NUMA node,
#    512 MiB below 4 GiB) with and without confinement, one run each:
#    QEMU start to the root's poweroff (host clock), and the root's uptime.
#
#   bench/confine.sh            results: bench/results/confine.txt
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Tests/boot/lib.sh
. Tests/boot/lib.sh
[ "${BENCH_NO_BUILD:-0}" = 1 ] || make --no-print-directory build static >/dev/null
mkimage/build-all.sh kernel initramfs rootfs resume-empty >/dev/null
export BOOT_TIMEOUT=600
out=bench/results/confine.txt
logs="$VM_DIR/logs/bench-confine"
mkdir -p "$logs" "$RUN_DIR"
disk="$RUN_DIR/bench-confine.img"

# boot NAME [KERNEL_PARAM...]: one no-image boot; prints the wall time.
boot()
{
	local name="$1" t0 t1
	shift
	cp --sparse=always "$VM_DIR/resume-empty.img" "$disk"
	t0="$(date +%s.%N)"
	boot_vm "$logs/$name.serial.log" "$disk" "$@" || { echo "bench: boot $name failed (see $logs/$name.serial.log)" >&2; exit 1; }
	t1="$(date +%s.%N)"
	grep -q '^FASTRESUME-ROOT-OK$' "$logs/$name.serial.log" || { echo "bench: boot $name did not reach the root" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

agent_ms()
{
	console "$1" | capture '.*resume-agent: memory: [0-9]+ blocks onlined, .* in ([0-9]+) ms.*'
}
kmem_ms()
{
	console "$1" | capture '.*resume-agent: memory: held-back memory handed to kmem in ([0-9]+) ms.*'
}

{
	echo "# confinement benchmark, $(date -u +%Y-%m-%d), $(nproc) cores (shared), QEMU TCG (no KVM here), Debian kernel $(cat "$VM_DIR/kver")"
	echo "# command: bench/confine.sh"
	for gib in 1 8; do
		mem="$((512 + gib * 1024))M"
		# Held back larger than its start (8 GiB at 4 GiB): on this BIOS
		# boot KASLR may put the kernel inside it (seen: a 52 MiB hole of
		# RAM in the middle, which the agent refuses), so nokaslr, as
		# resume-probe --suggest-memmap says.
		params=()
		[ "$gib" -le 4 ] || params=(nokaslr)
		QEMU_MEM="$mem" boot "held-${gib}g" "${params[@]}" >/dev/null
		log="$logs/held-${gib}g.serial.log"
		ms="$(agent_ms "$log")"
		k="$(kmem_ms "$log")"
		awk -v g="$gib" -v ms="${ms:-0}" -v k="${k:-0}" -v m="$(memtotal_before "$log") -> $(memtotal_after "$log")" 'BEGIN {
			printf "held back %d GiB: the agent brought it online in %d ms = %.0f ms per GiB (modules + kmem hand-over %d ms, onlining %d ms); MemTotal %s kB\n",
				g, ms, ms / g, k, ms - k, m }'
	done
	confined="$(boot confined)"
	whole="$(HOLD_BACK="" boot unconfined)"
	up_c="$(root_uptime "$logs/confined.serial.log")"
	up_w="$(root_uptime "$logs/unconfined.serial.log")"
	awk -v c="$confined" -v w="$whole" -v uc="$up_c" -v uw="$up_w" 'BEGIN {
		printf "no-image boot, same VM (1536 MiB): confined (memmap=1G%%4G) %.2f s wall, root at %.2f s uptime; unconfined %.2f s wall, root at %.2f s uptime\n", c, uc, w, uw
		printf "ratio confined / unconfined: wall %.2f, root uptime %.2f\n", c / w, uc / uw }'
	echo "logs: $logs"
} | tee "$out"
