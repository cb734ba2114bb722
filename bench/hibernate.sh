#!/usr/bin/env bash
# Hibernate benchmark (QEMU TCG, Debian's kernel): the same VM with the same
# RAM content, ~600 MiB of memory-like data held in tmpfs (35% zero pages,
# 45% code pages, 20% random; bench/make-memory-like.py), saved and restored
# (a) by the kernel's own hibernation (swsusp to a swap partition, LZO) and
# (b) by ours (resume-image capture, restored by the agent), reported as
# ratios: image size on disk, save time, restore time. Times are host
# clock (Tests/boot/stamp.py): save = from the root's "save start" line to
# the VM's power-off; restore = from the agent's decision line to the
# root's "resumed" line, whose checksum of the data must match.
#   bench/hibernate.sh [DATA_MIB]     results: bench/results/hibernate.txt
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Tests/boot/lib.sh
. Tests/boot/lib.sh
data_mib=${1:-600}
work=build/bench
mkdir -p "$work" bench/results
make --no-print-directory build static >/dev/null
mkimage/build-all.sh kernel initramfs rootfs >/dev/null 2>&1
data="$work/memory-$data_mib.bin"
[ -f "$data" ] || python3 bench/make-memory-like.py "$data" "$data_mib"
want="$(md5sum <"$data" | cut -d' ' -f1)"
export QEMU_MEM=1024M BOOT_TIMEOUT=600
export QEMU_EXTRA="-drive file=$PWD/$data,format=raw,if=none,id=data,readonly=on -device virtio-blk-pci,drive=data"

stamp_of() { grep -Em1 -- "^[0-9.]+ .*($2)" "$1.stamped" | cut -d' ' -f1; }
last_stamp() { tail -n1 "$1.stamped" | cut -d' ' -f1; }
# used_bytes DISK: bytes of non-zero 4 KiB pages in the partition (the
# disk starts all zeros, so this is what the save wrote).
used_bytes() {
	python3 - "$1" <<'PY'
import sys
n = 0
with open(sys.argv[1], "rb") as f:
    f.seek(1 << 20)
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

run() {
	local kind="$1" disk="$work/hibernate-$1.img" a="$LOG_DIR/bench-$1-save.serial.log" b="$LOG_DIR/bench-$1-restore.serial.log"
	rm -f "$disk"
	truncate -s 2G "$disk"
	sgdisk --clear --new=1:2048:0 --change-name=1:fastresume "$disk" >/dev/null
	boot_vm "$a" "$disk" "fastresume.test=bench-$kind" || { echo "bench-$kind: save boot failed (see $a)" >&2; exit 1; }
	grep -q "^FASTRESUME-BENCH-LOADED $want" "$a" || { echo "bench-$kind: the data did not load (see $a)" >&2; exit 1; }
	local save_t0 save_t1 size
	save_t0="$(stamp_of "$a" 'FASTRESUME-BENCH-SAVE-START')"
	save_t1="$(last_stamp "$a")"
	size="$(used_bytes "$disk")"
	boot_vm "$b" "$disk" "resume=PARTLABEL=fastresume" || { echo "bench-$kind: restore boot failed (see $b)" >&2; exit 1; }
	grep -q "^FASTRESUME-BENCH-RESUMED $want" "$b" || { echo "bench-$kind: the restored data differs or the restore failed (see $b)" >&2; exit 1; }
	local r0 r1
	r0="$(stamp_of "$b" 'resume-agent: decision: resume')"
	r1="$(stamp_of "$b" 'FASTRESUME-BENCH-RESUMED')"
	echo "$kind $size $(echo "$save_t1 - $save_t0" | bc -l) $(echo "$r1 - $r0" | bc -l)"
}

kernel=($(run kernel))
ours=($(run ours))
{
	echo "# hibernate benchmark, $(date -u +%Y-%m-%d), $(nproc) host cores, QEMU TCG (1 vCPU), 1 GiB + 1 GiB DIMM, Debian kernel $(cat "$VM_DIR/kver")"
	echo "# command: bench/hibernate.sh $data_mib   (RAM content: $data_mib MiB of memory-like data in tmpfs; restored data checked by md5)"
	printf 'kernel (swsusp, LZO): image %d bytes on disk, save %.1f s, restore %.1f s\n' "${kernel[1]}" "${kernel[2]}" "${kernel[3]}"
	printf 'ours (capture, LZ4):  image %d bytes on disk, save %.1f s, restore %.1f s\n' "${ours[1]}" "${ours[2]}" "${ours[3]}"
	printf 'ratios ours/kernel: image size %.2f, save time %.2f, restore time %.2f\n' \
		"$(echo "${ours[1]} / ${kernel[1]}" | bc -l)" "$(echo "${ours[2]} / ${kernel[2]}" | bc -l)" "$(echo "${ours[3]} / ${kernel[3]}" | bc -l)"
} | tee bench/results/hibernate.txt
