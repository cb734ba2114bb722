# PID 1 mode with the watchdog: rdinit=/sbin/resume-agent, resume= names a
# device that never appears (as PID 1 no driver module is loaded yet) and
# resume_agent.timeout=2 is shorter than the wait: the agent works in a
# child, the child's watchdog gives up at 2 s, PID 1 brings memory online
# and execs /init, and the boot goes on (exiting as PID 1 would panic)
DISK=resume-empty.img
PARAMS=(rdinit=/sbin/resume-agent "resume=PARTLABEL=does-not-exist" resume_agent.wait=20 resume_agent.timeout=2)

checks()
{
	expect "agent: running as PID 1" has "$S_LOG" 'resume-agent: running as PID 1'
	expect "the child's watchdog gave up" has "$S_LOG" 'resume-agent: watchdog: gave up \(resume_agent.timeout\); the boot goes on'
	expect "PID 1 saw the watchdog's status and onlined memory" \
		has "$S_LOG" "resume-agent: the agent ended with status $AGENT_EXIT_WATCHDOG; bringing memory online and booting on"
	expect "PID 1 handed over to /init" has "$S_LOG" 'resume-agent: exec /init: handing over to the next init'
	expect "no kernel panic" not has "$S_LOG" 'Kernel panic'
	expect "root file system reached (FASTRESUME-ROOT-OK)" has "$S_LOG" '^FASTRESUME-ROOT-OK$'
	expect "no offline memory block in the root" all_online "$(section "$S_LOG" MEMSTATE)"
}
