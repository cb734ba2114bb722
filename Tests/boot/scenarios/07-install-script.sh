# no boot: initramfs/install.sh --root installs, re-installs and
# uninstalls; the installed config dir builds an initramfs with the agent

# run: instead of a boot, install.sh into a scratch root, twice, then out
# again; and the config dir it installed is one mkinitramfs builds from.
run()
{
	local root="$RUN_DIR/install-root" out="$LOG_DIR/install-script.log"
	local installer="$REPO_ROOT/initramfs/install.sh" conf listing
	local files=(usr/local/sbin/resume-agent etc/initramfs-tools/hooks/resume-agent
		etc/initramfs-tools/scripts/init-premount/resume-agent
		etc/initramfs-tools/scripts/local-premount/fastresume
		etc/initramfs-tools/scripts/init-bottom/fastresume)
	echo
	echo "--- install-script: initramfs/install.sh --root $root (output: $out)"
	rm -rf "$root" "$out"
	mkdir -p "$root"
	expect "install.sh --root installs" run_logged "$out" "$installer" --root "$root" --binary "$AGENT_BINARY"
	expect "the binary, hook and boot script (three stages) are installed, mode 0755" installed_755 "$root" "${files[@]}"
	expect "the installed files are the repository's" \
		cmp -s "$root/${files[2]}" "$REPO_ROOT/initramfs/scripts/init-premount/resume-agent"
	expect "installing again succeeds (idempotent)" run_logged "$out" "$installer" --root "$root" --binary "$AGENT_BINARY"
	expect "and leaves the same files" installed_755 "$root" "${files[@]}"
	# What a machine has: its initramfs.conf next to the installed hook
	# and script (the test one, to keep this quick).
	conf="$root/etc/initramfs-tools"
	cp "$MKIMAGE_DIR/initramfs-conf/initramfs.conf" "$MKIMAGE_DIR/initramfs-conf/modules" "$conf/"
	mkdir -p "$RUN_DIR/tmp"
	expect "mkinitramfs -d <installed config dir> builds" run_logged "$out" \
		env TMPDIR="$RUN_DIR/tmp" RESUME_AGENT_BINARY="$root/usr/local/sbin/resume-agent" \
		mkinitramfs -d "$conf" -o "$RUN_DIR/install-initrd.img" "$(cat "$VM_DIR/kver")"
	listing="$(lsinitramfs "$RUN_DIR/install-initrd.img" 2>/dev/null || true)"
	expect "that initramfs has /sbin/resume-agent, the resume-probe link and the boot script" \
		lists_all "$listing" usr/sbin/resume-agent usr/sbin/resume-probe scripts/init-premount/resume-agent \
		scripts/local-premount/fastresume scripts/init-bottom/fastresume
	rm -f "$conf/initramfs.conf" "$conf/modules"
	expect "install.sh --uninstall succeeds" run_logged "$out" "$installer" --root "$root" --uninstall
	expect "and removes all five files" none_exist "$root" "${files[@]}"
}

# run_logged LOG CMD...: run CMD with its output appended to LOG.
run_logged()
{
	local log="$1"
	shift
	echo "+ $*" >>"$log"
	"$@" >>"$log" 2>&1
}

# installed_755 ROOT PATH...: every ROOT/PATH is a regular file, mode 755.
installed_755()
{
	local root="$1" f
	shift
	for f in "$@"; do
		[ -f "$root/$f" ] && [ "$(stat -c %a "$root/$f")" = 755 ] || return 1
	done
}

# none_exist ROOT PATH...
none_exist()
{
	local root="$1" f
	shift
	for f in "$@"; do
		[ ! -e "$root/$f" ] || return 1
	done
}

# lists_all LISTING PATH...: every PATH is a line of LISTING.
lists_all()
{
	local listing="$1" f
	shift
	for f in "$@"; do
		grep -qx "$f" <<<"$listing" || return 1
	done
}
