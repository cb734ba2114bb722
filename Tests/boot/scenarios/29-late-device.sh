# the resume device appears only in local-top (as an LVM or dm-crypt volume
# would: here a test local-top script links /dev/late-resume to the
# partition): the first run, in init-premount, defers without waiting or
# onlining; the second, in local-premount, finds the kernel image and
# jumps. (The test initramfs with the local-top script added, first in
# local-top's ORDER.)
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=("resume=/dev/late-resume" "resume_agent.wait=20")

prepare_disk()
{
	local tree="$RUN_DIR/late-device.d"
	cp --sparse=always "$VM_DIR/resume-kernel-b.img" "$1"
	rm -rf "$tree"
	mkdir -p "$tree/scripts/local-top"
	cat >"$tree/scripts/local-top/test-late-device" <<-'SCRIPT'
	#!/bin/sh
	[ "$1" = prereqs ] && exit 0
	echo "<5>test-late-device: linking /dev/late-resume now (local-top)" >/dev/kmsg
	ln -sf /dev/vdb1 /dev/late-resume
	SCRIPT
	chmod 755 "$tree/scripts/local-top/test-late-device"
	printf '%s\n' '/scripts/local-top/test-late-device "$@"' '[ -e /conf/param.conf ] && . /conf/param.conf' \
		>"$tree/scripts/local-top/ORDER"
	initrd_with_tree "$tree" "$RUN_DIR/initrd-late-device.img"
	VM_INITRD="$RUN_DIR/initrd-late-device.img"
}

checks()
{
	expect "run 1 (init-premount) defers without waiting" \
		has "$S_LOG" 'resume-agent: /dev/late-resume is not there yet: deciding after local-top'
	expect "run 1 did not wait for the device" not has "$S_LOG" 'resume-agent: waiting up to'
	expect "local-top made the device" has "$S_LOG" 'test-late-device: linking /dev/late-resume now'
	expect "run 2 (local-premount) ran the agent" has "$S_LOG" 'resume-agent-boot: running /sbin/resume-agent$'
	expect_jump_to_b /dev/late-resume
}
