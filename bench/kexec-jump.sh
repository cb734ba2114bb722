#!/usr/bin/env bash
# Kexec-jump hibernation against the kernel's own (QEMU TCG, -smp 1, the
# KEXEC_JUMP kernel of mkimage/kernel-jump.sh for both): the same VM (-m 2G,
# A booted with mem=1G), the same RAM content (a mostly idle A with
# DATA_MIB of random data in a tmpfs, and the token process), saved and
# restored
#   (a) by the kernel: swap on the disk, echo disk >/sys/power/state; the
#       next boot writes the disk's MAJ:MIN to /sys/power/resume (what
#       initramfs-tools' local-premount/resume does);
#   (b) by ours: resume-image hibernate --kexec-jump on A, the agent in the
#       hibernate kernel B saves, the agent in the next boot restores.
# Reported as ratios ours/kernel: image size (non-zero 4 KiB pages the save
# wrote on the all-zero disk), save time (from A's "hibernating" line to the
# end of that QEMU), restore time (from the decision line, the agent's
# "decision: resume" or the init's write to /sys/power/resume, to A's first
# token line). Host clock throughout; the tmpfs data must come back intact.
#   bench/kexec-jump.sh [DATA_MIB]     results: bench/results/kexec-jump.txt
set -euo pipefail
cd "$(dirname "$0")/.."
data_mib=${1:-64}
make --no-print-directory kernel-jump static >/dev/null
export JUMP_LOGS="$PWD/build/jump/bench-logs"
# shellcheck source=Tests/jump/lib.sh
. Tests/jump/lib.sh
mkdir -p bench/results

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

# run KIND A-APPEND C-APPEND DECISION: prints "size save restore".
run() {
	local kind="$1" disk="$dir/bench-$1.img" tok
	fresh_disk "$disk" 1G
	boot "$kind-save" 2G "$disk" "mem=1G jt.role=a jt.fill=$data_mib $2"
	tok="$(token_of "$kind-save")"
	grep -q "JT-A filled" "$logs/$kind-save.log" || { echo "$kind: A did not fill its tmpfs (see $logs/$kind-save.log)" >&2; exit 1; }
	boot "$kind-restore" 2G "$disk" "$3"
	if ! grep -q "JT-A tmpfs data intact" "$logs/$kind-restore.log" || ! grep -q "JT-TOKEN $tok" "$logs/$kind-restore.log"; then
		echo "$kind: A did not come back with its data (see $logs/$kind-restore.log)" >&2
		exit 1
	fi
	local s0 s1 r0 r1
	s0="$(at "$kind-save" 'JT-A hibernating')"
	s1="$(last_time "$kind-save")"
	r0="$(at "$kind-restore" "$4")"
	r1="$(at "$kind-restore" "JT-TOKEN $tok")"
	echo "$(used_bytes "$disk") $(bc -l <<<"$s1 - $s0") $(bc -l <<<"$r1 - $r0")"
}

read -r -a kernel <<<"$(run kernel "jt.kernelhib=1" "jt.role=k" "JT-K resume from")"
read -r -a ours <<<"$(run ours "" "jt.role=c resume=/dev/vda" "resume-agent: decision: resume")"
{
	echo "# kexec-jump hibernation benchmark, $(date -u +%Y-%m-%d), $(nproc) host cores (load $(cut -d' ' -f1 /proc/loadavg)), QEMU TCG (1 vCPU), -m 2G, A mem=1G, kernel $(basename "$(dirname "$(readlink -f "$dir/bzImage")")") (mkimage/kernel-jump.sh)"
	echo "# command: bench/kexec-jump.sh $data_mib   (RAM content: a mostly idle A, $data_mib MiB of random data in tmpfs, checked by md5 after the restore)"
	printf 'kernel (swsusp to swap):        image %d bytes on disk, save %.1f s, restore %.1f s\n' "${kernel[0]}" "${kernel[1]}" "${kernel[2]}"
	printf 'ours (kexec jump, agent in B/C): image %d bytes on disk, save %.1f s, restore %.1f s\n' "${ours[0]}" "${ours[1]}" "${ours[2]}"
	printf 'ratios ours/kernel: image size %.2f, save time %.2f, restore time %.2f\n' \
		"$(bc -l <<<"${ours[0]} / ${kernel[0]}")" "$(bc -l <<<"${ours[1]} / ${kernel[1]}")" "$(bc -l <<<"${ours[2]} / ${kernel[2]}")"
} | tee bench/results/kexec-jump.txt
