# a kernel image inside a LUKS2 volume (resume=/dev/mapper/NAME_crypt, as
# Debian names dm-crypt targets), unlocked in local-top by cryptsetup's own
# cryptroot script with a key file in the initramfs: the first run, in
# init-premount, defers; the second, in local-premount, finds the image
# on the unlocked volume and jumps to kernel B; the next boot finds it
# consumed and boots normally. (crypttab and key file as cryptsetup's hook
# writes them for an "initramfs" entry with KEYFILE_PATTERN, added to the
# test initramfs: the hook reads only the machine's /etc/crypttab.)
NEEDS=(resume-jumps)
PARAMS=("resume=/dev/mapper/fastresume_crypt" "resume_agent.wait=20")

LUKS_NAME=fastresume_crypt
# The LUKS2 header room taken from the end of the partition when the data
# already there is encrypted in place (cryptsetup reencrypt --encrypt).
LUKS_HEADER_MIB=16

# encrypt_in_place KEY: LOOP_DEV (the partition, kernel B's image at its
# start) becomes a LUKS2 volume holding the same bytes: cryptsetup's
# offline encryption (userspace crypto, no device-mapper on the build
# machine), the data shifted behind the header. PBKDF2 with few
# iterations: the key is 64 random bytes, and Argon2's default memory
# cost would not fit the 512 MiB the test kernel boots in (nor its time
# under TCG).
encrypt_in_place()
{
	local out
	out="$(cryptsetup reencrypt --batch-mode --encrypt --type luks2 --reduce-device-size "${LUKS_HEADER_MIB}M" \
		--key-file "$1" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$LOOP_DEV" 2>&1)" || {
		echo "$out" >&2
		return 1
	}
}

prepare_disk()
{
	local part="$RUN_DIR/luks.part" tree="$RUN_DIR/luks-initrd.d" key uuid
	make_resume_disk "$1" "$RESUME_DISK_MIB"
	# The partition's bytes: kernel B's image (about 40 MB) and zeros; the
	# encryption drops its last LUKS_HEADER_MIB MiB, which must be zeros.
	partition_image "$VM_DIR/resume-kernel-b.img" "$part"
	truncate -s "$(resume_part_bytes $((RESUME_DISK_MIB * 1024 * 1024)))" "$part"
	if [ -n "$(tail -c $((LUKS_HEADER_MIB * 1024 * 1024)) "$part" | tr -d '\0' | head -c 1)" ]; then
		fail "kernel B's image does not leave $LUKS_HEADER_MIB MiB for the LUKS header"
		return 0
	fi
	rm -rf "$tree"
	mkdir -p "$tree/cryptroot/keyfiles"
	key="$tree/cryptroot/keyfiles/$LUKS_NAME.key"
	head -c 64 /dev/urandom >"$key"
	chmod 0600 "$key"
	with_loop "$part" encrypt_in_place "$key" || {
		fail "cryptsetup could not encrypt the resume partition"
		return 0
	}
	uuid="$(cryptsetup luksUUID "$part")"
	dd if="$part" of="$1" bs=1M oflag=seek_bytes seek="$RESUME_PART_OFFSET" conv=notrunc,sparse status=none
	rm -f "$part"
	echo "$LUKS_NAME UUID=$uuid /cryptroot/keyfiles/$LUKS_NAME.key luks" >"$tree/cryptroot/crypttab"
	initrd_with_tree "$tree" "$RUN_DIR/initrd-luks.img"
	VM_INITRD="$RUN_DIR/initrd-luks.img"
	echo "  (LUKS2 volume $uuid on the resume partition, crypttab: $(cat "$tree/cryptroot/crypttab"))"
}

checks()
{
	expect "the partition holds no readable image (it is encrypted)" \
		[ "$(image_state "$S_DISK")" = unreadable ]
	expect "run 1 (init-premount) defers: the volume is not unlocked yet" \
		has "$S_LOG" "resume-agent: /dev/mapper/$LUKS_NAME is not there yet: deciding after local-top"
	expect "run 1 did not wait for the device" not has "$S_LOG" 'resume-agent: waiting up to'
	expect "cryptroot (local-top) unlocked the volume with the key file" \
		has "$S_LOG" "cryptsetup: $LUKS_NAME: set up successfully"
	expect "run 2 (local-premount) ran the agent" has "$S_LOG" 'resume-agent-boot: running /sbin/resume-agent$'
	expect_jump_to_b "/dev/mapper/$LUKS_NAME"
	expect "agent marked the one-shot image consumed before the jump" \
		has "$S_LOG" "resume-agent: marked the one-shot image on /dev/mapper/$LUKS_NAME consumed \\(synced\\)"
	expect "the encrypted partition changed (the mark went through dm-crypt)" [ "$S_SUM_BEFORE" != "$S_SUM_AFTER" ]
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	boot_again B "${PARAMS[@]}" || return 0
	expect "boot 2: cryptroot unlocked the volume again" has "$S_LOG" "cryptsetup: $LUKS_NAME: set up successfully"
	expect "boot 2: agent rejected the consumed image in the volume" \
		has "$S_LOG" "resume-agent: rejected /dev/mapper/$LUKS_NAME: image already consumed"
	expect "boot 2: no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect_normal_boot
	# (Not expect_not_stalled: under TCG on busy cores this boot alone,
	# with dm set up, can pass its 30 s; what it guards against is a
	# resume wait, checked here.)
	expect "boot 2: the agent did not wait for the device" not has "$S_LOG" 'resume-agent: waiting up to'
	expect "boot 2: initramfs-tools' own resume skipped (no second wait)" \
		has "$S_LOG" "resume-agent-boot: resume device /dev/mapper/$LUKS_NAME .*local-premount/resume skipped"
}
