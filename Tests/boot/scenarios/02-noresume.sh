# noresume: the agent does not probe at all
DISK=resume-empty.img
PARAMS=(noresume)

checks()
{
	expect "agent: noresume given: not probing" has "$S_LOG" 'resume-agent: noresume given: not probing'
	expect "agent did not wait for or probe a device" \
		not has "$S_LOG" 'resume-agent: (waiting up to|rejected )'
	expect_normal_boot
	expect_not_stalled
}
