#!/bin/bash
# timed.sh NAME COMMAND...: run COMMAND; then print, and append to
# build/vm/logs/step-timings.txt, how long it took (wall seconds) and
# whether it passed. Exits with COMMAND's status. (make deb-check's steps.)
set -uo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -ge 2 ] || die "usage: mkimage/timed.sh NAME COMMAND..."
name="$1"
shift
t0="$(date +%s.%N)"
"$@"
rc=$?
wall="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')"
mkdir -p "$VM_DIR/logs"
line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $name ${wall}s $([ "$rc" -eq 0 ] && echo ok || echo "FAILED ($rc)") load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "step time: $line"
echo "$line" >>"$VM_DIR/logs/step-timings.txt"
exit "$rc"
