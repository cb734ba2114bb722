# One entry point for people and CI. `make demo` and `make check` install
# what they need on a fresh Debian 12 machine (as root) first.
SHELL := /bin/bash
SWIFT ?= swift
STATIC_FLAGS := -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static
DEB_PACKAGES := libblkid-dev liblz4-dev lz4 qemu-system-x86 qemu-utils linux-image-amd64 initramfs-tools \
	busybox-static gdisk cpio e2fsprogs zstd kmod util-linux fdisk binutils bc python3

.PHONY: all deps build static test unit fuzz cli-test boot-test demo check clean

all: build static

# apt-get update once, then install only what is missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# What the kexec-jump paths need (issue 9): the kernel source and its build
# tools, kexec-tools for kernel A's side of the test.
JUMP_PACKAGES := linux-source-6.12 flex bison bc libelf-dev libssl-dev kexec-tools gcc make xz-utils \
	liblz4-dev busybox-static qemu-system-x86 python3
.PHONY: deps-jump kernel-jump kjump-test
deps-jump:
	@missing=$$(for p in $(JUMP_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# The KEXEC_JUMP test kernel: tinyconfig + mkimage/kernel-jump.config, from
# linux-source-6.12, cached in build/kernel-jump/<hash> (about 200 s once).
kernel-jump: deps-jump
	nice bash mkimage/kernel-jump.sh

# The kexec-jump proofs in QEMU on that kernel: round trip, hibernation
# through kexec_load, free-page count, restore stub (mkimage/kjump-run.sh).
kjump-test: kernel-jump
	bash mkimage/kjump-run.sh

# Host tools (resume-image, resume-probe) in build/release.
build:
	$(SWIFT) build -c release
	mkdir -p build/release
	cp "$$($(SWIFT) build -c release --show-bin-path)"/resume-{image,probe,agent} build/release/

# The agent: static, stripped, Foundation-free, in build/static. And a
# static resume-image for the boot tests' root (which has no libraries).
static:
	$(SWIFT) build $(STATIC_FLAGS) --product resume-agent
	$(SWIFT) build $(STATIC_FLAGS) --product resume-image
	mkdir -p build/static
	cp "$$($(SWIFT) build $(STATIC_FLAGS) --show-bin-path)"/resume-agent build/static/resume-agent
	cp "$$($(SWIFT) build $(STATIC_FLAGS) --show-bin-path)"/resume-image build/static/resume-image
	strip build/static/resume-agent build/static/resume-image
	@ls -l build/static/resume-agent | awk '{print "build/static/resume-agent:", $$5, "bytes (stripped)"}'
	@if ldd build/static/resume-agent >/dev/null 2>&1; then echo "resume-agent is not static" >&2; exit 1; fi

unit:
	$(SWIFT) test --disable-swift-testing

fuzz:
	bash fuzz/run.sh

cli-test: build
	bash Tests/cli/run.sh

boot-test: build static
	bash Tests/boot/run.sh

# The tests: unit, fuzz, resume-image on Debian's kernel, QEMU boot scenarios.
check: deps
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory cli-test
	$(MAKE) --no-print-directory boot-test

# The demo: build everything and boot the QEMU system through the agent.
demo: deps build static
	bash mkimage/demo.sh

clean:
	rm -rf .build .build-static build
