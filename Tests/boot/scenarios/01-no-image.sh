# empty resume partition, no resume=: the agent scans and finds nothing
DISK=resume-empty.img

checks()
{
	expect_normal_boot
	expect_not_stalled
	expect "empty partition is no image, not a rejected one" \
		not has "$S_LOG" 'resume-agent: rejected '
}
