# the same image found by the scan (no resume=)
NEEDS=(resume-corrupt)
DISK=resume-corrupt.img

checks()
{
	expect "agent: rejected /dev/vdb1: <reason> [$(first_match "$S_LOG" 'resume-agent: rejected ' | sed 's/.*resume-agent: rejected //')]" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: [^ ]'
	expect_normal_boot
	expect_not_stalled
}
