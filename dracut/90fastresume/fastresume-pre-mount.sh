#!/bin/sh
# dracut pre-mount hook (90fastresume): run the fast-resume agent.
#
# dracut sources hooks in its init (no subshell): this file defines
# functions and calls them, never exits, and leaves no variables behind.
# Policy, as in initramfs-tools' init-premount/resume-agent: never lose a
# boot. Exit 0 from the agent means it brought the memory online and the
# boot goes on; anything else (a crash, a missing binary) makes this hook
# bring every offline memory block online itself, log it, and go on.

fastresume_klog()
{
	# <3>: err, shown even with "quiet"; <6>: info.
	if ! { echo "<$1>resume-agent-boot: $2" >/dev/kmsg; } 2>/dev/null; then
		echo "resume-agent-boot: $2" >&2
	fi
}

fastresume_online_all_memory()
{
	_fr_on=0
	_fr_failed=0
	for _fr_state in /sys/devices/system/memory/memory*/state; do
		[ -e "$_fr_state" ] || continue
		read -r _fr_cur <"$_fr_state" || continue
		[ "$_fr_cur" = offline ] || continue
		if { echo online >"$_fr_state"; } 2>/dev/null; then
			_fr_on=$((_fr_on + 1))
		else
			_fr_failed=$((_fr_failed + 1))
		fi
	done
	if [ $((_fr_on + _fr_failed)) -gt 0 ]; then
		fastresume_klog 3 "fallback: onlined ${_fr_on} memory blocks, ${_fr_failed} failed"
	fi
	unset _fr_on _fr_failed _fr_state _fr_cur
}

fastresume_run()
{
	_fr_agent=/sbin/resume-agent
	if [ ! -x "$_fr_agent" ]; then
		fastresume_klog 3 "${_fr_agent} is missing; bringing memory online and booting on"
	elif [ "${RESUME_AGENT_RAN:-}" = 1 ]; then
		# rdinit=/sbin/resume-agent: it ran as PID 1 before /init.
		fastresume_klog 6 "the agent already ran as PID 1; not running it again"
	else
		fastresume_klog 6 "running ${_fr_agent} (dracut pre-mount)"
		# See init-premount/resume-agent: the Swift runtime's hash seed
		# would otherwise wait for the kernel's CRNG this early.
		SWIFT_DETERMINISTIC_HASHING=1 "$_fr_agent"
		_fr_rc=$?
		if [ "$_fr_rc" -ne 0 ]; then
			fastresume_klog 3 "${_fr_agent} failed (exit status ${_fr_rc}); bringing memory online and booting on"
		fi
	fi
	# After a failure or a dry run blocks are still offline; normally
	# this finds nothing to do.
	fastresume_online_all_memory
	unset _fr_agent _fr_rc
}

fastresume_run
unset -f fastresume_run fastresume_online_all_memory fastresume_klog
