# signed images: the initramfs carries a public key (/etc/fastresume/keys,
# as the hook copies it): an image signed by that key is restored (the jump
# to kernel B); an unsigned image and one signed by another key are refused
# with their reason before anything is loaded, and the boot is a normal one
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")

# signed_disk KEY OUT: a resume disk holding kernel B's image signed by KEY.
signed_disk()
{
	local image="$RUN_DIR/signed-image.tmp"
	rm -f "$image"
	"$RESUME_IMAGE_TOOL" create kernel --sign "$1" --kernel "$VM_DIR/vmlinuz" --initrd "$VM_DIR/initrd-b.img" \
		--cmdline "$KERNEL_B_CMDLINE" "$image" >/dev/null
	make_resume_disk "$2" "$RESUME_DISK_MIB"
	dd if="$image" of="$2" bs=1M oflag=seek_bytes seek="$RESUME_PART_OFFSET" conv=notrunc,sparse status=none
	rm -f "$image"
}

prepare_disk()
{
	local dir="$RUN_DIR/signed-keys" tree="$RUN_DIR/signed-initrd.d"
	rm -rf "$dir" "$tree"
	mkdir -p "$dir" "$tree/etc/fastresume/keys"
	"$RESUME_IMAGE_TOOL" keygen "$dir/trusted" >/dev/null
	"$RESUME_IMAGE_TOOL" keygen "$dir/other" >/dev/null
	cp "$dir/trusted.pub" "$tree/etc/fastresume/keys/"
	# The test initramfs with the key in a cpio in front (the kernel unpacks
	# both; one appended after the compressed archive would be lost).
	{ (cd "$tree" && find etc | cpio -o -H newc --quiet); cat "$VM_DIR/initrd.img"; } >"$RUN_DIR/initrd-signed.img"
	VM_INITRD="$RUN_DIR/initrd-signed.img"
	signed_disk "$dir/trusted" "$1"
	signed_disk "$dir/other" "$RUN_DIR/signed-by-other.img"
}

checks()
{
	expect "boot 1: the agent knows it trusts one key" \
		has "$S_LOG" 'resume-agent: only images signed by one of 1 trusted key\(s\) are restored'
	expect_jump_to_b
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	# A new disk: its hash is taken afresh (S_SUM_AFTER is the last boot's).
	cp --sparse=always "$VM_DIR/resume-kernel-b.img" "$S_DISK"
	S_SUM_AFTER=""
	boot_again B "${PARAMS[@]}" || return 0
	expect "boot 2: the unsigned image is refused with its reason" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: image is not signed, and only signed images are trusted'
	expect "boot 2: no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect_normal_boot
	cp --sparse=always "$RUN_DIR/signed-by-other.img" "$S_DISK"
	S_SUM_AFTER=""
	boot_again C "${PARAMS[@]}" || return 0
	expect "boot 3: the image signed by another key is refused with its reason" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: image is signed by key [0-9a-f]{16}, which is not trusted'
	expect "boot 3: no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect_normal_boot
}
