#define _GNU_SOURCE
#include "resume_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <linux/suspend_ioctls.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <signal.h>
#include <sys/reboot.h>
#include <unistd.h>

const unsigned long resume_BLKGETSIZE64 = BLKGETSIZE64;
const unsigned long resume_BLKFLSBUF = BLKFLSBUF;
const unsigned long resume_SNAPSHOT_FREEZE = SNAPSHOT_FREEZE;
const unsigned long resume_SNAPSHOT_UNFREEZE = SNAPSHOT_UNFREEZE;
const unsigned long resume_SNAPSHOT_ATOMIC_RESTORE = SNAPSHOT_ATOMIC_RESTORE;
const unsigned long resume_SNAPSHOT_FREE = SNAPSHOT_FREE;
const unsigned long resume_SNAPSHOT_GET_IMAGE_SIZE = SNAPSHOT_GET_IMAGE_SIZE;
const unsigned long resume_SNAPSHOT_CREATE_IMAGE = SNAPSHOT_CREATE_IMAGE;
const unsigned long resume_SNAPSHOT_POWER_OFF = SNAPSHOT_POWER_OFF;
const unsigned long resume_SNAPSHOT_PREF_IMAGE_SIZE = SNAPSHOT_PREF_IMAGE_SIZE;
const unsigned long resume_SNAPSHOT_PLATFORM_SUPPORT = SNAPSHOT_PLATFORM_SUPPORT;

const long resume_SYS_kexec_load = SYS_kexec_load;
const long resume_SYS_kexec_file_load = SYS_kexec_file_load;
const int resume_LINUX_REBOOT_CMD_KEXEC = LINUX_REBOOT_CMD_KEXEC;
const int resume_LINUX_REBOOT_CMD_POWER_OFF = LINUX_REBOOT_CMD_POWER_OFF;
const unsigned long resume_KEXEC_ARCH_DEFAULT = KEXEC_ARCH_DEFAULT;
const unsigned long resume_KEXEC_PRESERVE_CONTEXT = KEXEC_PRESERVE_CONTEXT;
const unsigned long resume_KEXEC_FILE_NO_INITRAMFS = KEXEC_FILE_NO_INITRAMFS;
const unsigned long resume_KEXEC_FILE_UNLOAD = KEXEC_FILE_UNLOAD;
const unsigned int resume_MFD_CLOEXEC = MFD_CLOEXEC;

_Static_assert(sizeof(struct resume_kexec_segment) == sizeof(struct kexec_segment),
               "resume_kexec_segment must mirror struct kexec_segment");
_Static_assert(offsetof(struct resume_kexec_segment, mem) == offsetof(struct kexec_segment, mem),
               "kexec_segment.mem offset");
_Static_assert(offsetof(struct resume_kexec_segment, memsz) == offsetof(struct kexec_segment, memsz),
               "kexec_segment.memsz offset");

int resume_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
int resume_ioctl_int(int fd, unsigned long request, unsigned long arg) { return ioctl(fd, request, arg); }

long resume_kexec_file_load(int kernel_fd, int initrd_fd, unsigned long cmdline_len,
                            const char *cmdline, unsigned long flags) {
    return syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, cmdline_len, cmdline, flags);
}

long resume_finit_module(int fd, const char *params, int flags) {
    return syscall(SYS_finit_module, fd, params, flags);
}

long resume_kexec_load(unsigned long entry, unsigned long nr_segments,
                       const struct resume_kexec_segment *segments, unsigned long flags) {
    return syscall(SYS_kexec_load, entry, nr_segments, segments, flags);
}


long resume_statfs_type(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    return (long)fs.f_type;
}

int resume_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }
int resume_reboot(int cmd) { return reboot(cmd); }

/*
 * PID 1 start-up, the one piece of C that acts. As the first process
 * (rdinit=/sbin/resume-agent) nothing is mounted, and the Swift runtime's
 * own initializers need /proc: its backtracer asks for the runtime's path
 * (/proc/self/exe) and aborts with "Unable to obtain Swift runtime path".
 * This constructor runs before them (priority 101 comes before the
 * unprioritised initializers), mounts /proc, and turns off what a first
 * process cannot use: the backtracer (it would exec a helper) and random
 * hash seeding (getrandom blocks until the kernel's CRNG is ready, about a
 * second this early). Outside PID 1 it does nothing.
 */
static int pid1_mounted_proc = 0;
int resume_pid1_mounted_proc(void) { return pid1_mounted_proc; }

__attribute__((constructor(101))) static void resume_pid1_early(void) {
    if (getpid() != 1) return;
    setenv("SWIFT_BACKTRACE", "enable=no", 0);
    setenv("SWIFT_DETERMINISTIC_HASHING", "1", 0);
    if (access("/proc/self", F_OK) != 0) {
        mkdir("/proc", 0755);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) == 0)
            pid1_mounted_proc = 1;
    }
}

static int watchdog_kmsg = -1;
static const char watchdog_line[] = "resume-agent: watchdog: gave up (resume_agent.timeout); the boot goes on\n";

static void resume_watchdog_fired(int sig) {
    (void)sig;
    static const char kmsg_line[] = "<11>resume-agent: watchdog: gave up (resume_agent.timeout); the boot goes on\n";
    if (watchdog_kmsg >= 0) (void)!write(watchdog_kmsg, kmsg_line, sizeof kmsg_line - 2);
    (void)!write(2, watchdog_line, sizeof watchdog_line - 1);
    _exit(RESUME_EXIT_WATCHDOG);
}

void resume_arm_watchdog(unsigned int seconds, int kmsg_fd) {
    watchdog_kmsg = kmsg_fd;
    struct sigaction sa = {0};
    sa.sa_handler = resume_watchdog_fired;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
}
