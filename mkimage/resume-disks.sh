#!/bin/bash
# Build the resume disks the boot tests attach as the second virtio disk:
#
#   build/vm/resume-empty.img    GPT, one partition named "fastresume",
#                                all zeros: a machine with no saved image.
#   build/vm/resume-corrupt.img  the same with a "kernel" resume image in
#                                the partition, one payload byte flipped:
#                                the agent must reject it and boot on.
#   build/vm/resume-kernel-b.img  a one-shot kernel image: Debian's kernel
#                                with initrd-b.img (kernel-b.sh) and a
#                                command line naming it "B" (A/B swap)
#   build/vm/resume-kernel-b-reusable.img  the same, --reusable
#   build/vm/resume-segments.img a segments image of payload.elf
#   build/vm/resume-not-a-kernel.img  a kernel image whose "kernel" is 64 KiB
#                                of random bytes: kexec_file_load refuses it
#   build/vm/resume-hibernate.img  like resume-empty, 512 MiB: the test
#                                root makes the partition swap and
#                                hibernates to it with the kernel's own
#                                swsusp (an image of about 170 MiB).
#
# Usage: mkimage/resume-disks.sh [empty] [corrupt] [hibernate] [kernel-b]
#        [kernel-b-reusable] [segments] [not-a-kernel]  (default: all)
#
# Raw sparse files; nothing is mounted or loop-attached. The GUIDs are
# fixed, so PARTUUID= is known to the tests. Each disk is skipped when up
# to date. The corrupt disk needs the host tool build/release/resume-image.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd sgdisk gdisk

DISK_GUID=5eb0f3a0-0000-4000-8000-000000000001
PART_GUID=5eb0f3a0-0000-4000-8000-0000000000f1
# Where the corruption goes: past the image's header and tables, inside
# the payload (the kernel's bytes), so that only a payload check finds it.
CORRUPT_OFFSET=5000

# Big enough for a kernel hibernation image of the test VM.
HIBERNATE_DISK_MIB=512

# make_gpt_disk OUT [MIB]: a disk of MIB (default RESUME_DISK_MIB) MiB with
# partition 1 named $RESUME_PARTLABEL from RESUME_PART_FIRST_SECTOR (lib.sh) to the end.
make_gpt_disk()
{
	local out="$1" mib="${2:-$RESUME_DISK_MIB}"
	rm -f "$out"
	truncate -s "${mib}M" "$out"
	# sgdisk talks about the kernel's partition table; it has none here.
	sgdisk --clear --disk-guid="$DISK_GUID" \
		--new="1:$RESUME_PART_FIRST_SECTOR:0" --typecode=1:8300 --partition-guid="1:$PART_GUID" \
		--change-name="1:$RESUME_PARTLABEL" "$out" >/dev/null ||
		die "sgdisk failed on $out"
}

# partition_start_bytes DISK: byte offset of partition 1.
partition_start_bytes()
{
	local first
	first="$(sgdisk --info=1 "$1" | sed -n 's/^First sector: \([0-9]*\) .*/\1/p')"
	[ -n "$first" ] || die "cannot read partition 1 of $1"
	echo $((first * 512))
}

# partition_size_bytes DISK: size of partition 1.
partition_size_bytes()
{
	local sectors
	sectors="$(sgdisk --info=1 "$1" | sed -n 's/^Partition size: \([0-9]*\) sectors.*/\1/p')"
	[ -n "$sectors" ] || die "cannot read partition 1 of $1"
	echo $((sectors * 512))
}

# make_kernel_image OUT: a valid "kernel" resume image (A/B swap: the agent
# would kexec into Debian's kernel with this command line). This is the one
# place that knows the resume-image command line.
make_kernel_image()
{
	local out="$1"
	if [ ! -x "$RESUME_IMAGE_TOOL" ]; then
		die "$RESUME_IMAGE_TOOL is missing: build it first ('make build'); the corrupt-image disk needs it"
	fi
	rm -f "$out"
	"$RESUME_IMAGE_TOOL" create kernel \
		--kernel "$VM_DIR/vmlinuz" \
		--cmdline "console=ttyS0 panic=-1" \
		"$out" >&2 || die "resume-image create kernel failed"
	[ -s "$out" ] || die "resume-image wrote no image to $out"
}

