#!/usr/bin/env bash
# resume-image as a person uses it, on Debian's real kernel and initrd:
# create, inspect, verify, extract (byte-for-byte round trip), corruption,
# invalidate, and the exit codes (0 valid, 1 invalid with a reason, 2 usage).
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
tool=${RESUME_IMAGE_TOOL:-build/release/resume-image}
work=build/cli
rm -rf "$work"
mkdir -p "$work"
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -n1)
initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
passed=0 failed=0
check() {
	local what="$1"
	shift
	if "$@" >"$work/out" 2>"$work/err"; then
		echo "ok    $what"
		passed=$((passed + 1))
	else
		echo "FAIL  $what"
		sed 's/^/      | /' "$work/out" "$work/err" | tail -n 5
		failed=$((failed + 1))
	fi
}
# status N CMD...: CMD exits with N.
status() {
	local want="$1" rc=0
	shift
	"$@" >"$work/status.out" 2>"$work/status.err" || rc=$?
	[ "$rc" -eq "$want" ]
}
# fails_with ERE CMD...: CMD exits 1 and says why in one line matching ERE.
fails_with() {
	local re="$1"
	shift
	status 1 "$@" && [ "$(wc -l <"$work/status.err")" -eq 1 ] && grep -Eq -- "$re" "$work/status.err"
}

[ -x "$tool" ] || { echo "FAIL  $tool is missing (make build)"; echo "0 passed, 1 failed"; exit 1; }
[ -e "$initrd" ] || { echo "FAIL  $initrd is missing"; echo "0 passed, 1 failed"; exit 1; }

img="$work/kernel.img"
check "create kernel from $kernel and its initrd" \
	"$tool" create kernel --kernel "$kernel" --initrd "$initrd" --cmdline "console=ttyS0 root=/dev/vda ro" "$img"
check "inspect shows the kernel's version and three entries" \
	sh -c "'$tool' inspect '$img' | grep -q 'kernel version: ${kernel#/boot/vmlinuz-}' && '$tool' inspect '$img' | grep -q '2: cmdline'"
check "inspect --json is JSON" sh -c "'$tool' inspect --json '$img' | python3 -c 'import json,sys; json.load(sys.stdin)'"
check "verify accepts it (exit 0)" status 0 "$tool" verify "$img"
for e in kernel initrd; do
	src=$kernel
	[ "$e" = initrd ] && src=$initrd
	check "extract --entry $e round-trips byte for byte" \
		sh -c "'$tool' extract --entry $e -o '$work/$e.out' '$img' && cmp '$work/$e.out' '$src'"
done
check "extract --entry cmdline gives the command line" \
	sh -c "'$tool' extract --entry cmdline -o '$work/cmdline.out' '$img' && [ \"\$(cat '$work/cmdline.out')\" = 'console=ttyS0 root=/dev/vda ro' ]"

# Flipping a byte of the header, the table and the payload: verify exits 1, one line.
size=$(stat -c %s "$img")
table=$("$tool" inspect --json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"] + 4096)')
for where in 0:magic 48:header 300:header $((4096 + 1000)):payload $((size / 2)):payload $((table + 7)):table $((size - 1)):table; do
	off=${where%%:*}
	cp "$img" "$work/bad.img"
	python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^1]))" "$work/bad.img" "$off"
	check "a flipped ${where#*:} byte at $off: verify exits 1 with one line" \
		fails_with '^resume-image: ' "$tool" verify "$work/bad.img"
done
head -c $((size - 100)) "$img" >"$work/short.img"
check "a truncated image: exit 1, 'truncated'" fails_with truncated "$tool" verify "$work/short.img"
check "invalidate marks it consumed" sh -c "'$tool' invalidate '$img' | grep -q 'marked consumed'"
check "verify of a consumed image: exit 1, says consumed" fails_with consumed "$tool" verify "$img"
check "a missing argument: exit 2" status 2 "$tool" verify
check "an unknown option: exit 2" status 2 "$tool" verify --bogus "$img"
check "--help: exit 0" status 0 "$tool" create kernel --help
check "a file that is not a kernel: refused with the reason" fails_with 'not a bzImage' "$tool" create kernel --kernel /etc/os-release "$work/x.img"
as --64 -o "$work/p.o" mkimage/payload/serial-marker.S &&
	ld -T mkimage/payload/payload.ld -nostdlib -static -z max-page-size=4096 -o "$work/p.elf" "$work/p.o"
check "a segments image from an ELF verifies" sh -c "'$tool' create segments --elf '$work/p.elf' '$work/seg.img' && '$tool' verify '$work/seg.img'"
check "a non-ELF for segments: refused" fails_with 'not a usable ELF' "$tool" create segments --elf /etc/os-release "$work/y.img"

