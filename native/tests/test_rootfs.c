/*
 * Tests for src/rootfs.c.  They need root: each setup runs in a forked child that unshares
 * its mount namespace (and pid/uts/user ones where needed), so the host keeps no mount;
 * every test checks that at its end.  Checks made inside the container use the TAP macros
 * in the child, whose diagnostics travel back to the parent through a pipe.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "error.h"
#include "oci-config.h"
#include "rootfs.h"
#include "tap.h"
#include "utils.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

#define NEED_ROOT "run the tests as root: sudo make -C native test"
#define NEED_BUSYBOX "apt-get install -y busybox-static"

/* ---- berth_cgroup_mount stand-in.
 *
 * Temporary, tests only: until src/cgroup.c exists the link needs berth_cgroup_mount.  It
 * is weak and defined in this object, so an archive's cgroup.o is not pulled in for it
 * either (the linker only extracts members for undefined symbols): this test stays
 * independent of the host's cgroup layout.  It mounts a tiny tmpfs where the cgroup
 * filesystem would go and records the call, which the full-setup test checks.  */

static char stub_cgroup_dest[PATH_MAX];
static unsigned long stub_cgroup_flags;
static int stub_cgroup_calls;

__attribute__ ((weak)) int
berth_cgroup_mount (const char *dest, unsigned long flags, berth_error_t *err)
{
  stub_cgroup_calls++;
  snprintf (stub_cgroup_dest, sizeof (stub_cgroup_dest), "%s", dest);
  stub_cgroup_flags = flags;
  if (mount ("cgroup-stub", dest, "tmpfs", flags, "size=4k") < 0)
    return berth_make_error_op (err, errno, "mount", "mount cgroup stub on `%s`", dest);
  return 0;
}

/* ---- fixtures.  */

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
    return rmdir (path) < 0 ? -1 : 0;
  return unlink (path) < 0 ? -1 : 0;
}

/* A scratch directory removed when it goes out of scope; FTW_MOUNT: never into a mount a
   failed test might have left.  */
static void
cleanup_tmpdirp (char **dir)
{
  if (*dir)
    {
      nftw (*dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
      free (*dir);
    }
}
#define cleanup_tmpdir __attribute__ ((cleanup (cleanup_tmpdirp)))

static char *
make_tmpdir (void)
{
  char *dir = xstrdup ("/tmp/berth-rootfs-XXXXXX");

  if (mkdtemp (dir) == NULL)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

static char *
path_in (const char *dir, const char *rel)
{
  return xasprintf ("%s/%s", dir, rel);
}

static int
write_str (const char *path, const char *s)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || berth_write_all (fd, s, strlen (s)) < 0)
    return -1;
  return 0;
}

/* The content of path, or NULL.  */
static char *
read_str (const char *path)
{
  berth_error_t err = NULL;
  char *data = NULL;

  if (berth_read_file (path, &data, NULL, &err) < 0)
    {
      berth_error_release (&err);
      return NULL;
    }
  return data;
}

static bool
str_file_is (const char *path, const char *expected)
{
  cleanup_free char *data = read_str (path);
  return data && strcmp (data, expected) == 0;
}

static int
mkdirs (const char *path)
{
  berth_error_t err = NULL;
  if (berth_mkdir_p (path, 0755, &err) < 0)
    {
      berth_error_release (&err);
      return -1;
    }
  return 0;
}

static int
count_entries (const char *dir)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  return n;
}

static bool
exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

static long
fs_type (const char *path)
{
  struct statfs sf;
  return statfs (path, &sf) == 0 ? (long) sf.f_type : -1;
}

static bool
is_readonly (const char *path)
{
  struct statvfs sv;
  return statvfs (path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* Mount points of this process (mountinfo field 5), sorted and space-separated.  */
static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
mount_points (void)
{
  cleanup_free char *text = read_str ("/proc/self/mountinfo");
  char *points[256];
  size_t n = 0, i, len = 1;
  char *line, *save = NULL, *out;

  if (text == NULL)
    return NULL;
  for (line = strtok_r (text, "\n", &save); line && n < 256; line = strtok_r (NULL, "\n", &save))
    {
      char *p = line;
      int field;
      for (field = 0; field < 4 && p; field++)
        {
          p = strchr (p, ' ');
          if (p)
            p++;
        }
      if (p == NULL)
        continue;
      points[n] = p;
      p = strchr (p, ' ');
      if (p)
        *p = '\0';
      len += strlen (points[n]) + 1;
      n++;
    }
  qsort (points, n, sizeof (points[0]), cmp_str);
  out = xmalloc0 (len);
  for (i = 0; i < n; i++)
    {
      if (i)
        strcat (out, " ");
      strcat (out, points[i]);
    }
  return out;
}

/* Mounts of this process whose mount point is under dir (or -1).  */
static int
count_mounts_under (const char *dir)
{
  cleanup_free char *points = mount_points ();
  size_t len = strlen (dir);
  char *p, *save = NULL;
  int n = 0;

  if (points == NULL)
    return -1;
  for (p = strtok_r (points, " ", &save); p; p = strtok_r (NULL, " ", &save))
    if (strncmp (p, dir, len) == 0 && (p[len] == '/' || p[len] == '\0'))
      n++;
  return n;
}

/* The mountinfo line of the mount at `point`, or NULL.  */
static char *
mountinfo_line (const char *point)
{
  cleanup_free char *text = read_str ("/proc/self/mountinfo");
  cleanup_free char *needle = xasprintf (" %s ", point);
  char *line, *save = NULL;

  if (text == NULL)
    return NULL;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      /* field 5 follows 4 spaces */
      char *p = line;
      int k;
      for (k = 0; k < 3 && p; k++)
        {
          p = strchr (p, ' ');
          if (p)
            p++;
        }
      if (p && (p = strchr (p, ' ')) && strncmp (p, needle, strlen (needle)) == 0)
        return xstrdup (line);
    }
  return NULL;
}

/* /bin/busybox from busybox-static: present, and static (no PT_INTERP), so it runs in a
   rootfs holding nothing else.  */
static bool
have_static_busybox (void)
{
  cleanup_free char *elf = NULL;
  berth_error_t err = NULL;
  const Elf64_Ehdr *eh;
  size_t len = 0, i;

  if (berth_read_file ("/bin/busybox", &elf, &len, &err) < 0)
    {
      berth_error_release (&err);
      return false;
    }
  if (len < sizeof (Elf64_Ehdr) || memcmp (elf, ELFMAG, SELFMAG) != 0 || elf[EI_CLASS] != ELFCLASS64)
    return false;
  eh = (const Elf64_Ehdr *) elf;
  for (i = 0; i < eh->e_phnum; i++)
    {
      const Elf64_Phdr *ph = (const Elf64_Phdr *) (elf + eh->e_phoff + i * eh->e_phentsize);
      if ((const char *) (ph + 1) > elf + len)
        return false;
      if (ph->p_type == PT_INTERP)
        return false;
    }
  return true;
}

static int
copy_busybox (const char *rootfs)
{
  cleanup_free char *data = NULL;
  cleanup_free char *bin = path_in (rootfs, "bin");
  cleanup_free char *dst = path_in (rootfs, "bin/busybox");
  cleanup_close int fd = -1;
  berth_error_t err = NULL;
  size_t len = 0;

  if (berth_read_file ("/bin/busybox", &data, &len, &err) < 0)
    {
      berth_error_release (&err);
      return -1;
    }
  if (mkdirs (bin) < 0)
    return -1;
  fd = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (fd < 0 || berth_write_all (fd, data, len) < 0)
    return -1;
  return 0;
}

static struct berth_mount
mnt (const char *type, const char *source, const char *dest, unsigned long flags, const char *data)
{
  struct berth_mount m = {
    .destination = (char *) dest,
    .type = (char *) type,
    .source = (char *) source,
    .flags = flags,
    .data = (char *) data,
  };
  return m;
}

/* A berth_error_t failure inside a test: diagnose, release, fail.  */
static int
fail_with (const char *file, int line, const char *what, berth_error_t *err)
{
  tap_diag_at (file, line, "%s failed: %s", what, *err ? (*err)->msg : "(no error set)");
  berth_error_release (err);
  return -1;
}
#define CHECK_BERTH(expr, err)                                  \
  do                                                            \
    {                                                           \
      if ((expr) < 0)                                           \
        return fail_with (__FILE__, __LINE__, #expr, &(err));   \
    }                                                           \
  while (0)

/* Expect expr to fail with exactly this message (and errno); release the error.  */
static int
expect_error (const char *file, int line, int ret, berth_error_t *err, int status, const char *msg)
{
  if (ret >= 0 || *err == NULL)
    {
      tap_diag_at (file, line, "expected failure \"%s\", got success", msg);
      berth_error_release (err);
      return -1;
    }
  if ((*err)->status != status || strcmp ((*err)->msg, msg) != 0)
    {
      tap_diag_at (file, line, "wrong error\ngot:      %s (status %d)\nexpected: %s (status %d)",
                   (*err)->msg, (*err)->status, msg, status);
      berth_error_release (err);
      return -1;
    }
  berth_error_release (err);
  return 0;
}
#define CHECK_ERROR(expr, err, status, msg)                                          \
  do                                                                                 \
    {                                                                                \
      int ret_ = (expr);                                                             \
      if (expect_error (__FILE__, __LINE__, ret_, &(err), (status), (msg)) < 0)      \
        return -1;                                                                   \
    }                                                                                \
  while (0)

/* ---- children.
 *
 * start_child forks; the child unshares `flags` (with CLONE_NEWUSER: maps root to root;
 * with CLONE_NEWPID: forks again so fn runs as PID 1) and runs fn with the TAP macros.
 * The child's diagnostics and status come back in finish_child.  */

typedef int (*child_fn) (void *arg);

static int
enter_userns (int flags)
{
  if (unshare (flags) < 0)
    return -1;
  if (write_str ("/proc/self/setgroups", "deny") < 0 || write_str ("/proc/self/uid_map", "0 0 1") < 0
      || write_str ("/proc/self/gid_map", "0 0 1") < 0)
    return -1;
  return 0;
}

static void __attribute__ ((noreturn))
child_exit (int report_fd, int code)
{
  if (berth_write_all (report_fd, tap_diag_buf_, tap_diag_len_) < 0)
    code = 3;
  close (report_fd);
  /* exit() lets LeakSanitizer check this process under test-asan; it needs /proc, which a
     child that pivoted into a root without one does not have.  */
  if (access ("/proc/self/maps", R_OK) == 0)
    exit (code);
  _exit (code);
}

static int
wait_status (pid_t pid, char *what, size_t size)
{
  int status;

  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        snprintf (what, size, "waitpid: %s", strerror (errno));
        return -1;
      }
  if (WIFEXITED (status))
    {
      snprintf (what, size, "exit status %d", WEXITSTATUS (status));
      return WEXITSTATUS (status) == 0 ? 0 : -1;
    }
  snprintf (what, size, "killed by signal %d", WTERMSIG (status));
  return -1;
}

static pid_t
start_child (int flags, child_fn fn, void *arg, int *report)
{
  int p[2];
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return -1;
    }
  if (pid == 0)
    {
      int ret;

      close (p[0]);
      tap_diag_len_ = 0;
      if (flags & CLONE_NEWUSER)
        ret = enter_userns (flags);
      else
        ret = flags ? unshare (flags) : 0;
      if (ret < 0)
        {
          tap_diag ("unshare 0x%x: %s", flags, strerror (errno));
          child_exit (p[1], 2);
        }
      if (flags & CLONE_NEWPID)
        {
          char what[64];
          pid_t inner = fork ();
          if (inner < 0)
            {
              tap_diag ("fork: %s", strerror (errno));
              child_exit (p[1], 2);
            }
          if (inner == 0)
            child_exit (p[1], fn (arg) == 0 ? 0 : 1);
          if (wait_status (inner, what, sizeof (what)) < 0)
            {
              tap_diag ("PID 1 of the new pid namespace: %s", what);
              child_exit (p[1], 1);
            }
          child_exit (p[1], 0);
        }
      child_exit (p[1], fn (arg) == 0 ? 0 : 1);
    }
  close (p[1]);
  *report = p[0];
  return pid;
}

