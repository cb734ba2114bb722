# resume_agent.dry_run on a disk with a valid kernel image: the agent
# decides, says what it would do, changes nothing; the boot script brings
# memory online
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL" resume_agent.dry_run)

checks()
{
	local mem
	expect "agent: start (dry run)" has "$S_LOG" 'resume-agent: start \(dry run: nothing will be changed\)'
	expect "agent: the decision it would take" has "$S_LOG" 'resume-agent: decision: resume kernel image on /dev/vdb1$'
	expect "agent: did not jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect "agent: would hand the held-back GiB to kmem" \
		has "$S_LOG" 'resume-agent: dry run: memmap= holds back 0x100000000-0x13fffffff \(1024 MiB\); would load dax_hmem and kmem and hand'
	expect "agent: loaded no module, onlined nothing" not has "$S_LOG" 'resume-agent: memory: (held-back memory handed|[0-9]+ blocks onlined)'
	expect "boot script handed dax0.0 to kmem" has "$S_LOG" 'resume-agent-boot: fallback: dax0.0 handed to kmem'
	expect "boot script onlined its 8 blocks" has "$S_LOG" 'resume-agent-boot: fallback: onlined 8 memory blocks, 0 failed'
	expect "root file system reached (FASTRESUME-ROOT-OK)" has "$S_LOG" '^FASTRESUME-ROOT-OK$'
	mem="$(section "$S_LOG" MEMSTATE)"
	expect "no offline memory block in the root [$(echo "$mem" | xargs)]" all_online "$mem"
	expect "the image was not touched" [ "$S_SUM_BEFORE" = "$S_SUM_AFTER" ]
}
