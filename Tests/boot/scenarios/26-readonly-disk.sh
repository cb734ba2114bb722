# the resume disk read-only (readonly=on) holding a valid one-shot kernel
# image named by resume=: the consumed mark cannot be written, so the agent
# does not jump (it could resume the image twice), says why, and the boot
# is a normal one
NEEDS=(resume-jumps)
DISK=resume-empty.img
PARAMS=("resume=/dev/vdc1")

prepare_disk()
{
	cp --sparse=always "$VM_DIR/resume-empty.img" "$1"
	cp --sparse=always "$VM_DIR/resume-kernel-b.img" "$RUN_DIR/readonly-kernel-b.img"
	add_disk "$RUN_DIR/readonly-kernel-b.img" readonly
}

checks()
{
	expect "agent: decided to resume the kernel image" \
		has "$S_LOG" 'resume-agent: decision: resume kernel image on /dev/vdc1$'
	expect "agent: cannot mark it consumed, so not jumping (reason logged)" \
		has "$S_LOG" 'resume-agent: decision: boot normally: resume from /dev/vdc1 failed: cannot mark the image on /dev/vdc1 consumed, so not jumping \(it could be resumed twice\)'
	expect "no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect "the image is still valid" [ "$(image_state "$RUN_DIR/readonly-kernel-b.img")" = valid ]
	expect_normal_boot
}
