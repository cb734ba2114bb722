#!/bin/bash
# Watch the agent at work: build everything, then boot the test system
# under QEMU with the serial console on this terminal:
#
#   1. an empty resume partition: the agent finds no image, brings the
#      DIMM's offline memory online and the boot goes on to the test root;
#   2. noresume: the agent does not look at all, and boots on;
#   3. resume= names a device that never appears: the agent waits its
#      bound (resume_agent.wait=3 here) and boots on;
#   4. a corrupted image on the resume partition (resume=PARTLABEL=...):
#      the agent rejects it, says why, and the boot goes on the same way;
#   5. the A/B swap: a kernel image of kernel B on the partition: kernel A's
#      agent loads it and jumps; kernel B prints the command line it got;
#   6. hibernation, two boots on one disk: the root hides a token in a
#      process and hibernates with `resume-image capture`; the next boot's
#      agent restores it, and the same process prints the same token.
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

# demo_boot NAME DISK PARAMS [DISK_COPY]: boot a fresh copy of DISK, or
# DISK_COPY as it is (a second boot on the same disk).
demo_boot()
{
	local name="$1" disk="$2" params="$3" copy="${4:-}" rc=0
	if [ -z "$copy" ]; then
		copy="$VM_DIR/run/demo-$name.img"
		cp --sparse=always "$VM_DIR/$disk" "$copy"
	fi
	# shellcheck disable=SC2086 # params is a list of kernel parameters
	boot_vm "$LOG_DIR/demo-$name.serial.log" "$copy" $params || rc=$?
	echo
	if [ "$rc" -eq 0 ]; then
		echo "=== $name: the VM powered off (log: $LOG_DIR/demo-$name.serial.log) ==="
	else
		echo "=== $name: QEMU ended with status $rc (124: timed out) ==="
	fi
}

printf '\n=== 1/6: no resume image: the agent boots on and brings memory online ===\n'
printf '=== extra kernel parameters: none ===\n\n'
sleep 2
demo_boot no-image resume-empty.img ""

printf '\n=== 2/6: noresume: no probing at all ===\n\n'
sleep 2
demo_boot noresume resume-empty.img "noresume"

printf '\n=== 3/6: resume= names a device that never appears: a bounded wait ===\n'
printf '=== extra kernel parameters: resume=PARTLABEL=does-not-exist resume_agent.wait=3 ===\n\n'
sleep 2
demo_boot missing-device resume-empty.img "resume=PARTLABEL=does-not-exist resume_agent.wait=3"

printf '\n=== 4/6: a corrupt image on PARTLABEL=%s: rejected, normal boot ===\n' "$RESUME_PARTLABEL"
printf '=== extra kernel parameters: resume=PARTLABEL=%s ===\n\n' "$RESUME_PARTLABEL"
sleep 2
demo_boot corrupt-image resume-corrupt.img "resume=PARTLABEL=$RESUME_PARTLABEL"

printf '\n=== 5/6: A/B swap: kernel A jumps to the kernel image of kernel B ===\n'
printf '=== extra kernel parameters: resume=PARTLABEL=%s ===\n\n' "$RESUME_PARTLABEL"
sleep 2
demo_boot kernel-b resume-kernel-b-reusable.img "resume=PARTLABEL=$RESUME_PARTLABEL"

printf '\n=== 6/6: hibernation: capture (boot A), then restore by the agent (boot B) ===\n\n'
sleep 2
demo_boot snapshot-save resume-hibernate.img "fastresume.test=capture"
demo_boot snapshot-restore resume-hibernate.img "resume=PARTLABEL=$RESUME_PARTLABEL" "$VM_DIR/run/demo-snapshot-save.img"
