#!/bin/bash
# dracut module 90fastresume: put the fast-resume agent into the initramfs
# and run it from the pre-mount hook.
#
# Installed as /usr/lib/dracut/modules.d/90fastresume/ by the Debian
# package. dracut sources this file and calls check, depends and install.
#
# Why pre-mount: in dracut's own init (and in its systemd flavour, through
# dracut-pre-mount.service) the pre-mount hooks run after udev has been
# triggered and the initqueue has settled (storage drivers loaded, the
# root device and stacked devices such as LVM and dm-crypt assembled), and
# before /sysroot is mounted. That is the rule the agent needs: block
# devices present, nothing of the machine mounted before it decides.
# (dracut's 95resume asks the kernel to resume its own swsusp images as
# soon as the resume= device appears, from a udev rule in the initqueue;
# the agent leaves kernel-native images to it.)
#
# RESUME_AGENT_BINARY names the binary to copy (the tests use it); the
# default is the package's /usr/sbin/resume-agent, else initramfs/install.sh's
# /usr/local/sbin/resume-agent.

agent_binary()
{
	local b
	if [[ -n ${RESUME_AGENT_BINARY-} ]]; then
		echo "$RESUME_AGENT_BINARY"
		return 0
	fi
	for b in /usr/local/sbin/resume-agent /usr/sbin/resume-agent; do
		if [[ -f $b && -x $b ]]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# called by dracut
check()
{
	# Without the binary there is nothing to include; dracut then leaves
	# the module out instead of failing the build (the package removed,
	# the module left behind).
	local b
	b="$(agent_binary)" || return 1
	[[ -f $b && -x $b ]] || return 1
	return 0
}

# called by dracut
depends()
{
	return 0
}

# called by dracut
install()
{
	local b
	b="$(agent_binary)" || {
		derror "90fastresume: no resume-agent binary"
		return 1
	}
	inst_simple "$b" /sbin/resume-agent
	# Memory held back at boot (memmap=SIZE%START-1+0xefffffff): dax_hmem
	# makes a dax device of it, kmem adds it as memory blocks (the agent
	# loads both itself, with finit_module, from the initramfs'
	# modules.dep); device_dax is what udev binds first. As the
	# initramfs-tools hook adds them.
	instmods dax_hmem kmem device_dax
	ln_r /sbin/resume-agent /sbin/resume-probe
	# The public keys images must be signed with, as the initramfs-tools
	# hook copies them: with any in the initramfs, the agent restores only
	# images one of them signed (without them it would take any image).
	local key
	for key in "${RESUME_AGENT_KEYS_DIR:-/etc/fastresume/keys}"/*.pub; do
		[[ -f $key ]] || continue
		inst_simple "$key" "/etc/fastresume/keys/${key##*/}"
	done
	# shellcheck disable=SC2154 # moddir: set by dracut
	inst_hook pre-mount 05 "$moddir/fastresume-pre-mount.sh"
}
