#!/bin/bash
# Watch the agent at work: build everything, then boot the test system
# under QEMU twice with the serial console on this terminal:
#
#   1. an empty resume partition: the agent finds no image, brings the
#      DIMM's offline memory online and the boot goes on to the test root;
#   2. a corrupted image on the resume partition (resume=PARTLABEL=...):
#      the agent rejects it, says why, and the boot goes on the same way.
#
# Each boot powers itself off after the root has printed its report
# (marker FASTRESUME-ROOT-OK, MemTotal, memory block states, the agent's
# kernel log lines). Logs are kept in build/vm/logs/demo-*.serial.log.
# Ctrl-C stops a boot. Usage: mkimage/demo.sh
set -euo pipefail
# shellcheck source=Tests/boot/lib.sh source-path=SCRIPTDIR/../Tests/boot
. "$(dirname "${BASH_SOURCE[0]}")/../Tests/boot/lib.sh"

need_cmd "$QEMU" qemu-system-x86
"$MKIMAGE_DIR/build-all.sh"

mkdir -p "$LOG_DIR" "$VM_DIR/run"
export BOOT_LIVE=1

demo_boot()
{
	local name="$1" disk="$2" params="$3" rc=0
	cp --sparse=always "$VM_DIR/$disk" "$VM_DIR/run/demo-$name.img"
	# shellcheck disable=SC2086 # params is a list of kernel parameters
	boot_vm "$LOG_DIR/demo-$name.serial.log" "$VM_DIR/run/demo-$name.img" $params || rc=$?
	echo
	if [ "$rc" -eq 0 ]; then
		echo "=== $name: the VM powered off (log: $LOG_DIR/demo-$name.serial.log) ==="
	else
		echo "=== $name: QEMU ended with status $rc (124: timed out) ==="
	fi
}

printf '\n=== 1/2: no resume image: the agent boots on and brings memory online ===\n'
printf '=== extra kernel parameters: none ===\n\n'
sleep 2
demo_boot no-image resume-empty.img ""

printf '\n=== 2/2: a corrupt image on PARTLABEL=%s: rejected, normal boot ===\n' "$RESUME_PARTLABEL"
printf '=== extra kernel parameters: resume=PARTLABEL=%s ===\n\n' "$RESUME_PARTLABEL"
sleep 2
demo_boot corrupt-image resume-corrupt.img "resume=PARTLABEL=$RESUME_PARTLABEL"