/* Wait for the child; its diagnostics join ours.  0 if it passed.  */
static int
finish_child (pid_t pid, int report)
{
  char buf[4096], what[64];
  ssize_t n;
  int ret;

  while ((n = read (report, buf, sizeof (buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      {
        size_t room = sizeof (tap_diag_buf_) - tap_diag_len_;
        size_t k = (size_t) n < room ? (size_t) n : room;
        memcpy (tap_diag_buf_ + tap_diag_len_, buf, k);
        tap_diag_len_ += k;
      }
  close (report);
  ret = wait_status (pid, what, sizeof (what));
  if (ret < 0)
    tap_diag ("child failed: %s", what);
  return ret;
}

static int
run_child (int flags, child_fn fn, void *arg)
{
  int report = -1;
  pid_t pid = start_child (flags, fn, arg, &report);

  if (pid < 0)
    TAP_FAIL ("fork: %s", strerror (errno));
  return finish_child (pid, report);
}

/* ---- 1. the whole setup, checked from inside.  */

struct full_ctx
{
  const char *tmp;
  const char *rootfs;
  const char *marker;
  bool before_pivot_ran;
};

static int
full_before_pivot (void *arg, berth_error_t *err)
{
  struct full_ctx *ctx = arg;

  /* The host is still visible here (createContainer hooks).  */
  if (access (ctx->marker, F_OK) < 0)
    return berth_make_error_op (err, errno, "access", "before_pivot: host marker `%s`", ctx->marker);
  ctx->before_pivot_ran = true;
  return 0;
}

static int
child_full (void *arg)
{
  struct full_ctx *ctx = arg;
  cleanup_free char *data_dir = path_in (ctx->tmp, "data");
  cleanup_free char *hostfile = path_in (ctx->tmp, "hostfile");
  cleanup_free char *points = NULL;
  cleanup_free char *shared_line = NULL;
  const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  struct berth_mount mounts[] = {
    mnt ("proc", "proc", "/proc", nse, NULL),
    mnt ("tmpfs", "tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
    mnt ("devpts", "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
    mnt ("tmpfs", "shm", "/dev/shm", nse, "mode=1777,size=65536k"),
    mnt ("mqueue", "mqueue", "/dev/mqueue", nse, NULL),
    mnt ("sysfs", "sysfs", "/sys", nse | MS_RDONLY, NULL),
    mnt ("cgroup", "cgroup", "/sys/fs/cgroup", nse | MS_RELATIME | MS_RDONLY, NULL),
    mnt ("bind", data_dir, "/data", MS_BIND | MS_REC | MS_RDONLY, NULL),
    mnt (NULL, hostfile, "/etc/hostfile", MS_BIND, NULL),
    mnt ("tmpfs", "tmpfs", "/shared", 0, NULL),
  };
  char *sysctl_keys[] = { "kernel.domainname" };
  char *sysctl_values[] = { "berth.test" };
  struct berth_config c = {
    .root_path = (char *) ctx->rootfs,
    .root_readonly = true,
    .mounts = mounts,
    .n_mounts = BERTH_ARRAY_SIZE (mounts),
    .sysctl_keys = sysctl_keys,
    .sysctl_values = sysctl_values,
    .n_sysctl = 1,
  };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1, .before_pivot = full_before_pivot, .before_pivot_arg = ctx };
  static const struct
  {
    const char *path;
    unsigned major, minor;
  } devs[] = { { "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
               { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 } };
  static const char *const links[][2] = { { "/dev/fd", "/proc/self/fd" },
                                          { "/dev/stdin", "/proc/self/fd/0" },
                                          { "/dev/stdout", "/proc/self/fd/1" },
                                          { "/dev/stderr", "/proc/self/fd/2" },
                                          { "/dev/ptmx", "pts/ptmx" } };
  berth_error_t err = NULL;
  char domain[64] = "";
  struct stat st;
  size_t i;
  pid_t pid;
  int status;

  mounts[9].propagation = MS_SHARED;
  CHECK_BERTH (berth_rootfs_setup (&c, &o, &err), err);
  TAP_CHECK (ctx->before_pivot_ran);

  /* proc, as PID 1 of its namespace.  */
  TAP_CHECK_INT_EQ (fs_type ("/proc"), PROC_SUPER_MAGIC);
  TAP_CHECK_INT_EQ (getpid (), 1);
  TAP_CHECK (exists ("/proc/1/status"));

  /* /dev.  */
  for (i = 0; i < BERTH_ARRAY_SIZE (devs); i++)
    {
      if (stat (devs[i].path, &st) < 0)
        TAP_FAIL ("stat %s: %s", devs[i].path, strerror (errno));
      TAP_CHECK (S_ISCHR (st.st_mode));
      TAP_CHECK_INT_EQ (major (st.st_rdev), devs[i].major);
      TAP_CHECK_INT_EQ (minor (st.st_rdev), devs[i].minor);
      TAP_CHECK_INT_EQ (st.st_mode & 07777, 0666);
    }
  for (i = 0; i < BERTH_ARRAY_SIZE (links); i++)
    {
      char target[PATH_MAX];
      ssize_t n = readlink (links[i][0], target, sizeof (target) - 1);
      if (n < 0)
        TAP_FAIL ("readlink %s: %s", links[i][0], strerror (errno));
      target[n] = '\0';
      TAP_CHECK_STR_EQ (target, links[i][1]);
    }
  TAP_CHECK (! exists ("/dev/core"));
  TAP_CHECK (! exists ("/dev/console")); /* no console_fd */
  TAP_CHECK_INT_EQ (fs_type ("/dev"), TMPFS_MAGIC);
  TAP_CHECK_INT_EQ (fs_type ("/dev/pts"), DEVPTS_SUPER_MAGIC);
  TAP_CHECK_INT_EQ (fs_type ("/dev/shm"), TMPFS_MAGIC);
  TAP_CHECK_INT_EQ (fs_type ("/dev/mqueue"), MQUEUE_MAGIC);
  TAP_CHECK (exists ("/dev/pts/ptmx"));
  {
    /* The null device works.  */
    cleanup_close int fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    TAP_CHECK (fd >= 0);
    TAP_CHECK_INT_EQ (write (fd, "x", 1), 1);
  }

  /* /sys read-only, the cgroup mount at the host path of /sys/fs/cgroup.  */
  TAP_CHECK_INT_EQ (fs_type ("/sys"), SYSFS_MAGIC);
  TAP_CHECK (is_readonly ("/sys"));
  TAP_CHECK_INT_EQ (stub_cgroup_calls, 1);
  /* Reached through the root's fd: "/proc/self/fd/N/sys/fs/cgroup".  */
  TAP_CHECK (strncmp (stub_cgroup_dest, "/proc/self/fd/", 14) == 0);
  TAP_CHECK (strlen (stub_cgroup_dest) > strlen ("/sys/fs/cgroup")
             && strcmp (stub_cgroup_dest + strlen (stub_cgroup_dest) - strlen ("/sys/fs/cgroup"), "/sys/fs/cgroup") == 0);
  TAP_CHECK_INT_EQ (stub_cgroup_flags, nse | MS_RELATIME | MS_RDONLY);
  TAP_CHECK_INT_EQ (fs_type ("/sys/fs/cgroup"), TMPFS_MAGIC);
  TAP_CHECK (is_readonly ("/sys/fs/cgroup"));

  /* The read-only root and bind mounts.  */
  TAP_CHECK (is_readonly ("/"));
  TAP_CHECK (mkdir ("/newdir", 0755) < 0 && errno == EROFS);
  TAP_CHECK (str_file_is ("/data/hello", "hello"));
  TAP_CHECK (is_readonly ("/data"));
  TAP_CHECK (open ("/data/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == EROFS);
  TAP_CHECK (str_file_is ("/etc/hostfile", "file-bind"));
  TAP_CHECK (! is_readonly ("/etc/hostfile"));

  /* Per-mount propagation.  */
  shared_line = mountinfo_line ("/shared");
  TAP_CHECK (shared_line != NULL);
  if (strstr (shared_line, " shared:") == NULL)
    TAP_FAIL ("/shared is not shared: %s", shared_line);

  /* The old root is gone: no host path, and exactly our mounts.  */
  TAP_CHECK (access (ctx->marker, F_OK) < 0 && errno == ENOENT);
  TAP_CHECK (access (ctx->tmp, F_OK) < 0 && errno == ENOENT);
  points = mount_points ();
  TAP_CHECK_STR_EQ (points, "/ /data /dev /dev/mqueue /dev/pts /dev/shm /etc/hostfile /proc /shared /sys "
                            "/sys/fs/cgroup");
  {
    char cwd[PATH_MAX];
    TAP_CHECK (getcwd (cwd, sizeof (cwd)) != NULL);
    TAP_CHECK_STR_EQ (cwd, "/");
  }

  /* sysctl, in this child's own uts namespace.  */
  TAP_CHECK_INT_EQ (getdomainname (domain, sizeof (domain)), 0);
  TAP_CHECK_STR_EQ (domain, "berth.test");

  /* A program runs in it.  */
  fflush (stdout);
  pid = fork ();
  TAP_CHECK (pid >= 0);
  if (pid == 0)
    {
      execl ("/bin/busybox", "busybox", "sh", "-c",
             "test -c /dev/null && test -d /proc/self && test -L /dev/fd && echo hi > /dev/null "
             "&& test \"$(cat /data/hello)\" = hello && ! touch /x 2>/dev/null",
             (char *) NULL);
      _exit (127);
    }
  TAP_CHECK (waitpid (pid, &status, 0) == pid);
  if (! WIFEXITED (status) || WEXITSTATUS (status) != 0)
    TAP_FAIL ("busybox sh in the container: status 0x%x", status);
  return 0;
}

static int
test_setup_full (void)
{
  cleanup_tmpdir char *tmp = NULL;
  cleanup_free char *rootfs = NULL;
  cleanup_free char *data = NULL;
  cleanup_free char *hello = NULL;
  cleanup_free char *hostfile = NULL;
  cleanup_free char *marker = NULL;
  cleanup_free char *host_dev = NULL;
  char domain_before[64] = "", domain_after[64] = "";
  struct full_ctx ctx;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_REQUIRE (have_static_busybox (), NEED_BUSYBOX);
  tmp = make_tmpdir ();
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  data = path_in (tmp, "data");
  hello = path_in (tmp, "data/hello");
  hostfile = path_in (tmp, "hostfile");
  marker = path_in (tmp, "marker");
  host_dev = path_in (rootfs, "dev");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  TAP_CHECK_INT_EQ (copy_busybox (rootfs), 0);
  TAP_CHECK_INT_EQ (mkdirs (data), 0);
  TAP_CHECK_INT_EQ (write_str (hello, "hello"), 0);
  TAP_CHECK_INT_EQ (write_str (hostfile, "file-bind"), 0);
  TAP_CHECK_INT_EQ (write_str (marker, "outside"), 0);
  TAP_CHECK_INT_EQ (getdomainname (domain_before, sizeof (domain_before)), 0);

  ctx = (struct full_ctx){ .tmp = tmp, .rootfs = rootfs, .marker = marker };
  if (run_child (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS, child_full, &ctx) < 0)
    return -1;

  /* Nothing reached the host: no mount, an empty /dev in the rootfs directory.  */
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  TAP_CHECK_INT_EQ (count_entries (host_dev), 0);
  TAP_CHECK_INT_EQ (getdomainname (domain_after, sizeof (domain_after)), 0);
  TAP_CHECK_STR_EQ (domain_after, domain_before);
  return 0;
}

/* ---- 1b. linux.devices, linux.maskedPaths, linux.readonlyPaths (Docker's kind), with a
   sysctl written before /proc/sys turns read-only.  Some of Docker's paths are missing on
   some kernels (no /proc/kcore or /proc/sysrq-trigger in a VM): those are checked to be
   skipped, the ones there to be masked.  */

struct paths_ctx
{
  const char *rootfs;
  bool have_kcore, have_sysrq;
};

/* stat path: type, numbers, mode and owner.  */
static int
check_node_at (int line, const char *path, mode_t type, unsigned maj, unsigned min, mode_t mode, uid_t uid,
               gid_t gid)
{
  struct stat st;

  if (stat (path, &st) < 0)
    {
      tap_diag_at (__FILE__, line, "stat %s: %s", path, strerror (errno));
      return -1;
    }
  if ((st.st_mode & S_IFMT) != type || major (st.st_rdev) != maj || minor (st.st_rdev) != min
      || (st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid)
    {
      tap_diag_at (__FILE__, line, "%s: mode 0%o, dev %u:%u, owner %u:%u; expected mode 0%o, dev %u:%u, owner %u:%u",
                   path, (unsigned) st.st_mode, major (st.st_rdev), minor (st.st_rdev), (unsigned) st.st_uid,
                   (unsigned) st.st_gid, (unsigned) (type | mode), maj, min, (unsigned) uid, (unsigned) gid);
      return -1;
    }
  return 0;
}
#define CHECK_NODE(path, type, maj, min, mode, uid, gid)                              \
  do                                                                                  \
    {                                                                                 \
      if (check_node_at (__LINE__, path, type, maj, min, mode, uid, gid) < 0)         \
        return -1;                                                                    \
    }                                                                                 \
  while (0)

/* 0 when writing path fails with EROFS at open.  */
static int
write_fails_erofs (const char *path)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);

  if (fd >= 0)
    {
      close (fd);
      return -1;
    }
  return errno == EROFS ? 0 : -1;
}

static int
child_paths (void *arg)
{
  struct paths_ctx *ctx = arg;
  const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  struct berth_mount mounts[] = {
    mnt ("proc", "proc", "/proc", nse, NULL),
    mnt ("tmpfs", "tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
    mnt ("sysfs", "sysfs", "/sys", nse | MS_RDONLY, NULL),
  };
  char *masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/nonexistent",
                     "/dangling", "/proc/no/such", NULL };
  char *readonly[] = { "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/missing/too", NULL };
  struct berth_device devices[] = {
    { .path = "/dev/berth-test", .type = 'c', .major = 1, .minor = 3, .has_file_mode = true, .file_mode = 0620,
      .has_uid = true, .uid = 0, .has_gid = true, .gid = 0 },
    /* Missing parents are created; a FIFO; an owner.  */
    { .path = "/dev/berth/fifo", .type = 'p', .has_file_mode = true, .file_mode = 0600, .has_uid = true,
      .uid = 1000, .has_gid = true, .gid = 1001 },
    /* Defaults: 0666, 0:0.  */
    { .path = "/dev/berth/blk", .type = 'b', .major = 7, .minor = 200 },
    { .path = "/dev/berth/unbuffered", .type = 'u', .major = 1, .minor = 5, .has_file_mode = true,
      .file_mode = 0640, .has_gid = true, .gid = 5 },
    /* The same node as setup_dev made: kept, mode applied.  */
    { .path = "/dev/null", .type = 'c', .major = 1, .minor = 3, .has_file_mode = true, .file_mode = 0666 },
  };
  char *sysctl_keys[] = { "kernel.domainname" };
  char *sysctl_values[] = { "berth.paths" };
  struct berth_config c = {
    .root_path = (char *) ctx->rootfs,
    .mounts = mounts,
    .n_mounts = BERTH_ARRAY_SIZE (mounts),
    .sysctl_keys = sysctl_keys,
    .sysctl_values = sysctl_values,
    .n_sysctl = 1,
    .masked_paths = masked,
    .readonly_paths = readonly,
    .devices = devices,
    .n_devices = BERTH_ARRAY_SIZE (devices),
  };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  cleanup_free char *points = NULL;
  cleanup_free char *expected_points = NULL;
  cleanup_free char *keys = NULL;
  berth_error_t err = NULL;
  char domain[64] = "", buf[16];
  struct statvfs sv;

  CHECK_BERTH (berth_rootfs_setup (&c, &o, &err), err);

  /* Masked files are /dev/null: they read empty.  */
  CHECK_NODE ("/proc/keys", S_IFCHR, 1, 3, 0666, 0, 0);
  keys = read_str ("/proc/keys");
  TAP_CHECK_STR_EQ (keys, "");
  CHECK_NODE ("/proc/timer_list", S_IFCHR, 1, 3, 0666, 0, 0);
  if (ctx->have_kcore)
    {
      cleanup_close int fd = open ("/proc/kcore", O_RDONLY | O_CLOEXEC);
      CHECK_NODE ("/proc/kcore", S_IFCHR, 1, 3, 0666, 0, 0);
      TAP_CHECK (fd >= 0);
      TAP_CHECK_INT_EQ (read (fd, buf, sizeof (buf)), 0);
    }
  else
    TAP_CHECK (! exists ("/proc/kcore"));

  /* A masked directory: an empty read-only tmpfs.  */
  TAP_CHECK_INT_EQ (fs_type ("/sys/firmware"), TMPFS_MAGIC);
  TAP_CHECK (is_readonly ("/sys/firmware"));
  TAP_CHECK_INT_EQ (count_entries ("/sys/firmware"), 0);
  TAP_CHECK (open ("/sys/firmware/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == EROFS);
  TAP_CHECK (mkdir ("/sys/firmware/d", 0755) < 0 && errno == EROFS);

  /* Missing paths were skipped and not created; the dangling symlink is still one.  */
  TAP_CHECK (! exists ("/nonexistent"));
  TAP_CHECK (! exists ("/nowhere"));
  TAP_CHECK (! exists ("/missing"));
  {
    struct stat st;
    TAP_CHECK (lstat ("/dangling", &st) == 0 && S_ISLNK (st.st_mode));
  }

  /* The sysctl went in before /proc/sys turned read-only, which keeps nosuid,nodev,noexec.  */
  TAP_CHECK_INT_EQ (getdomainname (domain, sizeof (domain)), 0);
  TAP_CHECK_STR_EQ (domain, "berth.paths");
  TAP_CHECK (str_file_is ("/proc/sys/kernel/domainname", "berth.paths\n"));
  TAP_CHECK_INT_EQ (write_fails_erofs ("/proc/sys/kernel/domainname"), 0);
  TAP_CHECK_INT_EQ (statvfs ("/proc/sys", &sv), 0);
  TAP_CHECK_INT_EQ (sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC),
                    ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
  TAP_CHECK (is_readonly ("/proc/irq"));
  if (ctx->have_sysrq)
    TAP_CHECK_INT_EQ (write_fails_erofs ("/proc/sysrq-trigger"), 0);
  else
    TAP_CHECK (! exists ("/proc/sysrq-trigger"));
  /* The rest of /proc is as it was.  */
  TAP_CHECK (! is_readonly ("/proc"));
  TAP_CHECK (exists ("/proc/self/status"));

  /* Devices.  */
  CHECK_NODE ("/dev/berth-test", S_IFCHR, 1, 3, 0620, 0, 0);
  CHECK_NODE ("/dev/berth/fifo", S_IFIFO, 0, 0, 0600, 1000, 1001);
  CHECK_NODE ("/dev/berth/blk", S_IFBLK, 7, 200, 0666, 0, 0);
  CHECK_NODE ("/dev/berth/unbuffered", S_IFCHR, 1, 5, 0640, 0, 5);
  CHECK_NODE ("/dev/null", S_IFCHR, 1, 3, 0666, 0, 0);
  {
    /* The made-up node is the null device.  */
    cleanup_close int fd = open ("/dev/berth-test", O_RDWR | O_CLOEXEC);
    TAP_CHECK (fd >= 0);
    TAP_CHECK_INT_EQ (write (fd, "x", 1), 1);
    TAP_CHECK_INT_EQ (read (fd, buf, sizeof (buf)), 0);
  }

  /* Exactly these mounts.  */
  points = mount_points ();
  expected_points = xasprintf ("/ /dev /proc%s /proc/irq /proc/keys /proc/sys%s /proc/timer_list /sys /sys/firmware",
                               ctx->have_kcore ? " /proc/kcore" : "", ctx->have_sysrq ? " /proc/sysrq-trigger" : "");
  TAP_CHECK_STR_EQ (points, expected_points);
  return 0;
}

/* Failures name the call and the path.  */
static int
child_paths_errors (void *arg)
{
  struct paths_ctx *ctx = arg;
  struct berth_mount mounts[] = { mnt ("tmpfs", "tmpfs", "/dev", MS_NOSUID, "mode=755") };
  struct berth_device dev = { .path = "/dev/null", .type = 'c', .major = 1, .minor = 5 };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = mounts, .n_mounts = 1,
                            .devices = &dev, .n_devices = 1 };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  cleanup_free char *expected = NULL;
  berth_error_t err = NULL;

  /* Another node is there already.  */
  expected = xasprintf ("rootfs `%s`: mknod `/dev/null` (c 1:5): another file is already there: File exists",
                        ctx->rootfs);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EEXIST, expected);
  TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0);
  TAP_CHECK_STR_EQ (err->op, "mknodat");
  berth_error_release (&err);

  /* Through a regular file.  */
  dev = (struct berth_device){ .path = "/file/x", .type = 'b', .major = 8, .minor = 1 };
  free (expected);
  expected = xasprintf ("rootfs `%s`: mknod `/file/x` (b 8:1): Not a directory", ctx->rootfs);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, ENOTDIR, expected);

  /* Not a file name.  */
  dev = (struct berth_device){ .path = "/dev/..", .type = 'p' };
  free (expected);
  expected = xasprintf ("rootfs `%s`: mknod `/dev/..`: the path does not name a file: Invalid argument",
                        ctx->rootfs);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EINVAL, expected);
  return 0;
}

/* A masked file and no /dev/null in the container (no tmpfs /dev: nothing made one).  */
static int
child_paths_no_null (void *arg)
{
  struct paths_ctx *ctx = arg;
  struct berth_mount mounts[] = { mnt ("proc", "proc", "/proc", 0, NULL) };
  char *masked[] = { "/proc/keys", NULL };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = mounts, .n_mounts = 1,
                            .masked_paths = masked };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  berth_error_t err = NULL;

  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, ENOENT,
               "masked path `/proc/keys`: the container has no `/dev/null` (character device 1:3) to bind "
               "mount on it: No such file or directory");
  return 0;
}

static int
test_devices_masked_readonly (void)
{
  cleanup_tmpdir char *tmp = NULL;
  cleanup_free char *rootfs = NULL, *host_dev = NULL, *dangling = NULL, *file = NULL;
  cleanup_free char *nonexistent = NULL, *nowhere = NULL;
  char domain_before[64] = "", domain_after[64] = "";
  struct paths_ctx ctx;
  struct stat st;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  tmp = make_tmpdir ();
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  host_dev = path_in (rootfs, "dev");
  dangling = path_in (rootfs, "dangling");
  file = path_in (rootfs, "file");
  nonexistent = path_in (rootfs, "nonexistent");
  nowhere = path_in (rootfs, "nowhere");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  TAP_CHECK_INT_EQ (symlink ("/nowhere", dangling), 0);
  TAP_CHECK_INT_EQ (write_str (file, ""), 0);
  TAP_CHECK_INT_EQ (getdomainname (domain_before, sizeof (domain_before)), 0);
  ctx = (struct paths_ctx){ .rootfs = rootfs, .have_kcore = exists ("/proc/kcore"),
                            .have_sysrq = exists ("/proc/sysrq-trigger") };

  if (run_child (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS, child_paths, &ctx) < 0)
    return -1;
  /* No pid namespace: this one never pivots, and LeakSanitizer cannot stop the threads it
     lists in the host's /proc from a new pid namespace.  */
  if (run_child (CLONE_NEWNS, child_paths_errors, &ctx) < 0)
    return -1;
  if (run_child (CLONE_NEWNS | CLONE_NEWPID, child_paths_no_null, &ctx) < 0)
    return -1;

  /* Nothing reached the host.  */
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  TAP_CHECK_INT_EQ (count_entries (host_dev), 0);
  TAP_CHECK (! exists (nonexistent) && ! exists (nowhere));
  TAP_CHECK_INT_EQ (getdomainname (domain_after, sizeof (domain_after)), 0);
  TAP_CHECK_STR_EQ (domain_after, domain_before);
  TAP_CHECK (! is_readonly ("/proc/sys"));
  TAP_CHECK (fs_type ("/sys/firmware") != TMPFS_MAGIC);
  TAP_CHECK (stat ("/proc/keys", &st) == 0 && S_ISREG (st.st_mode));
  return 0;
}

/* ---- 2. layered roots.  */

struct layers
{
  char *tmp, *top, *bottom;
};

static int
make_layers (struct layers *l)
{
  cleanup_free char *a_top = NULL, *a_bottom = NULL, *b = NULL, *only = NULL, *sub = NULL;

  l->top = path_in (l->tmp, "lower-top");
  l->bottom = path_in (l->tmp, "lower-bottom");
  a_top = path_in (l->top, "a");
  only = path_in (l->top, "only-top");
  a_bottom = path_in (l->bottom, "a");
  b = path_in (l->bottom, "b");
  sub = path_in (l->bottom, "etc");
  if (mkdirs (l->top) < 0 || mkdirs (l->bottom) < 0 || mkdirs (sub) < 0)
    return -1;
  if (write_str (a_top, "top") < 0 || write_str (only, "only") < 0 || write_str (a_bottom, "bottom") < 0
      || write_str (b, "bottom-b") < 0)
    return -1;
  return 0;
}

static void
free_layers (struct layers *l)
{
  free (l->top);
  free (l->bottom);
}

struct overlay_ctx
{
  struct berth_config *c;
  const char *name;  /* file this container writes */
  const char *other; /* file the other one writes */
  int ready_fd, go_fd;
};

static int
child_overlay (void *arg)
{
  struct overlay_ctx *ctx = arg;
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  cleanup_free char *mine = xasprintf ("/%s", ctx->name);
  cleanup_free char *theirs = xasprintf ("/%s", ctx->other);
  berth_error_t err = NULL;
  char byte = 0;

  CHECK_BERTH (berth_rootfs_setup (ctx->c, &o, &err), err);
  TAP_CHECK_INT_EQ (fs_type ("/"), OVERLAYFS_SUPER_MAGIC);
  TAP_CHECK (str_file_is ("/a", "top")); /* the top layer shadows the bottom one */
  TAP_CHECK (str_file_is ("/b", "bottom-b"));
  TAP_CHECK (str_file_is ("/only-top", "only"));
  TAP_CHECK (exists ("/etc"));
  TAP_CHECK_INT_EQ (write_str (mine, ctx->name), 0);
  TAP_CHECK_INT_EQ (write_str ("/b", "changed"), 0);
  TAP_CHECK_INT_EQ (unlink ("/only-top"), 0);
  TAP_CHECK_INT_EQ (mkdir ("/newdir", 0755), 0);

  if (ctx->ready_fd >= 0)
    {
      /* Both containers are up with their writes done: neither sees the other's.  */
      TAP_CHECK_INT_EQ (write (ctx->ready_fd, "r", 1), 1);
      TAP_CHECK_INT_EQ (read (ctx->go_fd, &byte, 1), 1);
    }
  TAP_CHECK (str_file_is (mine, ctx->name));
  TAP_CHECK (! exists (theirs));
  TAP_CHECK (! exists ("/only-top"));
  return 0;
}

static int
check_upper (const char *tmp, const struct layers *l, const char *w, const char *name)
{
  cleanup_free char *upper_file = xasprintf ("%s/upper/%s", w, name);
  cleanup_free char *upper_b = xasprintf ("%s/upper/b", w);
  cleanup_free char *upper_only = xasprintf ("%s/upper/only-top", w);
  cleanup_free char *work = xasprintf ("%s/work", w);
  cleanup_free char *in_top = path_in (l->top, name);
  cleanup_free char *in_bottom = path_in (l->bottom, name);
  cleanup_free char *top_only = path_in (l->top, "only-top");
  cleanup_free char *bottom_b = path_in (l->bottom, "b");
  struct stat st;

  (void) tmp;
  TAP_CHECK (str_file_is (upper_file, name));
  TAP_CHECK (str_file_is (upper_b, "changed"));
  /* the deletion is a whiteout (0/0 character device) in upper */
  TAP_CHECK_INT_EQ (lstat (upper_only, &st), 0);
  TAP_CHECK (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  TAP_CHECK (exists (work));
  /* The layers are untouched.  */
  TAP_CHECK (! exists (in_top));
  TAP_CHECK (! exists (in_bottom));
  TAP_CHECK (str_file_is (top_only, "only"));
  TAP_CHECK (str_file_is (bottom_b, "bottom-b"));
  return 0;
}

static int
test_overlay_root (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  struct layers l __attribute__ ((cleanup (free_layers))) = { 0 };
  cleanup_free char *rootfs = NULL;
  cleanup_free char *w = NULL;
  char *lower[3];
  struct berth_config c = { 0 };
  struct overlay_ctx ctx = { .c = &c, .name = "one", .other = "two", .ready_fd = -1, .go_fd = -1 };
  berth_error_t err = NULL;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  l.tmp = tmp;
  TAP_CHECK_INT_EQ (make_layers (&l), 0);
  rootfs = path_in (tmp, "rootfs");
  w = path_in (tmp, "state/writable"); /* created by the setup, parents included */
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  lower[0] = l.top;
  lower[1] = l.bottom;
  lower[2] = NULL;
  c.root_path = rootfs;
  c.overlay_lower = lower;
  c.overlay_writable = w;

  if (run_child (CLONE_NEWNS, child_overlay, &ctx) < 0)
    return -1;
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  TAP_CHECK_INT_EQ (count_entries (rootfs), 0); /* the overlay was only in the child */
  if (check_upper (tmp, &l, w, "one") < 0)
    return -1;

  /* overlayfs leaves work/work (mode 000) behind: remove_writable takes it all.  */
  CHECK_BERTH (berth_rootfs_remove_writable (w, &err), err);
  TAP_CHECK (! exists (w));
  CHECK_BERTH (berth_rootfs_remove_writable (w, &err), err); /* gone: still success */
  return 0;
}

static int
test_overlay_two_containers (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  struct layers l __attribute__ ((cleanup (free_layers))) = { 0 };
  cleanup_free char *root1 = NULL, *root2 = NULL, *w1 = NULL, *w2 = NULL;
  char *lower[3];
  struct berth_config c1 = { 0 }, c2 = { 0 };
  struct overlay_ctx ctx1 = { .c = &c1, .name = "from-one", .other = "from-two" };
  struct overlay_ctx ctx2 = { .c = &c2, .name = "from-two", .other = "from-one" };
  int ready[2][2] = { { -1, -1 }, { -1, -1 } }, go[2][2] = { { -1, -1 }, { -1, -1 } };
  int report[2] = { -1, -1 };
  pid_t pid[2] = { -1, -1 };
  berth_error_t err = NULL;
  int i, failed = 0;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  l.tmp = tmp;
  TAP_CHECK_INT_EQ (make_layers (&l), 0);
  root1 = path_in (tmp, "rootfs1");
  root2 = path_in (tmp, "rootfs2");
  w1 = path_in (tmp, "w1");
  w2 = path_in (tmp, "w2");
  TAP_CHECK_INT_EQ (mkdirs (root1), 0);
  TAP_CHECK_INT_EQ (mkdirs (root2), 0);
  lower[0] = l.top;
  lower[1] = l.bottom;
  lower[2] = NULL;
  c1 = (struct berth_config){ .root_path = root1, .overlay_lower = lower, .overlay_writable = w1 };
  c2 = (struct berth_config){ .root_path = root2, .overlay_lower = lower, .overlay_writable = w2 };

  /* Both run at once; each waits for "go" once its writes are done.  A child that fails
     early closes its ready pipe, which ends our wait on it.  */
  for (i = 0; i < 2; i++)
    {
      struct overlay_ctx *ctx = i == 0 ? &ctx1 : &ctx2;
      TAP_CHECK_INT_EQ (pipe2 (ready[i], O_CLOEXEC), 0);
      TAP_CHECK_INT_EQ (pipe2 (go[i], O_CLOEXEC), 0);
      ctx->ready_fd = ready[i][1];
      ctx->go_fd = go[i][0];
      pid[i] = start_child (CLONE_NEWNS, child_overlay, ctx, &report[i]);
      close (ready[i][1]);
      close (go[i][0]);
      TAP_CHECK (pid[i] > 0);
    }
  for (i = 0; i < 2; i++)
    {
      char byte;
      if (read (ready[i][0], &byte, 1) != 1)
        failed = 1;
    }
  for (i = 0; i < 2; i++)
    {
      if (write (go[i][1], "g", 1) != 1)
        failed = 1;
      close (go[i][1]);
      close (ready[i][0]);
    }
  for (i = 0; i < 2; i++)
    if (finish_child (pid[i], report[i]) < 0)
      failed = 1;
  if (failed)
    TAP_FAIL ("a container failed");

  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  if (check_upper (tmp, &l, w1, "from-one") < 0 || check_upper (tmp, &l, w2, "from-two") < 0)
    return -1;
  CHECK_BERTH (berth_rootfs_remove_writable (w1, &err), err);
  CHECK_BERTH (berth_rootfs_remove_writable (w2, &err), err);
  TAP_CHECK (! exists (w1) && ! exists (w2));
  return 0;
}

/* ---- 3. symlinks in the rootfs do not lead out of it.  */

struct escape_ctx
{
  const char *rootfs, *outside, *hostfile;
};

static int
escape_before_pivot (void *arg, berth_error_t *err)
{
  struct escape_ctx *ctx = arg;
  int n = count_entries (ctx->outside);

  /* All mounts are in place: had one followed a symlink out, it would be here.  */
  if (n != 0)
    return berth_make_error_op (err, EEXIST, "escape", "`%s` has %d entries: a mount escaped the root",
                                ctx->outside, n);
  return 0;
}

static int
child_escape (void *arg)
{
  struct escape_ctx *ctx = arg;
  cleanup_free char *in_root = xasprintf ("%s/x", ctx->outside);
  struct berth_mount mounts[] = {
    mnt ("tmpfs", "tmpfs", "/evil/x", 0, NULL),        /* absolute symlink to the outside dir */
    mnt ("tmpfs", "tmpfs", "/evil2/y", 0, NULL),       /* relative symlink climbing out */
    mnt ("bind", ctx->hostfile, "/evilfile", MS_BIND, NULL), /* dangling symlink to an outside file */
    mnt ("tmpfs", "tmpfs", "/inside/z", 0, NULL),      /* relative symlink within the root */
    mnt ("tmpfs", "tmpfs", "/loop/../dotdot/w", 0, NULL),
  };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = mounts, .n_mounts = BERTH_ARRAY_SIZE (mounts) };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1, .before_pivot = escape_before_pivot, .before_pivot_arg = ctx };
  berth_error_t err = NULL;

  CHECK_BERTH (berth_rootfs_setup (&c, &o, &err), err);
  /* Inside the container the symlinks lead to the mounts.  */
  TAP_CHECK_INT_EQ (fs_type ("/evil/x"), TMPFS_MAGIC);
  TAP_CHECK_INT_EQ (fs_type (in_root), TMPFS_MAGIC);
  TAP_CHECK_INT_EQ (write_str ("/evil/x/f", "in"), 0);
  TAP_CHECK_INT_EQ (fs_type ("/evil2/y"), TMPFS_MAGIC);
  TAP_CHECK (str_file_is ("/evilfile", "host file"));
  TAP_CHECK_INT_EQ (fs_type ("/real/z"), TMPFS_MAGIC);
  TAP_CHECK_INT_EQ (fs_type ("/dotdot/w"), TMPFS_MAGIC);
  return 0;
}

static int
test_symlink_escape (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *rootfs = NULL, *outside = NULL, *hostfile = NULL, *link = NULL, *target = NULL;
  cleanup_free char *created = NULL, *created2 = NULL, *created_file = NULL, *real = NULL;
  struct escape_ctx ctx;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  outside = path_in (tmp, "outside");
  hostfile = path_in (tmp, "hostfile");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  TAP_CHECK_INT_EQ (mkdirs (outside), 0);
  TAP_CHECK_INT_EQ (write_str (hostfile, "host file"), 0);

  link = path_in (rootfs, "evil");
  TAP_CHECK_INT_EQ (symlink (outside, link), 0); /* evil -> /tmp/berth-rootfs-XXX/outside */
  free (link);
  link = path_in (rootfs, "evil2");
  target = xasprintf ("../../../../../../../..%s", outside);
  TAP_CHECK_INT_EQ (symlink (target, link), 0);
  free (link);
  free (target);
  link = path_in (rootfs, "evilfile");
  target = path_in (outside, "file");
  TAP_CHECK_INT_EQ (symlink (target, link), 0);
  free (link);
  link = path_in (rootfs, "inside");
  TAP_CHECK_INT_EQ (symlink ("real", link), 0);
  free (link);
  link = path_in (rootfs, "loop");
  TAP_CHECK_INT_EQ (symlink ("..", link), 0);

  ctx = (struct escape_ctx){ .rootfs = rootfs, .outside = outside, .hostfile = hostfile };
  if (run_child (CLONE_NEWNS, child_escape, &ctx) < 0)
    return -1;

  /* The outside directory stayed empty; the targets were created inside the rootfs.  */
  TAP_CHECK_INT_EQ (count_entries (outside), 0);
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  created = xasprintf ("%s%s/x", rootfs, outside);
  created2 = xasprintf ("%s%s/y", rootfs, outside);
  created_file = xasprintf ("%s%s/file", rootfs, outside);
  real = path_in (rootfs, "real/z");
  TAP_CHECK (exists (created));
  TAP_CHECK (exists (created2));
  TAP_CHECK (exists (created_file));
  TAP_CHECK (exists (real));
  return 0;
}

/* ---- 4. errors.  */

struct errors_ctx
{
  const char *tmp, *rootfs;
};

static int
failing_before_pivot (void *arg, berth_error_t *err)
{
  (void) arg;
  return berth_make_error_op (err, EPERM, "hook", "createContainer hook failed");
}

static int
child_errors (void *arg)
{
  struct errors_ctx *ctx = arg;
  cleanup_free char *expected = NULL;
  cleanup_free char *missing = path_in (ctx->tmp, "missing");
  cleanup_free char *w = path_in (ctx->tmp, "w");
  cleanup_free char *comma = path_in (ctx->tmp, "a,b");
  cleanup_free char *colon = path_in (ctx->tmp, "a:b");
  cleanup_free char *newline = path_in (ctx->tmp, "a\nb");
  cleanup_free char *long_layer = NULL;
  char *lower[200];
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  struct berth_mount m[1];
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = m, .n_mounts = 1 };
  berth_error_t err = NULL;
  size_t i;

  /* A mount the kernel refuses: the message has the container path, the root once.  */
  m[0] = mnt ("tmpfs", "tmpfs", "/bad", 0, "no_such_option=1");
  expected = xasprintf ("rootfs `%s`: mount tmpfs on `/bad`: Invalid argument", ctx->rootfs);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EINVAL, expected);

  /* A missing bind source.  */
  m[0] = mnt ("bind", missing, "/x", MS_BIND, NULL);
  free (expected);
  expected = xasprintf ("rootfs `%s`: bind mount `%s` on `/x`: No such file or directory", ctx->rootfs, missing);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, ENOENT, expected);
  {
    /* The op survives the wrap.  */
    TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0);
    TAP_CHECK_STR_EQ (err->op, "stat");
    berth_error_release (&err);
  }

  /* Through a regular file.  */
  m[0] = mnt ("tmpfs", "tmpfs", "/file/x", 0, NULL);
  free (expected);
  expected = xasprintf ("rootfs `%s`: mount tmpfs on `/file/x`: `/file` is not a directory: Not a directory",
                        ctx->rootfs);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, ENOTDIR, expected);

  /* Onto the root itself.  */
  m[0] = mnt ("tmpfs", "tmpfs", "/sub/..", 0, NULL);
  free (expected);
  expected = xasprintf ("rootfs `%s`: mount tmpfs on `/sub/..`: the destination is the root: Invalid argument",
                        ctx->rootfs);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EINVAL, expected);

  /* A symlink loop.  */
  m[0] = mnt ("tmpfs", "tmpfs", "/self/x", 0, NULL);
  TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, ELOOP);
  berth_error_release (&err);

  /* before_pivot's error comes back as is, and nothing was pivoted.  */
  c.n_mounts = 0;
  o.before_pivot = failing_before_pivot;
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EPERM, "createContainer hook failed: Operation not permitted");
  TAP_CHECK (exists (ctx->tmp));
  o.before_pivot = NULL;

  /* Layer paths overlayfs options cannot carry; nothing is created then.  */
  c.overlay_writable = w;
  c.overlay_lower = lower;
  lower[0] = comma;
  lower[1] = NULL;
  free (expected);
  expected = xasprintf ("overlay lower layer `%s` contains ',', which overlayfs mount options cannot carry: "
                        "Invalid argument",
                        comma);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EINVAL, expected);
  lower[0] = colon;
  free (expected);
  expected = xasprintf ("overlay lower layer `%s` contains ':', which overlayfs mount options cannot carry: "
                        "Invalid argument",
                        colon);
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EINVAL, expected);
  lower[0] = newline;
  TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0);
  TAP_CHECK (strstr (err->msg, "contains a newline") != NULL);
  berth_error_release (&err);
  lower[0] = (char *) "relative/layer";
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EINVAL,
               "overlay lower layer `relative/layer` is not an absolute path: Invalid argument");

  /* More than a page of options.  */
  long_layer = xasprintf ("%s/%0100d", ctx->tmp, 0);
  for (i = 0; i < 60; i++)
    lower[i] = long_layer;
  lower[i] = NULL;
  TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, E2BIG);
  free (expected);
  expected = xasprintf ("mount overlay on `%s`: the options take ", ctx->rootfs);
  TAP_CHECK (strncmp (err->msg, expected, strlen (expected)) == 0);
  berth_error_release (&err);
  TAP_CHECK (! exists (w));

  /* No lower layer, no writable directory.  */
  lower[0] = NULL;
  TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0 && err->status == EINVAL);
  berth_error_release (&err);
  lower[0] = (char *) ctx->tmp;
  lower[1] = NULL;
  c.overlay_writable = NULL;
  TAP_CHECK (berth_rootfs_setup (&c, &o, &err) < 0 && err->status == EINVAL);
  berth_error_release (&err);
  return 0;
}

