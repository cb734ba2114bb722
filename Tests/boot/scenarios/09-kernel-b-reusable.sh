# the same image made --reusable: two boots, two jumps, the disk never
# written
NEEDS=(resume-jumps)
DISK=resume-kernel-b-reusable.img
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")

checks()
{
	expect_jump_to_b
	expect "a reusable image is not marked" not has "$S_LOG" 'resume-agent: marked the one-shot image'
	expect "the disk was not written" [ "$S_SUM_FIRST" = "$S_SUM_AFTER" ]
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	boot_again B "${PARAMS[@]}" || return 0
	expect_jump_to_b
	expect "boot 2: the disk was still not written" [ "$S_SUM_FIRST" = "$S_SUM_AFTER" ]
}
