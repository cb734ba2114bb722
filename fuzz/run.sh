#!/usr/bin/env bash
# Builds the libFuzzer binary (Sources/ResumeCore and the targets in fuzz/,
# one module) and runs each target for a bounded number of runs:
#   image-decoder  the image decoder (seeded with the golden fixtures)
#   memory-image   a memory image with its page map, as the agent and verify read it
#   kept-kernel    a kept hibernate kernel's file and the checks A makes of it
#   cmdline        the kernel command-line parser and the settings from it
#   elf            the ELF reader and the bzImage header reader
#   fuzz/run.sh [RUNS] [TARGET...]   (RUNS default 100000; FUZZ_RUNS overrides too)
# bench/fuzz.sh runs each for a million executions and records the result.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${FUZZ_RUNS:-100000}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image-decoder memory-image kept-kernel cmdline elf)
out=build/fuzz
bin=$out/fuzz-resume
mkdir -p "$out"
mapfile -t sources < <(find Sources/ResumeCore -name '*.swift' | sort)
# Built again only when a source is newer than the binary.
if [ ! -x "$bin" ] || [ -n "$(find "${sources[@]}" fuzz/*.swift Sources/C*/ -newer "$bin" -print -quit)" ]; then
	rm -f "$bin"
	swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ResumeFuzz \
		-I Sources/CLZ4 -I Sources/CSodium -I Sources/CXXHash "${sources[@]}" fuzz/*.swift \
		-Xlinker -llz4 -Xlinker -lsodium -Xlinker -lxxhash -o "$bin" 2>&1 | grep -v 'Cannot export local symbol' || true
	[ -x "$bin" ] || { echo "fuzz: the build failed"; exit 1; }
fi

# Seeds: the golden images; command lines as boot loaders write them; an ELF
# payload (when binutils is there) and a bzImage header.
seed() {
	local target=$1 dir=$out/corpus-$1
	mkdir -p "$dir"
	case $target in
	image-decoder) cp Tests/ResumeCoreTests/Fixtures/*.img "$dir/" ;;
	memory-image) cp Tests/ResumeCoreTests/Fixtures/memory-*.img "$dir/" ;;
	kept-kernel) cp fuzz/seeds/kept/* "$dir/" ;;
	cmdline) cp fuzz/seeds/cmdline/* "$dir/" ;;
	elf)
		cp Tests/ResumeCoreTests/Fixtures/kernel.img "$dir/"
		if command -v as >/dev/null && command -v ld >/dev/null; then
			as --64 -o "$out/payload.o" mkimage/payload/serial-marker.S &&
				ld -T mkimage/payload/payload.ld -nostdlib -static -z max-page-size=4096 -o "$dir/payload.elf" "$out/payload.o" || true
		fi
		for k in /boot/vmlinuz-*; do [ -r "$k" ] && head -c 16384 "$k" >"$dir/bzimage-head" && break; done
		;;
	esac
}
for target in "${targets[@]}"; do
	seed "$target"
	case $target in image-decoder | memory-image | kept-kernel) max_len=65536 ;; cmdline) max_len=4096 ;; *) max_len=16384 ;; esac
	echo "fuzz: $target, $runs runs"
	# -timeout fails a hang; -rss_limit_mb fails memory that grows with the input's numbers.
	# The whole output goes to build/fuzz/last-TARGET.log; its end is shown.
	rc=0
	RESUME_FUZZ_TARGET=$target "$bin" -runs="$runs" -max_len=$max_len -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "$out/corpus-$target" >"$out/last-$target.log" 2>&1 || rc=$?
	grep -E '^#[0-9]+[[:space:]]+DONE' "$out/last-$target.log" | tail -n 1 || true
	tail -n 25 "$out/last-$target.log" | grep -Ev '^#[0-9]+[[:space:]]+DONE' || true
	[ "$rc" -eq 0 ] || { echo "fuzz: $target FAILED (exit $rc), the input is in the log above"; exit 1; }
	echo "fuzz: $runs runs of $target without a crash, hang or leak"
done
