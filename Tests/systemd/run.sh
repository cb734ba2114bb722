#!/bin/bash
# Tests of systemd/fastresume-hibernate, the command the
# systemd-hibernate.service drop-in runs: each case writes a configuration
# file, runs the script with --print (the command line it would exec) or
# with a fake resume-image (what it really execs), and checks the output
# and exit status. Also checks the drop-in itself (ExecStart= cleared, then
# the script) and, when systemd-analyze is there, that systemd parses it.
# No root, no systemd needed. Last line: "N passed, N failed".
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
script="$repo/systemd/fastresume-hibernate"
dropin="$repo/systemd/systemd-hibernate.service.d/fastresume.conf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

# expect NAME STATUS EXPECTED_STDOUT STDERR_ERE CONFIG_TEXT [ARGS...]
expect()
{
	local name="$1" want_rc="$2" want_out="$3" want_err="$4" text="$5"
	shift 5
	printf '%s' "$text" >"$work/hibernate.conf"
	local out rc=0
	out="$(FASTRESUME_RESUME_IMAGE=/usr/bin/resume-image "$script" --config "$work/hibernate.conf" "$@" 2>"$work/err")" || rc=$?
	if [ "$rc" != "$want_rc" ]; then
		bad "$name: exit status $rc, expected $want_rc ($(cat "$work/err"))"
	elif [ "$out" != "$want_out" ]; then
		bad "$name: printed [$out], expected [$want_out]"
	elif [ -n "$want_err" ] && ! grep -Eq -- "$want_err" "$work/err"; then
		bad "$name: stderr [$(cat "$work/err")] lacks /$want_err/"
	else
		ok "$name"
	fi
}

: >"$work/key.pem"

expect "shipped config (all commented): refused, TARGET not set" 2 "" "TARGET is not set" \
	"$(cat "$repo/systemd/hibernate.conf")" --print
expect "TARGET only" 0 "/usr/bin/resume-image capture -- PARTLABEL=fastresume" "" \
	"TARGET=PARTLABEL=fastresume
" --print
expect "every key, quoted values, blanks and comments" 0 \
	"/usr/bin/resume-image capture --image-size 0 --sign $work/key.pem -- /dev/disk/by-partlabel/fastresume" "" \
	"# a comment
  TARGET = \"/dev/disk/by-partlabel/fastresume\"

IMAGE_SIZE='0'
	SIGNING_KEY=$work/key.pem" --print
expect "no SIGNING_KEY: no --sign" 0 "/usr/bin/resume-image capture --image-size 512 -- UUID=1234-abcd" "" \
	"TARGET=UUID=1234-abcd
IMAGE_SIZE=512
SIGNING_KEY=
" --print
expect "a value with a space is quoted in --print" 0 "/usr/bin/resume-image capture -- 'LABEL=my swap'" "" \
	"TARGET='LABEL=my swap'
" --print
expect "the last of two TARGET lines wins" 0 "/usr/bin/resume-image capture -- /dev/vdb2" "" \
	"TARGET=/dev/vdb1
TARGET=/dev/vdb2
" --print
expect "unknown key" 2 "" "unknown key 'TARGETS'" "TARGETS=/dev/vdb1
" --print
expect "not KEY=VALUE" 2 "" "2: not KEY=VALUE" "TARGET=/dev/vdb1
export FOO
" --print
expect "IMAGE_SIZE not a number" 2 "" "IMAGE_SIZE=1G is not a number" "TARGET=/dev/vdb1
IMAGE_SIZE=1G
" --print
expect "TARGET not a device" 2 "" "TARGET=swapfile is not" "TARGET=swapfile
" --print
expect "unreadable SIGNING_KEY" 2 "" "SIGNING_KEY=/nonexistent/key is not a readable file" "TARGET=/dev/vdb1
SIGNING_KEY=/nonexistent/key
" --print
expect "unbalanced quote" 2 "" "unbalanced quote in TARGET" "TARGET=\"/dev/vdb1
" --print
expect "nothing is expanded" 0 "/usr/bin/resume-image capture -- '/dev/\$(reboot)'" "" \
	"TARGET=/dev/\$(reboot)
" --print
expect "unknown argument" 2 "" "unknown argument: --now" "TARGET=/dev/vdb1
" --now

# Without --print it execs resume-image with exactly these arguments.
cat >"$work/fake-resume-image" <<'FAKE'
#!/bin/sh
for a in "$@"; do printf '<%s>' "$a"; done
echo
exit 7
FAKE
chmod +x "$work/fake-resume-image"
printf 'TARGET=LABEL=my swap\nIMAGE_SIZE=64\nSIGNING_KEY=%s\n' "$work/key.pem" >"$work/exec.conf"
rc=0
out="$(FASTRESUME_HIBERNATE_CONF="$work/exec.conf" FASTRESUME_RESUME_IMAGE="$work/fake-resume-image" "$script" 2>/dev/null)" || rc=$?
if [ "$rc" = 7 ] && [ "$out" = "<capture><--image-size><64><--sign><$work/key.pem><--><LABEL=my swap>" ]; then
	ok "execs resume-image with the arguments, passes its exit status on"
else
	bad "exec: status $rc, got [$out]"
fi

# The drop-in: ExecStart= cleared first, then the script, once.
if grep -qx 'ExecStart=' "$dropin" &&
	[ "$(grep -c '^ExecStart=/usr/libexec/fastresume/fastresume-hibernate$' "$dropin")" = 1 ] &&
	[ "$(grep -n '^ExecStart=' "$dropin" | head -n1 | cut -d: -f2-)" = "ExecStart=" ]; then
	ok "drop-in clears ExecStart= and then runs fastresume-hibernate"
else
	bad "drop-in ExecStart lines"
fi

# systemd's own parser, when there is one: a copy of the unit with the
# drop-in, checked by systemd-analyze verify (it reports unknown keys and
# bad syntax in the drop-in; missing programs in this tree are expected).
if command -v systemd-analyze >/dev/null 2>&1 && [ -f /usr/lib/systemd/system/systemd-hibernate.service ]; then
	mkdir -p "$work/units/systemd-hibernate.service.d"
	cp /usr/lib/systemd/system/systemd-hibernate.service "$work/units/"
	cp "$dropin" "$work/units/systemd-hibernate.service.d/"
	SYSTEMD_LOG_LEVEL=warning SYSTEMD_UNIT_PATH="$work/units:" \
		systemd-analyze verify --man=no "$work/units/systemd-hibernate.service" >"$work/verify" 2>&1 || true
	if grep -Ei 'fastresume\.conf|Unknown (key|section)|parse|Invalid' "$work/verify" | grep -v 'is not executable\|No such file' >"$work/verify.bad"; [ -s "$work/verify.bad" ]; then
		bad "systemd-analyze verify: $(cat "$work/verify.bad")"
	else
		ok "systemd-analyze verify accepts the drop-in"
	fi
else
	echo "SKIP: systemd-analyze or systemd-hibernate.service not on this machine"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
