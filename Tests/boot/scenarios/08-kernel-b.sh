# A/B swap: the partition holds a one-shot kernel image (Debian's kernel,
# a marker initrd, its own command line); boot A jumps to B, which prints
# the image's command line; the image is then consumed, and the next boot
# is a normal one
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")

checks()
{
	expect_jump_to_b
	expect "agent marked the one-shot image consumed before the jump" \
		has "$S_LOG" 'resume-agent: marked the one-shot image on /dev/vdb1 consumed \(synced\)'
	expect "the image on disk now reads as consumed" [ "$(image_state "$S_DISK")" = consumed ]
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	boot_again B "${PARAMS[@]}" || return 0
	expect "boot 2: agent rejected the consumed image" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: image already consumed'
	expect "boot 2: no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect_normal_boot
}