static int
child_sysctl_errors (void *arg)
{
  struct errors_ctx *ctx = arg;
  struct berth_mount m[] = { mnt ("proc", "proc", "/proc", 0, NULL) };
  char *keys[] = { "kernel.no_such_key" };
  char *values[] = { "1" };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = m, .n_mounts = 1,
                            .sysctl_keys = keys, .sysctl_values = values, .n_sysctl = 1 };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  berth_error_t err = NULL;

  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, ENOENT,
               "sysctl `kernel.no_such_key`: open `/proc/sys/kernel/no_such_key`: No such file or directory");
  return 0;
}

static int
child_sysctl_escape (void *arg)
{
  struct errors_ctx *ctx = arg;
  struct berth_mount m[] = { mnt ("proc", "proc", "/proc", 0, NULL) };
  char *keys[] = { "kernel/../../self/environ" };
  char *values[] = { "1" };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = m, .n_mounts = 1,
                            .sysctl_keys = keys, .sysctl_values = values, .n_sysctl = 1 };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  berth_error_t err = NULL;

  /* ".." cannot leave /proc/sys.  */
  CHECK_ERROR (berth_rootfs_setup (&c, &o, &err), err, EXDEV,
               "sysctl `kernel/../../self/environ`: open `/proc/sys/kernel/../../self/environ`: "
               "Invalid cross-device link");
  return 0;
}

