// Thin C shims: constants Swift cannot import (function-like macros) and
// wrappers for variadic calls (ioctl, syscall). No logic lives here.
#ifndef RESUME_SHIMS_H
#define RESUME_SHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "resume_exit.h"

// ioctl numbers (linux/fs.h, linux/suspend_ioctls.h).
extern const unsigned long resume_BLKGETSIZE64;
extern const unsigned long resume_BLKFLSBUF;
extern const unsigned long resume_SNAPSHOT_FREEZE;
extern const unsigned long resume_SNAPSHOT_UNFREEZE;
extern const unsigned long resume_SNAPSHOT_ATOMIC_RESTORE;
extern const unsigned long resume_SNAPSHOT_FREE;
extern const unsigned long resume_SNAPSHOT_GET_IMAGE_SIZE;
extern const unsigned long resume_SNAPSHOT_CREATE_IMAGE;
extern const unsigned long resume_SNAPSHOT_POWER_OFF;
extern const unsigned long resume_SNAPSHOT_PREF_IMAGE_SIZE;
extern const unsigned long resume_SNAPSHOT_PLATFORM_SUPPORT;

// syscall numbers and reboot magic (asm/unistd.h, linux/reboot.h, linux/kexec.h).
extern const long resume_SYS_kexec_load;
extern const long resume_SYS_kexec_file_load;
extern const int resume_LINUX_REBOOT_CMD_KEXEC;
extern const int resume_LINUX_REBOOT_CMD_POWER_OFF;
extern const unsigned long resume_KEXEC_ARCH_DEFAULT;
extern const unsigned long resume_KEXEC_PRESERVE_CONTEXT;
extern const unsigned long resume_KEXEC_FILE_NO_INITRAMFS;
extern const unsigned long resume_KEXEC_FILE_UNLOAD;
extern const unsigned int resume_MFD_CLOEXEC;

/// Mirrors `struct kexec_segment` from linux/kexec.h (checked by _Static_assert).
struct resume_kexec_segment {
    const void *buf;
    size_t bufsz;
    unsigned long mem;
    size_t memsz;
};

/// ioctl(2) with one pointer argument.
int resume_ioctl_ptr(int fd, unsigned long request, void *arg);
/// ioctl(2) with one integer argument.
int resume_ioctl_int(int fd, unsigned long request, unsigned long arg);
/// kexec_file_load(2): no libc wrapper exists.
long resume_kexec_file_load(int kernel_fd, int initrd_fd, unsigned long cmdline_len,
                            const char *cmdline, unsigned long flags);
/// kexec_load(2): no libc wrapper exists.
long resume_kexec_load(unsigned long entry, unsigned long nr_segments,
                       const struct resume_kexec_segment *segments, unsigned long flags);
/// finit_module(2): no libc wrapper exists.
long resume_finit_module(int fd, const char *params, int flags);
/// statfs(2)'s f_type for `path`, or -1 with errno set.
long resume_statfs_type(const char *path);
/// memfd_create(2).
int resume_memfd_create(const char *name, unsigned int flags);
/// reboot(2) with a LINUX_REBOOT_CMD_* command.
int resume_reboot(int cmd);
/// Set when the PID 1 start-up hook (shims.c) mounted /proc before the
/// Swift runtime started; the agent unmounts it before exec'ing the next init.
int resume_pid1_mounted_proc(void);
/// Arms the agent's watchdog: after `seconds`, SIGALRM writes one line to
/// `kmsg_fd` (if >= 0) and to stderr, and the process exits with status 3,
/// so the boot script brings memory online and the boot goes on. A signal
/// handler must be async-signal-safe, hence C. 0 disarms it.
void resume_arm_watchdog(unsigned int seconds, int kmsg_fd);

#endif
