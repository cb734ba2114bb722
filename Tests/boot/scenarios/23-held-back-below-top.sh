# memmap= holds back 512 MiB at 4 GiB, below the top of RAM (5 GiB): the
# kernel makes it a hibernation nosave region. The agent onlines it with a
# warning naming the cause; resume-image capture refuses, naming it too,
# and writes nothing
DISK=resume-hibernate.img
HOLD_BACK="memmap=512M%4G-1+0xefffffff"
PARAMS=(fastresume.test=capture)

checks()
{
	expect "agent: warns that the region lies below the top of RAM" \
		has "$S_LOG" 'resume-agent: memory: held-back 0x100000000-0x11fffffff lies below the top of RAM \(0x140000000\): the kernel made it a hibernation nosave region'
	expect "agent: onlined it anyway (all 12 blocks online)" \
		has "$S_LOG" 'resume-agent: memory: [0-9]+ blocks onlined, all 12 blocks online \(1536 MiB\)'
	expect "resume-image capture refused, naming the cause" \
		has "$S_LOG" '^resume-image: refusing to hibernate: memory held back at boot \(0x100000000-0x11fffffff, soft reserved\) lies below the top of RAM \(0x140000000\) and is online: the kernel made it a hibernation nosave region'
	expect "capture failed and the system went on (FASTRESUME-CAPTURE-FAILED)" has "$S_LOG" '^FASTRESUME-CAPTURE-FAILED$'
	expect "nothing was frozen" not has "$S_LOG" 'Freezing user space processes'
	expect "no image was written" [ "$S_SUM_BEFORE" = "$S_SUM_AFTER" ]
	expect "and the machine powered off normally" has "$S_LOG" '^FASTRESUME-POWEROFF$'
}
