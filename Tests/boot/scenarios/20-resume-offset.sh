# the kernel image 256 pages into the partition, resume_offset=256: found
# there, and the jump to kernel B happens
NEEDS=(resume-jumps)
PAGES=256
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL" "resume_offset=$PAGES")

# prepare_disk DISK: the reusable kernel image, moved PAGES pages (1 MiB)
# into the partition of an empty disk.
prepare_disk()
{
	cp --sparse=always "$VM_DIR/resume-empty.img" "$1"
	copy_partition "$VM_DIR/resume-kernel-b-reusable.img" "$1" "$PAGES"
}

checks()
{
	expect "agent found the image at the offset" has "$S_LOG" 'resume-agent: found kernel image on /dev/vdb1: '
	expect_jump_to_b
}
