# a USB stick holding a valid kernel image, no resume=: the scan passes it
# over unread (a stick anyone can plug in must not choose the next
# kernel), says why, and the boot is a normal one
NEEDS=(resume-jumps)
DISK=resume-empty.img
# USB disks appear asynchronously, after the storage scan: no delay in
# usb-storage, and the agent waits 3 s before it looks (resumedelay=), so the
# stick is there to be passed over.
PARAMS=(usb-storage.delay_use=0 resumedelay=3)

prepare_disk()
{
	cp --sparse=always "$VM_DIR/resume-empty.img" "$1"
	cp --sparse=always "$VM_DIR/resume-kernel-b.img" "$RUN_DIR/usb-stick-kernel-b.img"
	add_usb_disk "$RUN_DIR/usb-stick-kernel-b.img"
}

checks()
{
	expect "agent: the USB stick was passed over, with the reason" \
		has "$S_LOG" 'resume-agent: passed over /dev/sd[a-z]+[0-9]*: on the USB bus: not scanned \(name it with resume= to use it\)'
	expect "agent: decision says a removable or USB device was passed over" \
		has "$S_LOG" 'resume-agent: decision: boot normally: no resume image found on [0-9]+ block device\(s\) \([0-9]+ removable or USB device\(s\) passed over'
	expect "no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect "the stick's image is still valid (never read, never written)" [ "$(image_state "$RUN_DIR/usb-stick-kernel-b.img")" = valid ]
	expect_normal_boot
}