static int
test_errors (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *rootfs = NULL, *file = NULL, *self = NULL;
  struct errors_ctx ctx;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  file = path_in (rootfs, "file");
  self = path_in (rootfs, "self");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  TAP_CHECK_INT_EQ (write_str (file, ""), 0);
  TAP_CHECK_INT_EQ (symlink ("self", self), 0);
  ctx = (struct errors_ctx){ .tmp = tmp, .rootfs = rootfs };

  if (run_child (CLONE_NEWNS, child_errors, &ctx) < 0)
    return -1;
  if (run_child (CLONE_NEWNS | CLONE_NEWPID, child_sysctl_errors, &ctx) < 0)
    return -1;
  if (run_child (CLONE_NEWNS | CLONE_NEWPID, child_sysctl_escape, &ctx) < 0)
    return -1;
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  return 0;
}

/* ---- 5. /dev/console.  */

struct console_ctx
{
  const char *rootfs;
  int slave;
};

static int
child_console (void *arg)
{
  struct console_ctx *ctx = arg;
  struct berth_mount m[] = {
    mnt ("proc", "proc", "/proc", 0, NULL),
    mnt ("tmpfs", "tmpfs", "/dev", MS_NOSUID, "mode=755"),
  };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = m, .n_mounts = BERTH_ARRAY_SIZE (m) };
  struct berth_rootfs_options o = { .console_fd = ctx->slave, .root_mount_fd = -1 };
  berth_error_t err = NULL;
  struct stat want, got;

  TAP_CHECK_INT_EQ (fstat (ctx->slave, &want), 0);
  CHECK_BERTH (berth_rootfs_setup (&c, &o, &err), err);
  TAP_CHECK_INT_EQ (stat ("/dev/console", &got), 0);
  TAP_CHECK (S_ISCHR (got.st_mode));
  TAP_CHECK_INT_EQ (got.st_rdev, want.st_rdev);
  {
    cleanup_close int fd = open ("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    TAP_CHECK (fd >= 0);
    TAP_CHECK (isatty (fd));
  }
  return 0;
}

