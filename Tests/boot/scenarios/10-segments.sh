# a segments image of a freestanding payload (mkimage/payload/):
# kexec_load and the jump reach it; it prints its marker and leaves QEMU
# through isa-debug-exit
NEEDS=(resume-jumps)
DISK=resume-segments.img
# isa-debug-exit: the payload writes 0x21 to port 0xf4, QEMU exits with
# (0x21 << 1) | 1 = 67.
QEMU_ARGS=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
EXPECT_RC=67

checks()
{
	expect "agent: decision: resume segments image on /dev/vdb1" has "$S_LOG" 'resume-agent: decision: resume segments image on /dev/vdb1$'
	expect "agent: jumping" has "$S_LOG" 'resume-agent: jumping to the segments image'
	expect "the payload ran: FASTRESUME-SEGMENTS-OK on the serial port" has "$S_LOG" '^FASTRESUME-SEGMENTS-OK: reached the payload through kexec_load'
	expect "QEMU left through the payload's isa-debug-exit (status 67)" [ "$S_RC" -eq 0 ]
	expect "the one-shot image on disk reads as consumed" [ "$(image_state "$S_DISK")" = consumed ]
}
