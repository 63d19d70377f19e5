/*
 * Berth runtime: Docker's default seccomp profile as a linux.seccomp object.  See seccomp.h.
 *
 * Transcribed from moby/profiles seccomp v0.2.3 (default.json, as vendored by moby/moby at
 * vendor/github.com/moby/profiles/seccomp/default.json) and resolved the way moby's
 * seccomp_linux.go resolves it for a container with Docker's default capabilities
 * (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP,
 * NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE) on a kernel >= 4.8:
 *   - the unconditional allow-list;
 *   - ptrace, process_vm_readv/writev (minKernel 4.8);
 *   - socket with any family but AF_ALG (38) and AF_VSOCK (40);
 *   - personality only for PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the
 *     0xffffffff query;
 *   - the per-architecture groups of amd64/x32/x86 and arm/arm64.  One object serves both
 *     hosts: a name that does not exist on an architecture of the filter is left out of that
 *     architecture by libseccomp, so each host gets what Docker gives it;
 *   - chroot (CAP_SYS_CHROOT);
 *   - clone without namespace flags, and clone3 failing with ENOSYS so that glibc falls
 *     back to clone, whose flags a filter can see (both "excludes CAP_SYS_ADMIN").
 * Everything else (mount, unshare, setns, keyctl, bpf, the module and kexec calls, the new
 * mount API, ...) gets the default action, EPERM.  Names this libseccomp does not know are
 * skipped by berth_seccomp_parse, as runc and crun do.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "seccomp.h"
#include "utils.h"

/* The namespace flags clone may not carry: CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
   CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP.  */
#define NAMESPACE_FLAGS 2114060288ULL

static const char *const architectures[] = {
  "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL,
};

static const char *const allow_names[] = {
  "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
  "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
  "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
  "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
  "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
  "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
  "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
  "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
  "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
  "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
  "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
  "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
  "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
  "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
  "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
  "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
  "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
  "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
  "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
  "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
  "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr",
  "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
  "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
  "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
  "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
  "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
  "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
  "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
  "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
  "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
  "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
  "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
  "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename",
  "renameat", "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction",
  "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
  "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
  "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
  "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
  "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
  "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
  "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
  "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
  "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
  "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
  "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat",
  "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
  "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
  "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
  "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
  "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
  "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
  "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime",
  "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
  "write", "writev", NULL
};

static const char *const ptrace_names[] = { "process_vm_readv", "process_vm_writev", "ptrace", NULL };
static const char *const socket_names[] = { "socket", NULL };
static const char *const personality_names[] = { "personality", NULL };
static const char *const arm_names[] = {
  "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls", NULL,
};
static const char *const arch_prctl_names[] = { "arch_prctl", NULL };
static const char *const modify_ldt_names[] = { "modify_ldt", NULL };
static const char *const chroot_names[] = { "chroot", NULL };
static const char *const clone_names[] = { "clone", NULL };
static const char *const clone3_names[] = { "clone3", NULL };

struct default_rule
{
  const char *const *names; /* NULL-terminated */
  const char *action;
  int errno_ret;            /* -1: no errnoRet */
  int n_args;               /* 0 or 1 */
  unsigned int index;
  uint64_t value;
  const char *op;
};

#define ALLOW(names) { names, "SCMP_ACT_ALLOW", -1, 0, 0, 0, NULL }
#define ALLOW_IF(names, index, op, value) { names, "SCMP_ACT_ALLOW", -1, 1, index, value, op }

static const struct default_rule rules[] = {
  ALLOW (allow_names),
  ALLOW (ptrace_names),
  ALLOW_IF (socket_names, 0, "SCMP_CMP_LT", 38),
  ALLOW_IF (socket_names, 0, "SCMP_CMP_EQ", 39),
  ALLOW_IF (socket_names, 0, "SCMP_CMP_GT", 40),
  ALLOW_IF (personality_names, 0, "SCMP_CMP_EQ", 0x0),
  ALLOW_IF (personality_names, 0, "SCMP_CMP_EQ", 0x8),
  ALLOW_IF (personality_names, 0, "SCMP_CMP_EQ", 0x20000),
  ALLOW_IF (personality_names, 0, "SCMP_CMP_EQ", 0x20008),
  ALLOW_IF (personality_names, 0, "SCMP_CMP_EQ", 0xffffffffULL),
  ALLOW (arm_names),
  ALLOW (arch_prctl_names),
  ALLOW (modify_ldt_names),
  ALLOW (chroot_names),
  /* MASKED_EQ: (arg0 & value) == valueTwo, here 0.  */
  ALLOW_IF (clone_names, 0, "SCMP_CMP_MASKED_EQ", NAMESPACE_FLAGS),
  { clone3_names, "SCMP_ACT_ERRNO", 38 /* ENOSYS */, 0, 0, 0, NULL },
};

/* json-c returns NULL (or -1) only when out of memory: abort, as xmalloc0 does.  */
static json_object *
jcheck (json_object *o)
{
  if (o == NULL)
    abort ();
  return o;
}

static void
jset (json_object *obj, const char *key, json_object *value)
{
  if (json_object_object_add (obj, key, value) < 0)
    abort ();
}

static void
jappend (json_object *arr, json_object *value)
{
  if (json_object_array_add (arr, value) < 0)
    abort ();
}

static json_object *
jstrv (const char *const *strv)
{
  json_object *a = jcheck (json_object_new_array ());

  for (; *strv; strv++)
    jappend (a, jcheck (json_object_new_string (*strv)));
  return a;
}

static json_object *
rule_to_json (const struct default_rule *r)
{
  json_object *o = jcheck (json_object_new_object ());

  jset (o, "names", jstrv (r->names));
  jset (o, "action", jcheck (json_object_new_string (r->action)));
  if (r->errno_ret >= 0)
    jset (o, "errnoRet", jcheck (json_object_new_int (r->errno_ret)));
  if (r->n_args > 0)
    {
      json_object *args = jcheck (json_object_new_array ());
      json_object *arg = jcheck (json_object_new_object ());

      jset (arg, "index", jcheck (json_object_new_int ((int) r->index)));
      jset (arg, "value", jcheck (json_object_new_uint64 (r->value)));
      jset (arg, "valueTwo", jcheck (json_object_new_uint64 (0)));
      jset (arg, "op", jcheck (json_object_new_string (r->op)));
      jappend (args, arg);
      jset (o, "args", args);
    }
  return o;
}

json_object *
berth_seccomp_docker_default (void)
{
  json_object *profile = jcheck (json_object_new_object ());
  json_object *syscalls = jcheck (json_object_new_array ());
  size_t i;

  jset (profile, "defaultAction", jcheck (json_object_new_string ("SCMP_ACT_ERRNO")));
  jset (profile, "defaultErrnoRet", jcheck (json_object_new_int (1 /* EPERM */)));
  jset (profile, "architectures", jstrv (architectures));
  for (i = 0; i < BERTH_ARRAY_SIZE (rules); i++)
    jappend (syscalls, rule_to_json (&rules[i]));
  jset (profile, "syscalls", syscalls);
  return profile;
}