# Signed images (format 1.1): keygen, create --sign, inspect shows the key
# id, verify --key accepts the signer only.
check "keygen writes a secret key (mode 600) and a .pub" \
	sh -c "'$tool' keygen '$work/key' >'$work/keygen.out' && [ \"\$(stat -c %a '$work/key')\" = 600 ] && grep -q '^fastresume-ed25519-public-key [0-9a-f]\{64\}\$' '$work/key.pub'"
check "keygen refuses to overwrite a key" fails_with 'exists \(use --force' "$tool" keygen "$work/key"
"$tool" keygen "$work/other" >/dev/null
keyid=$(sed -n 's/.*key id \([0-9a-f]\{16\}\).*/\1/p' "$work/keygen.out")
check "create --sign signs the image" \
	sh -c "'$tool' create kernel --sign '$work/key' --kernel '$kernel' --initrd '$initrd' '$work/signed.img' | grep -q 'signed by key $keyid'"
check "inspect shows the key id" sh -c "'$tool' inspect '$work/signed.img' | grep -q 'signature:   Ed25519, key $keyid'"
check "inspect --json shows the key id, chunk hash and version" \
	sh -c "'$tool' inspect --json '$work/signed.img' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"signature_key_id\"]==\"$keyid\" and d[\"chunk_hash\"]==\"BLAKE2b-128\" and d[\"format_version\"]==\"1.1\", d'"
check "inspect of an unsigned image says none" sh -c "'$tool' inspect '$work/seg.img' | grep -q 'signature:   none'"
check "verify --key accepts the signed image" sh -c "'$tool' verify --key '$work/key.pub' '$work/signed.img' | grep -q 'signed by key $keyid'"
check "verify --key with either of two keys accepts it" status 0 "$tool" verify --key "$work/other.pub" --key "$work/key.pub" "$work/signed.img"
check "verify --key with another key: exit 1, names the key" \
	fails_with "signed by key $keyid, which is not trusted" "$tool" verify --key "$work/other.pub" "$work/signed.img"
check "verify --key with an unsigned image: exit 1, not signed" fails_with 'is not signed' "$tool" verify --key "$work/key.pub" "$work/seg.img"
check "verify --key given a secret key file: exit 1, says so" fails_with 'not a fastresume public key' "$tool" verify --key "$work/key" "$work/signed.img"
check "create --sign with a public key file: exit 1, says so" \
	fails_with 'not a fastresume secret key' "$tool" create kernel --sign "$work/key.pub" --kernel "$kernel" "$work/z.img"
check "a format 1.0 image (pinned fixture) still verifies" status 0 "$tool" verify Tests/ResumeCoreTests/Fixtures/kernel.img

# Peak memory is bounded by bytes in flight, not chunks: at the largest
# chunk size (4 MiB) verify, inspect and extract stay under 32 MiB.
head -c $((48 << 20)) /dev/urandom >"$work/big.bin"
"$tool" create kernel --no-kernel-check --chunk-size 4194304 --kernel "$work/big.bin" "$work/big.img" >/dev/null
# The peak resident memory (VmHWM, KiB) of a command, from its rusage.
cat >"$work/peak.py" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
for cmd in "verify" "inspect" "extract --entry kernel -o $work/big.out"; do
	check "${cmd%% *} of a 48 MiB image of 4 MiB chunks: peak memory under 32 MiB" \
		sh -c "kib=\$(python3 '$work/peak.py' '$tool' $cmd '$work/big.img') && echo \"peak \$kib KiB\" && [ \"\$kib\" -lt 32768 ]"
done
rm -f "$work/big.bin" "$work/big.out"

# A block device (a loop device, where this machine allows one): writing
# over a filesystem is refused without --force; --force erases its
# signature, and the image on the device verifies.
truncate -s 64M "$work/loop.img"
mkfs.ext4 -q -F "$work/loop.img"
if loop=$(losetup -f --show "$work/loop.img" 2>/dev/null) && [ -b "$loop" ]; then
	check "create over an ext4 block device is refused, naming what is there" \
		fails_with 'refusing to write over .*TYPE=ext4.*--force' "$tool" create kernel --kernel "$kernel" "$loop"
	check "the filesystem is untouched" sh -c "blkid -o value -s TYPE '$loop' | grep -qx ext4"
	check "with --force it is written and verifies" sh -c "'$tool' create kernel --force --kernel '$kernel' '$loop' >/dev/null && '$tool' verify '$loop'"
	check "and libblkid no longer sees a filesystem there" sh -c "! blkid -o value -s TYPE '$loop' | grep -q ."
	losetup -d "$loop"
else
	echo "skip  block-device checks: no loop device can be attached here"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
