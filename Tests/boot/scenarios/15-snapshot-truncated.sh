# the captured image cut short (a partition too small for it): rejected,
# normal boot
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")

# prepare_disk DISK: the snapshot scenario's captured image (or one
# captured now) on a disk whose partition holds only half of it: what an
# interrupted copy leaves.
prepare_disk()
{
	local size
	captured_disk || return 0
	size="$(inspect_field "$CAPTURED_DISK" image_bytes)"
	[[ "$size" =~ ^[0-9]+$ ]] || {
		fail "resume-image inspect cannot read the captured image's size"
		return 0
	}
	make_resume_disk "$1" $((size / 2 / 1048576 + 2))
	copy_partition "$CAPTURED_DISK" "$1"
}

checks()
{
	expect "agent: rejected /dev/vdb1: truncated ... [$(first_match "$S_LOG" 'resume-agent: rejected ' | sed 's/.*resume-agent: rejected //')]" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: truncated: image needs [0-9]+ bytes'
	expect "no restore" not has "$S_LOG" 'SNAPSHOT_ATOMIC_RESTORE'
	expect_normal_boot
	expect_not_stalled
}