# flip_byte FILE OFFSET: invert every bit of one byte in place.
flip_byte()
{
	local file="$1" offset="$2" size byte
	size="$(stat -c %s "$file")"
	[ "$offset" -lt "$size" ] || die "$file is $size bytes: no byte at offset $offset to corrupt"
	byte="$(od -An -tu1 -j "$offset" -N 1 "$file" | tr -d ' ')"
	printf '%b' "\\$(printf '%03o' $((byte ^ 0xff)))" |
		dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

# write_image DISK IMAGE: copy IMAGE to the start of partition 1.
write_image()
{
	local disk="$1" image="$2" start size isize
	start="$(partition_start_bytes "$disk")"
	size="$(partition_size_bytes "$disk")"
	isize="$(stat -c %s "$image")"
	[ "$isize" -le "$size" ] ||
		die "image $image ($isize bytes) does not fit the partition ($size bytes)"
	dd if="$image" of="$disk" bs=1M oflag=seek_bytes seek="$start" \
		conv=notrunc,sparse status=none
}

build_empty()
{
	local out="$VM_DIR/resume-empty.img"
	local key="resume-empty ${RESUME_DISK_MIB}MiB $RESUME_PARTLABEL $PART_GUID"
	if up_to_date "$out" "$key" "$MKIMAGE_DIR/resume-disks.sh"; then
		log "resume disk (empty): up to date"
		return 0
	fi
	log "resume disk (empty): building $out"
	make_gpt_disk "$out.tmp"
	mv "$out.tmp" "$out"
	mark_built "$out" "$key"
}

build_hibernate()
{
	local out="$VM_DIR/resume-hibernate.img"
	local key="resume-hibernate ${HIBERNATE_DISK_MIB}MiB $RESUME_PARTLABEL $PART_GUID"
	if up_to_date "$out" "$key" "$MKIMAGE_DIR/resume-disks.sh"; then
		log "resume disk (for hibernation): up to date"
		return 0
	fi
	log "resume disk (for hibernation): building $out"
	make_gpt_disk "$out.tmp" "$HIBERNATE_DISK_MIB"
	mv "$out.tmp" "$out"
	mark_built "$out" "$key"
}

build_corrupt()
{
	local out="$VM_DIR/resume-corrupt.img"
	local image="$VM_DIR/kernel-image.corrupt"
	local key="resume-corrupt ${RESUME_DISK_MIB}MiB $RESUME_PARTLABEL tool=$RESUME_IMAGE_TOOL offset=$CORRUPT_OFFSET"
	if up_to_date "$out" "$key" "$MKIMAGE_DIR/resume-disks.sh" \
		"$VM_DIR/vmlinuz" "$RESUME_IMAGE_TOOL"; then
		log "resume disk (corrupt image): up to date"
		return 0
	fi
	[ -e "$VM_DIR/vmlinuz" ] || die "$VM_DIR/vmlinuz is missing: run mkimage/kernel.sh first"
	log "resume disk (corrupt image): building $out"
	make_kernel_image "$image"
	flip_byte "$image" "$CORRUPT_OFFSET"
	make_gpt_disk "$out.tmp"
	write_image "$out.tmp" "$image"
	mv "$out.tmp" "$out"
	mark_built "$out" "$key"
}

# build_image_disk NAME INPUT... -- RESUME-IMAGE-ARGS...: a GPT disk
# build/vm/resume-NAME.img whose partition holds the image that
# `resume-image create ARGS` makes; rebuilt when an INPUT changes.
build_image_disk()
{
	local name="$1" out="$VM_DIR/resume-$1.img" image="$VM_DIR/image-$1.img" inputs=() key
	shift
	while [ "$1" != -- ]; do
		inputs+=("$1")
		shift
	done
	shift
	key="resume-$name ${RESUME_DISK_MIB}MiB $RESUME_PARTLABEL tool=$RESUME_IMAGE_TOOL args=$*"
	if up_to_date "$out" "$key" "$MKIMAGE_DIR/resume-disks.sh" "$RESUME_IMAGE_TOOL" "${inputs[@]}"; then
		log "resume disk ($name): up to date"
		return 0
	fi
	[ -x "$RESUME_IMAGE_TOOL" ] || die "$RESUME_IMAGE_TOOL is missing: build it first ('make build')"
	log "resume disk ($name): building $out"
	rm -f "$image"
	"$RESUME_IMAGE_TOOL" create "$@" "$image" >&2 || die "resume-image create $* failed"
	make_gpt_disk "$out.tmp"
	write_image "$out.tmp" "$image"
	rm -f "$image"
	mv "$out.tmp" "$out"
	mark_built "$out" "$key"
}

build_kernel_b()
{
	local reusable=()
	[ "$1" = reusable ] && reusable=(--reusable)
	"$MKIMAGE_DIR/kernel-b.sh"
	build_image_disk "kernel-b${reusable:+-reusable}" "$VM_DIR/vmlinuz" "$VM_DIR/initrd-b.img" -- \
		kernel --kernel "$VM_DIR/vmlinuz" --initrd "$VM_DIR/initrd-b.img" \
		--cmdline "$KERNEL_B_CMDLINE" "${reusable[@]}"
}

build_not_a_kernel()
{
	local junk="$VM_DIR/not-a-kernel.bin"
	[ -e "$junk" ] || head -c 65536 /dev/urandom >"$junk"
	build_image_disk not-a-kernel "$junk" -- \
		kernel --no-kernel-check --kernel "$junk" --cmdline "console=ttyS0"
}

mkdir -p "$VM_DIR"
[ $# -gt 0 ] || set -- empty corrupt hibernate kernel-b kernel-b-reusable segments not-a-kernel
for what in "$@"; do
	case "$what" in
	empty) build_empty ;;
	corrupt) build_corrupt ;;
	hibernate) build_hibernate ;;
	kernel-b) build_kernel_b one-shot ;;
	kernel-b-reusable) build_kernel_b reusable ;;
	segments)
		"$MKIMAGE_DIR/kernel-b.sh"
		build_image_disk segments "$VM_DIR/payload.elf" -- segments --elf "$VM_DIR/payload.elf"
		;;
	not-a-kernel) build_not_a_kernel ;;
	*) die "unknown disk '$what' (empty, corrupt, hibernate, kernel-b, kernel-b-reusable, segments, not-a-kernel)" ;;
	esac
done
