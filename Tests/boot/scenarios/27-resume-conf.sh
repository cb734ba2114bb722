# RESUME= from initramfs-tools' configuration (conf/conf.d/resume, as
# Debian's installer writes it), no resume= on the command line: with
# RESUME=none the agent does not probe; with RESUME=PARTLABEL=... it takes
# that device, finds the kernel image and jumps. (Each initramfs is the
# test one with a small cpio in front that adds conf/conf.d/resume: the
# kernel unpacks both; one appended after the compressed archive is lost.)
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=()

# initrd_with_resume VALUE OUT: the test initramfs plus conf/conf.d/resume.
initrd_with_resume()
{
	local dir="$RUN_DIR/resume-conf.d"
	rm -rf "$dir"
	mkdir -p "$dir/conf/conf.d"
	echo "RESUME=$1" >"$dir/conf/conf.d/resume"
	{ (cd "$dir" && find conf | cpio -o -H newc --quiet); cat "$VM_DIR/initrd.img"; } >"$2"
}

prepare_disk()
{
	cp --sparse=always "$VM_DIR/resume-kernel-b.img" "$1"
	initrd_with_resume none "$RUN_DIR/initrd-resume-none.img"
	initrd_with_resume "PARTLABEL=$RESUME_PARTLABEL" "$RUN_DIR/initrd-resume-partlabel.img"
	VM_INITRD="$RUN_DIR/initrd-resume-none.img"
}

checks()
{
	expect "boot 1 (RESUME=none): agent does not probe" has "$S_LOG" 'resume-agent: RESUME=none: not probing'
	expect "boot 1: decision names RESUME=none" has "$S_LOG" 'resume-agent: decision: boot normally: RESUME=none given'
	expect_normal_boot
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	VM_INITRD="$RUN_DIR/initrd-resume-partlabel.img"
	boot_again B || return 0
	expect "boot 2 (RESUME=PARTLABEL=...): agent takes the configured device" \
		has "$S_LOG" "resume-agent: resume device from initramfs-tools' configuration: RESUME=PARTLABEL=$RESUME_PARTLABEL"
	expect_jump_to_b
}
