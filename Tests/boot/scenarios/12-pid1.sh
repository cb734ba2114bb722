# rdinit=/sbin/resume-agent: the agent runs as PID 1, decides, onlines
# memory and execs /init (initramfs-tools), whose boot script does not
# run it again
DISK=resume-empty.img
PARAMS=(rdinit=/sbin/resume-agent)

checks()
{
	expect "agent: running as PID 1 (mounted /proc, /sys, /dev)" has "$S_LOG" 'resume-agent: running as PID 1 \(mounted /proc, /sys, /dev\)'
	expect "agent: exec /init" has "$S_LOG" 'resume-agent: exec /init: handing over to the next init'
	expect "boot script: did not run the agent twice" has "$S_LOG" 'resume-agent-boot: the agent already ran as PID 1'
	expect "the agent ran once" [ "$(console "$S_LOG" | grep -c 'resume-agent: start$')" -eq 1 ]
	expect_normal_boot
	expect_not_stalled
}
