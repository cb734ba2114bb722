# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared by the mkimage/ scripts and Tests/boot/: paths, the kernel version,
# logging and the "is this output up to date" rule. Source it; it sets no
# shell options of its own (the callers use set -euo pipefail).

MKIMAGE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$MKIMAGE_DIR/.." && pwd)"
# Everything built goes here (git-ignored via /build/).
VM_DIR="${VM_DIR:-$REPO_ROOT/build/vm}"
# The agent that goes into the initramfs. The tests always use the real one
# (make static); the variable exists so a developer can point the build at
# another copy of it. Whatever is used is named in the logs.
AGENT_BINARY="${RESUME_AGENT_BINARY:-$REPO_ROOT/build/static/resume-agent}"
# The host tool that writes image files (make build).
RESUME_IMAGE_TOOL="${RESUME_IMAGE_TOOL:-$REPO_ROOT/build/release/resume-image}"

# The GPT partition name the agent's partition carries in the test disks.
RESUME_PARTLABEL=fastresume
# The root file system's label; root=LABEL=... on the kernel command line.
ROOT_LABEL=fastresume-root
# Size of the resume disks. The corrupt-image scenario writes a "kernel"
# image (Debian's bzImage, about 8 MiB, plus headers) into the partition.
RESUME_DISK_MIB=64
# The command line kernel B gets from its image: the tests read it back.
KERNEL_B_CMDLINE="console=ttyS0 panic=-1 fastresume.kernel=B"

# The resume disks' geometry, the one place the scripts and the boot tests
# take it from. GPT on 512-byte sectors: partition 1 starts at sector 2048
# (1 MiB) and runs to the last usable sector; the backup GPT (its header
# and 32 sectors of entries) takes the disk's last 33 sectors. The agent's
# resume_offset= counts 4 KiB pages from the start of the partition.
SECTOR_BYTES=512
RESUME_PART_FIRST_SECTOR=2048
RESUME_PART_OFFSET=$((RESUME_PART_FIRST_SECTOR * SECTOR_BYTES))
GPT_BACKUP_SECTORS=33
PAGE_BYTES=4096

# resume_part_bytes DISK_BYTES: the size of partition 1 on a disk that big.
resume_part_bytes()
{
	echo $((($1 / SECTOR_BYTES - GPT_BACKUP_SECTORS - RESUME_PART_FIRST_SECTOR) * SECTOR_BYTES))
}

log()
{
	echo "mkimage: $*" >&2
}

die()
{
	echo "mkimage: error: $*" >&2
	exit 1
}

# qemu_jump_guest LOG MEM KERNEL INITRD DISK APPEND: one QEMU run of the
# kexec-jump test guests (TCG, $JUMP_SMP CPUs, default 2; DISK as /dev/vda; -no-reboot: QEMU
# ends when the guest reboots or powers off), each serial line prefixed
# with the host's seconds since QEMU started, into LOG. $TIMEOUT bounds it.
# $JUMP_DISK2, when set, is a second disk (/dev/vdb). QEMU's pid is in LOG.pid
# while it runs (a test's power cut kills it).
qemu_jump_guest()
{
	local log="$1" mem="$2" kernel="$3" initrd="$4" disk="$5" append="$6" t0="$EPOCHREALTIME" t0us="${EPOCHREALTIME/./}" now
	local second=()
	[ -z "${JUMP_DISK2:-}" ] || second=(-drive "file=$JUMP_DISK2,format=raw,if=virtio")
	# One NUMA node over all of RAM: the ACPI SRAT that kmem needs to
	# online held-back memory (a confined boot kernel C).
	timeout "$TIMEOUT" nice qemu-system-x86_64 -accel tcg -smp "${JUMP_SMP:-2}" -m "$mem" -display none \
		-object "memory-backend-ram,id=m0,size=$mem" -numa node,nodeid=0,memdev=m0 \
		-monitor none -serial stdio -no-reboot -kernel "$kernel" -initrd "$initrd" -pidfile "$log.pid" \
		-append "console=ttyS0 nokaslr no_timer_check $append" \
		-drive "file=$disk,format=raw,if=virtio" "${second[@]}" </dev/null 2>&1 |
		while IFS= read -r line; do
			# Shell arithmetic in microseconds: a process per line (bc) made
			# the stamps lag seconds behind a burst of boot lines.
			now=$((${EPOCHREALTIME/./} - t0us))
			printf '%4d.%02d %s\n' $((now / 1000000)) $((now % 1000000 / 10000)) "${line%$'\r'}"
		done >"$log" || true
	log "$(basename "$log" .log): QEMU ran $(bc <<<"$EPOCHREALTIME - $t0") s"
}

# need_cmd COMMAND PACKAGE: fail with the Debian package to install.
need_cmd()
{
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: apt-get install $2"
}

# The kernel to boot: $KVER if set, else the newest /boot/vmlinuz-* that
# has its modules in /lib/modules (mkinitramfs needs both). Never hard-coded:
# Debian's linux-image-amd64 moves on with every point release.
detect_kver()
{
	local v best=""
	if [ -n "${KVER:-}" ]; then
		[ -e "/boot/vmlinuz-$KVER" ] || die "KVER=$KVER: /boot/vmlinuz-$KVER does not exist"
		[ -d "/lib/modules/$KVER" ] || die "KVER=$KVER: /lib/modules/$KVER does not exist"
		echo "$KVER"
		return 0
	fi
	for v in $(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null |
		sed 's/^vmlinuz-//' | sort -V); do
		if [ -e "/lib/modules/$v/modules.dep" ] && [ -e "/boot/config-$v" ]; then
			best="$v"
		fi
	done
	[ -n "$best" ] ||
		die "no /boot/vmlinuz-* with modules in /lib/modules: apt-get install linux-image-amd64"
	echo "$best"
}

# up_to_date OUTPUT KEY INPUT...: true when OUTPUT exists, no INPUT is newer
# than it, and OUTPUT.stamp holds KEY. The key carries what an mtime cannot
# show: dpkg keeps the package's mtimes, so a newly installed kernel can be
# "older" than our copy of the last one; the key names the kernel version
# and the input paths, so a different kernel or agent path rebuilds.
up_to_date()
{
	local out="$1" key="$2" in
	shift 2
	[ -e "$out" ] && [ -e "$out.stamp" ] || return 1
	[ "$(cat "$out.stamp")" = "$key" ] || return 1
	for in in "$@"; do
		[ -e "$in" ] || return 1
		[ "$in" -nt "$out" ] && return 1
	done
	return 0
}

# mark_built OUTPUT KEY: record the key after OUTPUT was (re)built.
mark_built()
{
	printf '%s\n' "$2" >"$1.stamp"
}
