# a kernel image on an LVM logical volume (resume=/dev/mapper/VG-LV, as
# Debian's installer names LVM swap), made by the host's lvm2 on the
# resume partition: the test initramfs carries lvm2's own hook, whose udev
# rules (69-lvm.rules) activate the volume group as soon as its PV shows
# up, during udev's coldplug, so the agent's first run (init-premount)
# already finds the image there and jumps to kernel B; the next boot finds
# it consumed (on the volume's extents) and boots normally
NEEDS=(resume-jumps)
PARAMS=("resume=/dev/mapper/fastresume-image" "resume_agent.wait=20")

LVM_VG=fastresume
LVM_LV=image
LVM_LV_MIB=44
# Where the volume's first extent lies in the partition (bytes), from lvm.
LV_OFFSET=""

# lvm_on_loop ARGS...: the host's lvm on LOOP_DEV only (--devices), with no
# device-mapper (--driverloaded n: metadata only, nothing activated; the
# build machine needs no dm) and no metadata backups in the host's /etc/lvm.
lvm_on_loop()
{
	local cmd="$1" out
	shift
	out="$(lvm "$cmd" --devices "$LOOP_DEV" --driverloaded n \
		--config 'backup { backup = 0 archive = 0 } global { use_lvmpolld = 0 }' "$@" 2>&1)" || {
		echo "$out" >&2
		return 1
	}
}

# make_volume_group: a PV on the partition (LOOP_DEV), VG fastresume with
# one linear LV "image"; sets LV_OFFSET.
make_volume_group()
{
	local pe_start extent ranges first
	lvm_on_loop pvcreate -q "$LOOP_DEV" &&
		lvm_on_loop vgcreate -q "$LVM_VG" "$LOOP_DEV" &&
		lvm_on_loop lvcreate -q -an -Zn -n "$LVM_LV" -L "${LVM_LV_MIB}M" "$LVM_VG" || return 1
	pe_start="$(lvm pvs --devices "$LOOP_DEV" --noheadings --nosuffix --units b -o pe_start "$LOOP_DEV" 2>/dev/null | tr -d ' ')"
	extent="$(lvm vgs --devices "$LOOP_DEV" --noheadings --nosuffix --units b -o vg_extent_size "$LVM_VG" 2>/dev/null | tr -d ' ')"
	ranges="$(lvm lvs --devices "$LOOP_DEV" --noheadings -o seg_pe_ranges "$LVM_VG/$LVM_LV" 2>/dev/null | tr -d ' ')"
	# One linear segment: "/dev/loopN:FIRST-LAST".
	first="$(sed -nE 's/^[^:]+:([0-9]+)-[0-9]+$/\1/p' <<<"$ranges")"
	[ -n "$pe_start" ] && [ -n "$extent" ] && [ -n "$first" ] || {
		fail "could not read the volume's place from lvm (pe_start=$pe_start extent=$extent ranges=$ranges)"
		return 1
	}
	LV_OFFSET=$((pe_start + first * extent))
}

prepare_disk()
{
	local part="$RUN_DIR/lvm.part" image="$RUN_DIR/lvm.image"
	make_resume_disk "$1" "$RESUME_DISK_MIB"
	truncate -s 0 "$part"
	truncate -s "$(resume_part_bytes $((RESUME_DISK_MIB * 1024 * 1024)))" "$part"
	with_loop "$part" make_volume_group || {
		fail "could not make the LVM volume group on the resume partition"
		return 0
	}
	# The volume's first LVM_LV_MIB MiB: kernel B's image (about 40 MB) and
	# the zeros after it, from the resume-jumps disk's partition.
	partition_image "$VM_DIR/resume-kernel-b.img" "$image"
	dd if="$image" of="$part" bs=1M count="$LVM_LV_MIB" oflag=seek_bytes seek="$LV_OFFSET" conv=notrunc status=none
	dd if="$part" of="$1" bs=1M oflag=seek_bytes seek="$RESUME_PART_OFFSET" conv=notrunc,sparse status=none
	rm -f "$part" "$image"
	echo "  (LVM: PV on the resume partition, $LVM_VG/$LVM_LV of $LVM_LV_MIB MiB at byte $LV_OFFSET of it)"
}

checks()
{
	expect "the partition itself holds no image (an LVM physical volume)" \
		[ "$(image_state "$S_DISK")" = unreadable ]
	expect "run 1 (init-premount) did not defer: udev had activated the volume" \
		not has "$S_LOG" 'resume-agent: .* is not there yet: deciding after local-top'
	expect "run 1 found the image on the volume" \
		has "$S_LOG" 'resume-agent: found kernel image on /dev/mapper/fastresume-image: [0-9]+ bytes'
	expect_jump_to_b /dev/mapper/fastresume-image
	expect "agent marked the one-shot image consumed before the jump" \
		has "$S_LOG" 'resume-agent: marked the one-shot image on /dev/mapper/fastresume-image consumed \(synced\)'
	expect "the image on the volume's extents now reads as consumed" \
		[ "$(image_state "$S_DISK" "$LV_OFFSET")" = consumed ]
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	boot_again B "${PARAMS[@]}" || return 0
	expect "boot 2: agent rejected the consumed image on the volume" \
		has "$S_LOG" 'resume-agent: rejected /dev/mapper/fastresume-image: image already consumed'
	expect "boot 2: no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect_normal_boot
	# (Not expect_not_stalled: under TCG on busy cores this boot alone,
	# with dm set up, can pass its 30 s; what it guards against is a
	# resume wait, checked here.)
	expect "boot 2: the agent did not wait for the device" not has "$S_LOG" 'resume-agent: waiting up to'
	expect "boot 2: initramfs-tools' own resume skipped (no second wait)" \
		has "$S_LOG" "resume-agent-boot: resume device /dev/mapper/fastresume-image .*local-premount/resume skipped"
}
