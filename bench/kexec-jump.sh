#!/usr/bin/env bash
# Kexec-jump hibernation against the kernel's own (QEMU TCG, -smp 2, the
# KEXEC_JUMP kernel of mkimage/kernel-jump.sh for both): the same VM (-m 2G,
# A booted with mem=1G), the same RAM content (a mostly idle A with
# DATA_MIB of random data in a tmpfs, and the token process), saved and
# restored
#   (a) by the kernel: swap on the disk, echo disk >/sys/power/state; the
#       next boot (mem=1G as well: the kernel refuses another memory size)
#       writes the disk's MAJ:MIN to /sys/power/resume (what initramfs-tools'
#       local-premount/resume does);
#   (b) by ours: resume-image hibernate --kexec-jump --keep-hibernate-kernel
#       on A, the agent in the hibernate kernel B saves, the agent in the
#       next boot C, confined to its first 512 MiB as on real hardware
#       (memmap=...%...), restores; A then hibernates again through its
#       kept B (no boot of B).
# Reported as ratios ours/kernel: image size (non-zero 4 KiB pages the save
# wrote on the all-zero disk), save time (from A's "hibernating" line to the
# end of that QEMU; ours with the kept B, its second hibernation, and cold
# as well), restore time (from the decision line, the agent's "decision:
# resume" or the init's write to /sys/power/resume, to A's first token
# line; and from QEMU's start). Host clock throughout; the tmpfs data must
# come back intact.
#   bench/kexec-jump.sh [DATA_MIB]     results: bench/results/kexec-jump.txt
#   ($KEXEC_JUMP_RESULTS names another file: make demo's copy)
set -euo pipefail
cd "$(dirname "$0")/.."
data_mib=${1:-64}
make --no-print-directory kernel-jump static >/dev/null
export JUMP_LOGS="$PWD/build/jump/bench-logs"
# shellcheck source=Tests/jump/lib.sh
. Tests/jump/lib.sh
results_file="${KEXEC_JUMP_RESULTS:-bench/results/kexec-jump.txt}"
mkdir -p "$(dirname "$results_file")"

