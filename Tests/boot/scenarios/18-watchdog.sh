# resume_agent.timeout=2 shorter than the device wait: the agent gives up
# at 2 s, the boot script brings memory online, and the boot goes on
DISK=resume-empty.img
PARAMS=(resume=PARTLABEL=does-not-exist resume_agent.wait=20 resume_agent.timeout=2)

checks()
{
	local mem memtotal
	expect "agent: watchdog gave up" has "$S_LOG" 'resume-agent: watchdog: gave up \(resume_agent.timeout\); the boot goes on'
	expect "the wait did not run its 20 s" not has "$S_LOG" 'did not appear within 20 s'
	expect "boot script: the agent failed (status $AGENT_EXIT_WATCHDOG), memory onlined by the script" \
		has "$S_LOG" "resume-agent-boot: /sbin/resume-agent failed \\(exit status $AGENT_EXIT_WATCHDOG: the watchdog gave up\\)"
	expect "boot script handed the held-back memory to kmem (modprobe) and onlined it" \
		has "$S_LOG" 'resume-agent-boot: fallback: dax0.0 handed to kmem'
	expect "root file system reached (FASTRESUME-ROOT-OK)" has "$S_LOG" '^FASTRESUME-ROOT-OK$'
	mem="$(section "$S_LOG" MEMSTATE)"
	expect "no offline memory block in the root [$(echo "$mem" | xargs)]" all_online "$mem"
	memtotal="$(memtotal_kib "$S_LOG")"
	expect "MemTotal ${memtotal:-?} kB > $MIN_MEMTOTAL_KIB kB" fcmp "${memtotal:-0}" ">" "$MIN_MEMTOTAL_KIB"
	expect_not_stalled
}
