# One entry point for people and CI. `make demo` and `make check` install
# what they need on a fresh Debian 12 machine (as root) first.
SHELL := /bin/bash
SWIFT ?= swift
STATIC_FLAGS := -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static
DEB_PACKAGES := libblkid-dev liblz4-dev libsodium-dev libxxhash-dev lz4 qemu-system-x86 qemu-utils linux-image-amd64 initramfs-tools \
	busybox-static gdisk cpio e2fsprogs zstd kmod util-linux fdisk binutils bc python3 \
	debhelper dpkg-dev fakeroot lintian debootstrap lvm2 cryptsetup-initramfs

.PHONY: all deps build static test unit fuzz cli-test boot-test systemd-test man deb deb-root dracut-initrd deb-check deb-test demo check clean

all: build static

# apt-get update once, then install only what is missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# What the kexec-jump paths need: the kernel source and its build
# tools, kexec-tools for kernel A's side of the test.
JUMP_PACKAGES := linux-source-6.12 flex bison bc libelf-dev libssl-dev kexec-tools gcc make xz-utils \
	liblz4-dev busybox-static qemu-system-x86 python3
.PHONY: deps-jump kernel-jump jump-test stub stub-check
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

# The kexec-jump hibernation scenarios in QEMU on that kernel,
# through the product: resume-image hibernate --kexec-jump on A, the agent
# in B and C (Tests/jump/run.sh: checkpoint, hibernate with its refusals).
jump-test: kernel-jump static
	bash Tests/jump/run.sh

# The restore stub the agent carries (stub/): rebuild its bytes into
# Sources/ResumeBoot/Restore/RestoreStubCode.swift, or check that the
# checked-in bytes are what the sources build (make check does).
stub: deps-jump
	bash stub/build.sh
stub-check: deps-jump
	bash stub/build.sh --check

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

# fastresume-hibernate (the systemctl hibernate drop-in's command) against
# fake configurations.
systemd-test:
	bash Tests/systemd/run.sh

# Man pages and shell completions, generated from resume-image's
# ArgumentParser definitions and checked in (man/, completions/):
# swift-argument-parser's generate-manual plugin (it builds the package in
# release mode first; one page, every subcommand in it) and resume-image
# --generate-completion-script (the bash one without its #! line: it is
# sourced, not run). resume-agent(8), resume-probe(8) and
# fastresume-hibernate(8) are written by hand. The date is the package's
# (debian/changelog), so a rerun changes nothing.
MAN_DATE = $(shell date -u -d "$$(dpkg-parsechangelog -l debian/changelog -S Date)" +%Y-%m-%d)
man:
	$(SWIFT) package plugin generate-manual --date $(MAN_DATE) --authors "fastresume maintainers"
	sed -e '$$a\' .build/plugins/GenerateManual/outputs/resume-image/resume-image.1 >man/resume-image.1
	mkdir -p completions/bash completions/zsh completions/fish
	bin="$$($(SWIFT) build -c release --show-bin-path)/resume-image"; \
		"$$bin" --generate-completion-script bash | sed '1{/^#!/d}' >completions/bash/resume-image && \
		"$$bin" --generate-completion-script zsh >completions/zsh/_resume-image && \
		"$$bin" --generate-completion-script fish >completions/fish/resume-image.fish
	@git status --short man completions

# The Debian package, from `make static` (debian/rules), copied to build/.
# Swift is not a Debian package, so dpkg-checkbuilddeps cannot see it: -d
# skips the build-dependency check (debian/rules checks for swift itself;
# debian/control lists the Debian ones). dpkg-buildpackage writes the .deb
# to the parent directory; it is moved into build/deb/.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
deb:
	dpkg-buildpackage -b -us -uc -d
	mkdir -p build/deb
	mv ../fastresume_$(DEB_VERSION)_amd64.deb ../fastresume_$(DEB_VERSION)_amd64.buildinfo \
		../fastresume_$(DEB_VERSION)_amd64.changes build/deb/
	@if command -v lintian >/dev/null; then lintian --fail-on error build/deb/fastresume_$(DEB_VERSION)_amd64.changes; fi
	@ls -l build/deb/fastresume_$(DEB_VERSION)_amd64.deb

# Install the package into a debootstrapped Debian 12 root, check its own
# update-initramfs, purge it: build/vm/initrd-deb.img (mkimage/deb-root.sh).
deb-root: deb
	bash mkimage/deb-root.sh $(DEB_FILE)

# An initramfs made by Debian's dracut (in a chroot) with 90fastresume:
# build/vm/initrd-dracut.img (mkimage/dracut-initrd.sh).
dracut-initrd: deb
	bash mkimage/dracut-initrd.sh $(DEB_FILE)

# The package as CI checks it (part of make check; needs root, a Debian
# mirror the first time, QEMU): build it (from make static's binaries),
# install it into a debootstrapped Debian 12 root whose own
# update-initramfs puts the agent in, boot that initramfs, purge the
# package and boot the rebuilt one; the same with Debian's dracut in
# another root. The roots are kept in build/debroot/ (a rerun installs
# nothing); each step prints its time.
DEB_FILE = build/deb/fastresume_$(DEB_VERSION)_amd64.deb
TIMED = bash mkimage/timed.sh
deb-check: deb
	$(TIMED) deb-root bash mkimage/deb-root.sh $(DEB_FILE)
	$(TIMED) boot-deb-installed bash mkimage/boot-initrd.sh deb-installed build/vm/vmlinuz-deb build/vm/initrd-deb.img agent
	$(TIMED) boot-deb-purged bash mkimage/boot-initrd.sh deb-purged build/vm/vmlinuz-deb build/vm/initrd-deb-purged.img no-agent
	$(TIMED) dracut-root bash mkimage/dracut-initrd.sh $(DEB_FILE)
	$(TIMED) boot-dracut bash mkimage/boot-initrd.sh dracut build/vm/vmlinuz-dracut build/vm/initrd-dracut.img agent

# Everything about the package: deb-check, then "systemctl hibernate"
# through the drop-in in a systemd root, restored by the agent.
deb-test: deb-check systemd-test
	$(TIMED) systemd-hibernate bash mkimage/systemd-hibernate.sh $(DEB_FILE)

# The tests: unit, fuzz, resume-image on Debian's kernel, QEMU boot scenarios,
# the kexec-jump scenarios on the KEXEC_JUMP kernel, the Debian package
# (deb-check).
check: deps
	$(MAKE) --no-print-directory stub-check
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory systemd-test
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory cli-test
	$(MAKE) --no-print-directory boot-test
	$(MAKE) --no-print-directory jump-test
	$(MAKE) --no-print-directory deb-check

# The demo: build everything and boot the QEMU system through the agent.
demo: deps build static kernel-jump
	bash mkimage/demo.sh

clean:
	rm -rf .build .build-static build