static int
test_console (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *rootfs = NULL;
  cleanup_close int master = -1;
  cleanup_close int slave = -1;
  struct console_ctx ctx;
  char *name;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  TAP_REQUIRE (master >= 0, "mount -t devpts devpts /dev/pts");
  TAP_CHECK (grantpt (master) == 0 && unlockpt (master) == 0);
  name = ptsname (master);
  TAP_CHECK (name != NULL);
  slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  TAP_CHECK (slave >= 0);

  ctx = (struct console_ctx){ .rootfs = rootfs, .slave = slave };
  if (run_child (CLONE_NEWNS | CLONE_NEWPID, child_console, &ctx) < 0)
    return -1;
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  return 0;
}

/* ---- 6. in a user namespace: mknod is refused, flags are locked.  */

struct userns_ctx
{
  const char *rootfs, *locked;
};

static int
child_userns (void *arg)
{
  struct userns_ctx *ctx = arg;
  struct berth_mount m[] = {
    mnt ("tmpfs", "tmpfs", "/dev", MS_NOSUID, "mode=755"),
    mnt ("bind", ctx->locked, "/locked", MS_BIND | MS_RDONLY, NULL),
  };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .root_readonly = true, .mounts = m,
                            .n_mounts = BERTH_ARRAY_SIZE (m) };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  berth_error_t err = NULL;
  struct statvfs sv;
  struct stat st;

  /* A nosuid,nodev,noexec mount made while privileged; copied into a user namespace's
     mount namespace its flags are locked, so remounting it read-only alone is EPERM.  */
  if (mount ("tmpfs", ctx->locked, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k") < 0)
    TAP_FAIL ("mount tmpfs on %s: %s", ctx->locked, strerror (errno));
  if (enter_userns (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    TAP_FAIL ("enter a user namespace: %s", strerror (errno));

  CHECK_BERTH (berth_rootfs_setup (&c, &o, &err), err);
  /* /dev/null is the host's, bind-mounted.  */
  TAP_CHECK_INT_EQ (stat ("/dev/null", &st), 0);
  TAP_CHECK (S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3));
  TAP_CHECK_INT_EQ (stat ("/dev/tty", &st), 0);
  TAP_CHECK (S_ISCHR (st.st_mode) && st.st_rdev == makedev (5, 0));
  {
    cleanup_close int fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    TAP_CHECK (fd >= 0);
    TAP_CHECK_INT_EQ (write (fd, "x", 1), 1);
  }
  /* Read-only, and the locked flags kept.  */
  TAP_CHECK_INT_EQ (statvfs ("/locked", &sv), 0);
  TAP_CHECK ((sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC))
             == (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC));
  TAP_CHECK (is_readonly ("/"));
  return 0;
}

static int
test_userns_fallbacks (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *rootfs = NULL, *locked = NULL;
  struct userns_ctx ctx;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_REQUIRE (access ("/proc/sys/user/max_user_namespaces", F_OK) == 0, "a kernel with CONFIG_USER_NS=y");
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  locked = path_in (tmp, "locked");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  TAP_CHECK_INT_EQ (mkdirs (locked), 0);
  ctx = (struct userns_ctx){ .rootfs = rootfs, .locked = locked };
  if (run_child (CLONE_NEWNS, child_userns, &ctx) < 0)
    return -1;
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  return 0;
}

/* ---- 7. a host whose "/" is shared (systemd): nothing propagates back.  */

struct shared_ctx
{
  const char *tmp, *rootfs;
  unsigned long propagation;
  int ready_fd, go_fd;
};

static int
container_on_shared_host (void *arg)
{
  struct shared_ctx *ctx = arg;
  struct berth_mount m[] = { mnt ("tmpfs", "tmpfs", "/t", 0, NULL) };
  struct berth_config c = { .root_path = (char *) ctx->rootfs, .mounts = m, .n_mounts = 1,
                            .rootfs_propagation = ctx->propagation };
  struct berth_rootfs_options o = { .console_fd = -1, .root_mount_fd = -1 };
  berth_error_t err = NULL;
  char byte;

  CHECK_BERTH (berth_rootfs_setup (&c, &o, &err), err);
  TAP_CHECK_INT_EQ (fs_type ("/t"), TMPFS_MAGIC);
  TAP_CHECK_INT_EQ (write (ctx->ready_fd, "r", 1), 1);
  TAP_CHECK_INT_EQ (read (ctx->go_fd, &byte, 1), 1);
  return 0;
}

static int
host_shared (void *arg)
{
  struct shared_ctx *ctx = arg;
  int ready[2], go[2], report = -1, failed = 0;
  char byte;
  pid_t pid;

  /* This child is the "host": make its mounts shared, as systemd does.  */
  if (mount (NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
    TAP_FAIL ("make / rshared: %s", strerror (errno));
  TAP_CHECK_INT_EQ (pipe2 (ready, O_CLOEXEC), 0);
  TAP_CHECK_INT_EQ (pipe2 (go, O_CLOEXEC), 0);
  ctx->ready_fd = ready[1];
  ctx->go_fd = go[0];
  pid = start_child (CLONE_NEWNS, container_on_shared_host, ctx, &report);
  close (ready[1]);
  close (go[0]);
  TAP_CHECK (pid > 0);
  if (read (ready[0], &byte, 1) != 1)
    failed = 1;
  /* The container is up with its mounts: the host sees none of them.  */
  if (! failed && count_mounts_under (ctx->tmp) != 0)
    {
      cleanup_free char *points = mount_points ();
      tap_diag ("propagation 0x%lx: the host sees mounts of the container: %s", ctx->propagation, points);
      failed = 1;
    }
  if (write (go[1], "g", 1) != 1)
    failed = 1;
  close (go[1]);
  close (ready[0]);
  if (finish_child (pid, report) < 0)
    failed = 1;
  return failed ? -1 : 0;
}

static int
test_shared_host_propagation (void)
{
  static const unsigned long props[] = { 0, MS_REC | MS_SLAVE, MS_REC | MS_SHARED, MS_REC | MS_PRIVATE,
                                         MS_SHARED, MS_REC | MS_UNBINDABLE };
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *rootfs = NULL;
  struct shared_ctx ctx;
  size_t i;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  rootfs = path_in (tmp, "rootfs");
  TAP_CHECK_INT_EQ (mkdirs (rootfs), 0);
  for (i = 0; i < BERTH_ARRAY_SIZE (props); i++)
    {
      ctx = (struct shared_ctx){ .tmp = tmp, .rootfs = rootfs, .propagation = props[i] };
      if (run_child (CLONE_NEWNS, host_shared, &ctx) < 0)
        TAP_FAIL ("rootfs propagation 0x%lx failed", props[i]);
    }
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  return 0;
}

/* ---- 8. berth_rootfs_remove_writable.  */

static int
make_deep (const char *dir, int depth)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int i;

  if (fd < 0)
    return -1;
  for (i = 0; i < depth; i++)
    {
      int next;
      if (mkdirat (fd, "deep", 0755) < 0)
        return -1;
      next = openat (fd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (next < 0)
        return -1;
      close (fd);
      fd = next;
    }
  return mknodat (fd, "fifo", S_IFIFO | 0600, 0);
}

static int
test_remove_writable (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *w = NULL, *keep = NULL, *keepdir = NULL, *keepdir_file = NULL;
  cleanup_free char *p = NULL;
  berth_error_t err = NULL;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  w = path_in (tmp, "w");
  keep = path_in (tmp, "keep");
  keepdir = path_in (tmp, "keepdir");
  keepdir_file = path_in (tmp, "keepdir/file");
  TAP_CHECK_INT_EQ (write_str (keep, "keep"), 0);
  TAP_CHECK_INT_EQ (mkdirs (keepdir), 0);
  TAP_CHECK_INT_EQ (write_str (keepdir_file, "keep"), 0);

  p = path_in (w, "upper/a/b/c");
  TAP_CHECK_INT_EQ (mkdirs (p), 0);
  free (p);
  p = path_in (w, "upper/a/b/c/file");
  TAP_CHECK_INT_EQ (write_str (p, "x"), 0);
  free (p);
  p = path_in (w, "upper/link-to-file");
  TAP_CHECK_INT_EQ (symlink (keep, p), 0);
  free (p);
  p = path_in (w, "upper/link-to-dir");
  TAP_CHECK_INT_EQ (symlink (keepdir, p), 0);
  free (p);
  p = path_in (w, "upper/whiteout");
  TAP_CHECK_INT_EQ (mknod (p, S_IFCHR | 0, makedev (0, 0)), 0);
  free (p);
  p = path_in (w, "upper/a/mode000-file");
  TAP_CHECK_INT_EQ (write_str (p, "x"), 0);
  TAP_CHECK_INT_EQ (chmod (p, 0), 0);
  /* overlayfs's work/work, mode 000, with something in it */
  free (p);
  p = path_in (w, "work/work/inner");
  TAP_CHECK_INT_EQ (mkdirs (p), 0);
  free (p);
  p = path_in (w, "work/work");
  TAP_CHECK_INT_EQ (chmod (p, 0), 0);
  /* Deeper than PATH_MAX and than the fd limit allows a walk holding one fd per level.  */
  free (p);
  p = path_in (w, "upper");
  TAP_CHECK_INT_EQ (make_deep (p, 3000), 0);

  CHECK_BERTH (berth_rootfs_remove_writable (w, &err), err);
  TAP_CHECK (! exists (w));
  TAP_CHECK (str_file_is (keep, "keep"));
  TAP_CHECK (str_file_is (keepdir_file, "keep"));

  /* Missing: success; a missing parent too.  */
  CHECK_BERTH (berth_rootfs_remove_writable (w, &err), err);
  free (p);
  p = path_in (tmp, "no/such/dir");
  CHECK_BERTH (berth_rootfs_remove_writable (p, &err), err);
  return 0;
}

struct mounted_ctx
{
  const char *w;
};

static int
child_remove_mounted (void *arg)
{
  struct mounted_ctx *ctx = arg;
  cleanup_free char *mnt_dir = path_in (ctx->w, "upper/mnt");
  cleanup_free char *in_mnt = path_in (ctx->w, "upper/mnt/precious");
  cleanup_free char *expected = NULL;
  berth_error_t err = NULL;

  TAP_CHECK_INT_EQ (mkdirs (mnt_dir), 0);
  if (mount ("tmpfs", mnt_dir, "tmpfs", 0, "size=64k") < 0)
    TAP_FAIL ("mount tmpfs: %s", strerror (errno));
  TAP_CHECK_INT_EQ (write_str (in_mnt, "precious"), 0);

  /* A mount point is not emptied.  */
  expected = xasprintf ("refusing to remove the mount point `%s/upper/mnt`: Device or resource busy", ctx->w);
  CHECK_ERROR (berth_rootfs_remove_writable (ctx->w, &err), err, EBUSY, expected);
  TAP_CHECK (str_file_is (in_mnt, "precious"));
  TAP_CHECK_INT_EQ (umount2 (mnt_dir, MNT_DETACH), 0);
  CHECK_BERTH (berth_rootfs_remove_writable (ctx->w, &err), err);
  TAP_CHECK (! exists (ctx->w));
  return 0;
}

static int
test_remove_writable_mount_point (void)
{
  cleanup_tmpdir char *tmp = make_tmpdir ();
  cleanup_free char *w = NULL;
  struct mounted_ctx ctx;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (tmp != NULL);
  w = path_in (tmp, "w");
  ctx.w = w;
  if (run_child (CLONE_NEWNS, child_remove_mounted, &ctx) < 0)
    return -1;
  TAP_CHECK_INT_EQ (count_mounts_under (tmp), 0);
  TAP_CHECK (! exists (w));
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_setup_full),
  TAP_TEST (test_devices_masked_readonly),
  TAP_TEST (test_overlay_root),
  TAP_TEST (test_overlay_two_containers),
  TAP_TEST (test_symlink_escape),
  TAP_TEST (test_errors),
  TAP_TEST (test_console),
  TAP_TEST (test_userns_fallbacks),
  TAP_TEST (test_shared_host_propagation),
  TAP_TEST (test_remove_writable),
  TAP_TEST (test_remove_writable_mount_point),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
