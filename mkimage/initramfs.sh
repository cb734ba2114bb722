#!/bin/bash
# Build build/vm/initrd.img with Debian's real mkinitramfs (initramfs-tools)
# from a private config dir, so the test initramfs is made exactly the way
# an installed system's is, with our hook and boot script, and without
# touching /etc/initramfs-tools. Skipped when up to date.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd mkinitramfs initramfs-tools
need_cmd lsinitramfs initramfs-tools-core
need_cmd zstd zstd
# The stacked-device scenarios (LVM, LUKS) need the packages' own
# initramfs-tools hooks: lvm2's puts lvm, its udev rules and dm_mod in;
# cryptsetup-initramfs's puts cryptsetup, dm_crypt, the ciphers and
# local-top/cryptroot in. mkinitramfs runs every hook installed in
# /usr/share/initramfs-tools/hooks, as on a machine that has them.
need_cmd lvm lvm2
[ -e /usr/share/initramfs-tools/hooks/cryptroot ] || die "no cryptroot hook: apt-get install cryptsetup-initramfs"

kver="$(detect_kver)"
out="$VM_DIR/initrd.img"
conf="$VM_DIR/initramfs-conf"
hook="$REPO_ROOT/initramfs/hooks/resume-agent"
script="$REPO_ROOT/initramfs/scripts/init-premount/resume-agent"

if [ ! -f "$AGENT_BINARY" ] || [ ! -x "$AGENT_BINARY" ]; then
	die "agent binary $AGENT_BINARY is missing: build it first with 'make static'"
fi

key="initramfs $kver agent=$AGENT_BINARY"
inputs=(
	"$MKIMAGE_DIR/initramfs.sh"
	"$MKIMAGE_DIR/initramfs-conf/initramfs.conf"
	"$MKIMAGE_DIR/initramfs-conf/modules"
	"$MKIMAGE_DIR/initramfs-conf/hooks/zz-test-no-host-resume"
	"$hook" "$script" "$AGENT_BINARY"
	"/boot/config-$kver" "/lib/modules/$kver/modules.dep"
	/usr/share/initramfs-tools/hooks/lvm2 /usr/share/initramfs-tools/hooks/cryptroot
)

mkdir -p "$VM_DIR"
if up_to_date "$out" "$key" "${inputs[@]}"; then
	log "initramfs $kver: up to date"
	exit 0
fi

log "initramfs $kver: building with mkinitramfs -d $conf (agent: $AGENT_BINARY)"
# The private config dir: what /etc/initramfs-tools holds on a machine
# where initramfs/install.sh has run, plus our initramfs.conf and modules.
rm -rf "$conf"
mkdir -p "$conf/hooks" "$conf/scripts/init-premount" "$conf/scripts/local-premount" "$conf/scripts/init-bottom" "$conf/conf.d"
cp "$MKIMAGE_DIR/initramfs-conf/initramfs.conf" "$MKIMAGE_DIR/initramfs-conf/modules" "$conf/"
install -m 0755 "$hook" "$conf/hooks/resume-agent"
install -m 0755 "$MKIMAGE_DIR/initramfs-conf/hooks/zz-test-no-host-resume" "$conf/hooks/"
install -m 0755 "$script" "$conf/scripts/init-premount/resume-agent"
install -m 0755 "$script" "$conf/scripts/local-premount/fastresume"
install -m 0755 "$script" "$conf/scripts/init-bottom/fastresume"

# mkinitramfs works in $TMPDIR (default /var/tmp); keep it inside build/.
mkdir -p "$VM_DIR/tmp"
rm -f "$out.tmp"
TMPDIR="$VM_DIR/tmp" RESUME_AGENT_BINARY="$AGENT_BINARY" \
	mkinitramfs -d "$conf" -o "$out.tmp" "$kver" ||
	die "mkinitramfs failed (see above)"

# Check that the pieces the boot depends on are really in it.
listing="$(lsinitramfs "$out.tmp")"
for want in usr/sbin/resume-agent usr/sbin/resume-probe \
	scripts/init-premount/resume-agent scripts/local-premount/fastresume \
	scripts/init-bottom/fastresume conf/resume-agent-exit-codes conf/modules; do
	grep -qx "$want" <<<"$listing" || die "initramfs lacks $want"
done
for mod in virtio_pci virtio_blk ext4 dm-mod dm-crypt; do
	grep -q "/${mod}\.ko\$" <<<"$listing" || die "initramfs lacks the $mod module"
done
for want in 'sbin/lvm$' 'sbin/cryptsetup$' '^scripts/local-top/cryptroot$' 'udev/rules.d/69-lvm.rules$'; do
	grep -Eq "$want" <<<"$listing" || die "initramfs lacks $want (lvm2, cryptsetup-initramfs)"
done

# The second run must come before initramfs-tools' own resume.
unpacked="$VM_DIR/tmp/initramfs-unpacked"
rm -rf "$unpacked"
unmkinitramfs "$out.tmp" "$unpacked" || die "unmkinitramfs failed"
order="$(find "$unpacked" -path '*/scripts/local-premount/ORDER' -exec cat {} + | tr '\n' ' ')"
rm -rf "$unpacked"
case "$order" in
*fastresume*resume*) ;;
*) die "local-premount/fastresume does not run before local-premount/resume (ORDER: $order)" ;;
esac

mv "$out.tmp" "$out"
mark_built "$out" "$key"
log "initramfs $kver: $(du -h "$out" | cut -f1) written to $out"
