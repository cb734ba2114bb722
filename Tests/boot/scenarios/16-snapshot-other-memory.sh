# the captured image booted on a machine with 256 MiB more RAM: refused
# with the reason, normal boot
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")
# 512 MiB at boot + 1280 MiB held back at 4 GiB, all online.
QEMU_MEM=1792M
MIN_MEMTOTAL_KIB=1600000

prepare_disk()
{
	captured_disk || return 0
	cp --sparse=always "$CAPTURED_DISK" "$1"
}

checks()
{
	expect "agent refused the snapshot, naming the memory [$(console "$S_LOG" | grep -Eo 'resume from /dev/vdb1 failed: .*' | head -n1)]" \
		has "$S_LOG" 'resume-agent: decision: boot normally: resume from /dev/vdb1 failed: the snapshot needs 1536 MiB online in blocks of 128 MiB; this machine has 1792 MiB'
	expect "the image is left valid (not consumed)" [ "$(image_state "$S_DISK")" = valid ]
	expect "no restore" not has "$S_LOG" 'SNAPSHOT_ATOMIC_RESTORE'
	expect_normal_boot
	expect_not_stalled
}