# used_bytes DISK: bytes of non-zero 4 KiB pages (the disk starts all zeros).
used_bytes() {
	python3 - "$1" <<'PY'
import sys
n = 0
with open(sys.argv[1], "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        for i in range(0, len(b), 4096):
            if any(b[i:i + 4096]):
                n += 4096
print(n)
PY
}
last_time() { tail -n1 "$logs/$1.log" | awk '{ print $1 }'; }
# khost NAME PATTERN FROM TO: the host time of the first kernel-stamped
# line matching PATTERN between the lines matching FROM and TO (or the
# end, TO empty; one
# kernel's lines: each kernel's clock starts at its boot). The serial
# console can print a line seconds after the kernel stamped it (a busy
# vCPU), so its own host stamp can be late: the line's kernel stamp plus the
# smallest host-minus-kernel offset of those lines (a line is never printed
# before it happens) is its time.
khost() {
	local to="/$4/"
	[ -n "$4" ] || to='$'
	sed -n "/$3/,${to}p" "$logs/$1.log" | awk -v pat="$2" '
		match($0, /^ *[0-9.]+ \[ *[0-9.]+\]/) {
			host = $1; k = $0; sub(/^ *[0-9.]+ \[ */, "", k); sub(/\].*/, "", k)
			if (min == "" || host - k < min) min = host - k
			if (first == "" && $0 ~ pat) first = k
		}
		END { if (first != "") printf "%.2f\n", first + min }'
}
# span A B: B - A in seconds, one decimal ("?" when either is missing).
span() { if [ -n "$1" ] && [ -n "$2" ]; then printf '%.1f' "$(bc -l <<<"$2 - $1")"; else echo "?"; fi; }

# run KIND A-APPEND C-APPEND DECISION: prints "size save restore
# restore-from-QEMU-start kept-save" (kept-save: A's second hibernation
# after the restore, ours only; 0 for the kernel).
run() {
	local kind="$1" disk="$dir/bench-$1.img" tok size
	fresh_disk "$disk" 1G
	boot "$kind-save" 2G "$disk" "mem=1G jt.role=a jt.fill=$data_mib $2"
	tok="$(token_of "$kind-save")"
	grep -q "JT-A filled" "$logs/$kind-save.log" || { echo "$kind: A did not fill its tmpfs (see $logs/$kind-save.log)" >&2; exit 1; }
	size="$(used_bytes "$disk")"
	boot "$kind-restore" 2G "$disk" "$3"
	# Ours hibernates again after the restore (through the kept B): a last
	# boot restores that, and A's data must be intact after both.
	local last="$kind-restore"
	if [ "$kind" = ours ]; then
		last=ours-again
		boot "$last" 2G "$disk" "$3"
	fi
	if ! grep -q "JT-A tmpfs data intact" "$logs/$last.log" || ! grep -q "JT-TOKEN $tok" "$logs/$kind-restore.log" ||
		! grep -q "JT-TOKEN $tok" "$logs/$last.log"; then
		echo "$kind: A did not come back with its data (see $logs/$kind-restore.log and $logs/$last.log)" >&2
		exit 1
	fi
	local s0 s1 r0 r1
	s0="$(at "$kind-save" 'JT-A hibernating')"
	s1="$(last_time "$kind-save")"
	r0="$(at "$kind-restore" "$4")"
	# The agent's lines go through /dev/kmsg: their console time can be late.
	[ "$kind" = ours ] && r0="$(khost ours-restore "$4" 'resume-agent: start' 'jumping to the restore stub')"
	r1="$(at "$kind-restore" "JT-TOKEN $tok")"
	local kept=0
	if [ "$kind" = ours ]; then
		grep -q "resume-agent: saved kernel A to /dev/vda" "$logs/ours-restore.log" ||
			{ echo "ours: A's second hibernation, through the kept B, did not save (see $logs/ours-restore.log)" >&2; exit 1; }
		kept="$(bc -l <<<"$(last_time ours-restore) - $(at ours-restore 'JT-A hibernating .*round 2')")"
	fi
	echo "$size $(bc -l <<<"$s1 - $s0") $(bc -l <<<"$r1 - $r0") $r1 $kept"
}

# The kernel's resume needs the image's memory size: its boot has mem=1G
# too. Ours boots with all of the machine's RAM (the agent checks the
# firmware memory map, not the size).
results="$(run kernel "jt.kernelhib=1" "jt.role=k mem=1G" "JT-K resume from")" || exit 1
read -r -a kernel <<<"$results"
fresh_disk "$dir/bench-kept-b.img" 200M
export JUMP_DISK2="$dir/bench-kept-b.img"
results="$(run ours "jt.keep=/dev/vdb jt.rounds=2 jt.after=2" "jt.role=c resume=/dev/vda $CONFINE_C" "resume-agent: decision: resume")" || exit 1
unset JUMP_DISK2
read -r -a ours <<<"$results"
{
	echo "# kexec-jump hibernation benchmark, $(date -u +%Y-%m-%d), $(nproc) host cores (load $(cut -d' ' -f1 /proc/loadavg)), QEMU TCG (-smp ${JUMP_SMP:-2}), -m 2G, A mem=1G, C confined ($CONFINE_C), kernel $(basename "$(dirname "$("$MKIMAGE_DIR/kernel-jump.sh" 2>/dev/null)")") (mkimage/kernel-jump.sh)"
	echo "# command: bench/kexec-jump.sh $data_mib   (RAM content: a mostly idle A, $data_mib MiB of random data in tmpfs, checked by md5 after the restore)"
	printf 'kernel (swsusp to swap):        image %d bytes on disk, save %.1f s, restore %.1f s (%.1f s from QEMU start)\n' "${kernel[0]}" "${kernel[1]}" "${kernel[2]}" "${kernel[3]}"
	printf 'ours (kexec jump, agent in B/C): image %d bytes on disk, save %.1f s with the kept B (the first save, booting B cold and keeping it, %.1f s), restore %.1f s (%.1f s from QEMU start)\n' "${ours[0]}" "${ours[4]}" "${ours[1]}" "${ours[2]}" "${ours[3]}"
	printf 'ratios ours/kernel: image size %.2f, save time %.2f (first save %.2f), restore time %.2f (from QEMU start %.2f)\n' \
		"$(bc -l <<<"${ours[0]} / ${kernel[0]}")" "$(bc -l <<<"${ours[4]} / ${kernel[1]}")" "$(bc -l <<<"${ours[1]} / ${kernel[1]}")" \
		"$(bc -l <<<"${ours[2]} / ${kernel[2]}")" "$(bc -l <<<"${ours[3]} / ${kernel[3]}")"
	local_s="$logs/ours-save.log"
	echo "# where the time goes (host clock; the agent's lines at their kernel stamps, see khost):"
	echo "#   kernel save: freeze and snapshot $(span "$(at kernel-save 'JT-A hibernating')" "$(khost kernel-save 'Image created' 'JT-A hibernating' '')") s, compress, write and power off $(span "$(khost kernel-save 'Image created' 'JT-A hibernating' '')" "$(last_time kernel-save)") s"
	b_up="$(at ours-save 'JT-B up')"
	echo "#   ours save: A's kexec -l $(span "$(at ours-save 'JT-A hibernating')" "$(at ours-save 'jumping to the hibernate kernel')") s, the jump and B's boot $(span "$(at ours-save 'jumping to the hibernate kernel')" "$b_up") s, B's agent to power off $(span "$b_up" "$(last_time ours-save)") s ($(sed -n 's/.*resume-agent: kernel A .* free.*; found in \([0-9]*\) ms.*/free-page scan \1 ms/p' "$local_s"), $(sed -n 's/.*resume-agent: saved kernel A .* in \([0-9]*\) ms.*/save \1 ms/p' "$local_s"))"
	echo "#   kernel restore: read and decompress $(span "$(at kernel-restore 'JT-K resume from')" "$(khost kernel-restore 'Image loading done' 'JT-K resume from' 'Image loading done')") s, restore and thaw to the token $(span "$(khost kernel-restore 'Image loading done' 'JT-K resume from' 'Image loading done')" "$(at kernel-restore 'JT-TOKEN')") s"
	stub="$(at ours-restore 'fastresume-stub: putting')"
	echo "#   ours restore: read, check, stub segment, kexec_load $(span "$(khost ours-restore 'decision: resume' 'resume-agent: start' 'jumping to the restore stub')" "$(khost ours-restore 'jumping to the restore stub' 'resume-agent: start' 'jumping to the restore stub')") s, reboot into the stub $(span "$(khost ours-restore 'jumping to the restore stub' 'resume-agent: start' 'jumping to the restore stub')" "$stub") s, the stub $(span "$stub" "$(at ours-restore 'pages in place, entering')") s, A's re-entry and thaw to the token $(span "$(at ours-restore 'pages in place, entering')" "$(at ours-restore 'JT-TOKEN')") s"
	echo "#   ours restore, in C: $(grep -o "kernel A's image: .*" "$logs/ours-restore.log" | head -n1 | sed 's/; stub segment.*//')"
	echo "#   ours kept save: $(grep -o "left out [0-9]* pages of kernel A's staged copy" "$logs/ours-restore.log" | head -n1)"
	echo "#   pages saved: kernel $(sed -n 's/.*PM: hibernation: Image created (\([0-9]*\) pages copied.*/\1/p' "$logs/kernel-save.log"), ours $(sed -n 's/.*resume-agent: saved kernel A to .*: \([0-9]*\) of .*/\1/p' "$logs/ours-save.log" | head -n1) (A's staged copy of B left out; the kernel frees page cache before its snapshot, A's side drops it)"
} | tee "$results_file"
