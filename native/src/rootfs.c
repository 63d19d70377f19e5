/*
 * Berth runtime: the container's root filesystem (see rootfs.h).
 *
 * Everything here runs in the container process, in its own mount namespace, before it
 * executes the user program; nothing is undone on failure (the namespace dies with the
 * process).
 *
 * Mount destinations are resolved inside the root one component at a time with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS): a symlink met on the way is read and
 * followed by hand, still relative to the root, so `/etc -> /host/etc` or `../../..` lands
 * inside the root and a dangling one gets its target created inside the root.  Each mount
 * then goes onto "/proc/self/fd/N" of an O_PATH fd of the resolved target, never onto a
 * path the kernel would walk again.
 *
 * Overlay options go through mount(2), so the whole "lowerdir=...,upperdir=...,workdir=..."
 * must fit in one page: a longer one is refused (E2BIG) rather than handed to fsconfig(2)
 * (Debian 12's kernel 6.1 has no "lowerdir+", so fsconfig would not lift the limit there).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "rootfs.h"
#include "utils.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
/* What MS_REMOUNT | MS_BIND can change on one mount.  */
#define PER_MOUNT_FLAGS                                                                  \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME \
   | MS_STRICTATIME)
#define MAX_SYMLINKS 40
#define PROC_FD_PATH_SIZE 32

/* ---- small helpers.  */

static const char *
proc_fd_path (char *buf, int fd)
{
  snprintf (buf, PROC_FD_PATH_SIZE, "/proc/self/fd/%d", fd);
  return buf;
}

/* openat2(2); glibc 2.36 has no wrapper.  Retries EAGAIN, which RESOLVE_IN_ROOT returns
   when a rename or mount raced with a ".." lookup.  */
static int
sys_openat2 (int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
  struct open_how how = { .flags = flags, .resolve = resolve };
  int tries = 0;
  long fd;

  do
    fd = syscall (SYS_openat2, dirfd, path, &how, sizeof (how));
  while (fd < 0 && errno == EAGAIN && ++tries < 32);
  return (int) fd;
}

/* O_PATH fd of `rel`, a canonical path from the root ("" is the root itself): no symlink
   is followed anywhere, so a component replaced by a symlink since it was checked fails
   with ELOOP instead of leading elsewhere.  -1 with errno set on failure.  */
static int
open_in_root (int rootfd, const char *rel, int flags)
{
  return sys_openat2 (rootfd, *rel ? rel : ".", O_PATH | O_CLOEXEC | flags,
                      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static int
openat2_error (berth_error_t *err, int errno_, const char *rel)
{
  if (errno_ == ENOSYS)
    return berth_make_error_op (err, errno_, "openat2", "openat2 `/%s` (needs Linux 5.6 or later)", rel);
  return berth_make_error_op (err, errno_, "openat2", "openat2 `/%s`", rel);
}

/* ST_* of statvfs(3) as MS_* flags for a bind remount.  */
static unsigned long
statvfs_to_mount_flags (unsigned long f)
{
  unsigned long flags = 0;

  if (f & ST_RDONLY)
    flags |= MS_RDONLY;
  if (f & ST_NOSUID)
    flags |= MS_NOSUID;
  if (f & ST_NODEV)
    flags |= MS_NODEV;
  if (f & ST_NOEXEC)
    flags |= MS_NOEXEC;
  if (f & ST_NOATIME)
    flags |= MS_NOATIME;
  if (f & ST_NODIRATIME)
    flags |= MS_NODIRATIME;
  if (f & ST_RELATIME)
    flags |= MS_RELATIME;
  return flags;
}

static const char *
propagation_name (unsigned long flags)
{
  bool rec = (flags & MS_REC) != 0;

  if (flags & MS_SHARED)
    return rec ? "rshared" : "shared";
  if (flags & MS_SLAVE)
    return rec ? "rslave" : "slave";
  if (flags & MS_UNBINDABLE)
    return rec ? "runbindable" : "unbindable";
  return rec ? "rprivate" : "private";
}

/* ---- resolving a destination inside the root.  */

/* What resolve_in_root does with a missing component.  */
enum in_root_create
{
  IN_ROOT_MKDIR,   /* create directories */
  IN_ROOT_MKFILE,  /* directories, and an empty file for the last component */
  IN_ROOT_NOCREATE /* create nothing: a missing component fails with ENOENT */
};

/* Create `name` in the directory `parent` (canonical) of the root: a directory, or an
   empty file.  An existing entry is left alone (the caller opens it again).  */
static int
create_in_root (int rootfd, const char *parent, const char *name, bool file, berth_error_t *err)
{
  cleanup_close int dirfd = open_in_root (rootfd, parent, O_DIRECTORY);
  const char *sep = *parent ? "/" : "";

  if (dirfd < 0)
    return openat2_error (err, errno, parent);
  if (file)
    {
      int fd = openat (dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 && errno != EEXIST)
        return berth_make_error_op (err, errno, "openat", "create file `/%s%s%s`", parent, sep, name);
      if (fd >= 0)
        close (fd);
      return 0;
    }
  if (mkdirat (dirfd, name, 0755) < 0 && errno != EEXIST)
    return berth_make_error_op (err, errno, "mkdirat", "mkdirat `/%s%s%s`", parent, sep, name);
  return 0;
}

/*
 * Resolve the container path `path` inside the root open at rootfd, creating what is
 * missing (per `create`): directories, and for the last component a directory or
 * (IN_ROOT_MKFILE) an empty file; with IN_ROOT_NOCREATE a missing component is ENOENT.  Symlinks are followed as the container would (absolute ones from its root, ".."
 * stops at its root).  Returns an O_PATH fd of the target and sets *canonical to its
 * symlink-free path from the root ("dev/pts"; "" for the root itself).
 */
static int
resolve_in_root (int rootfd, const char *path, enum in_root_create create, char **canonical,
                 berth_error_t *err)
{
  cleanup_free char *rest = xstrdup (path);
  cleanup_free char *cur = xstrdup ("");
  cleanup_close int fd = -1;
  char *p = rest;
  int links = 0;

  for (;;)
    {
      cleanup_free char *next = NULL;
      char *comp;
      struct stat st;
      bool last;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      comp = p;
      while (*p != '\0' && *p != '/')
        p++;
      if (*p != '\0')
        *p++ = '\0';
      last = p[strspn (p, "/")] == '\0';

      if (strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          char *slash = strrchr (cur, '/');
          *(slash ? slash : cur) = '\0';
          continue;
        }

      next = *cur ? xasprintf ("%s/%s", cur, comp) : xstrdup (comp);
      if (fd >= 0)
        close (steal_fd (&fd));
      fd = open_in_root (rootfd, next, O_NOFOLLOW);
      if (fd < 0 && errno == ENOENT && create != IN_ROOT_NOCREATE)
        {
          if (create_in_root (rootfd, cur, comp, last && create == IN_ROOT_MKFILE, err) < 0)
            return -1;
          fd = open_in_root (rootfd, next, O_NOFOLLOW);
        }
      if (fd < 0)
        return openat2_error (err, errno, next);
      if (fstat (fd, &st) < 0)
        return berth_make_error_op (err, errno, "fstat", "fstat `/%s`", next);

      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t len;

          if (++links > MAX_SYMLINKS)
            return berth_make_error_op (err, ELOOP, "readlinkat", "resolve `%s` in the root", path);
          len = readlinkat (fd, "", target, sizeof (target));
          if (len < 0)
            return berth_make_error_op (err, errno, "readlinkat", "readlinkat `/%s`", next);
          if ((size_t) len >= sizeof (target))
            return berth_make_error_op (err, ENAMETOOLONG, "readlinkat", "readlinkat `/%s`", next);
          if (len == 0)
            return berth_make_error_op (err, ENOENT, "readlinkat", "empty symlink `/%s`", next);
          target[len] = '\0';
          if (target[0] == '/')
            cur[0] = '\0';
          /* The target's components, then what followed the link.  */
          {
            char *joined = xasprintf ("%s/%s", target, p);
            free (rest);
            rest = joined;
            p = rest;
          }
          continue;
        }
      if (! last && ! S_ISDIR (st.st_mode))
        return berth_make_error_op (err, ENOTDIR, "openat2", "`/%s` is not a directory", next);
      free (cur);
      cur = steal_pointer (&next);
    }

  if (fd >= 0)
    close (steal_fd (&fd));
  fd = open_in_root (rootfd, cur, 0);
  if (fd < 0)
    return openat2_error (err, errno, cur);
  *canonical = steal_pointer (&cur);
  return steal_fd (&fd);
}

/* ---- 1-2: propagation and the root mount.  */

/* pivot_root(2) refuses a new root whose parent mount is shared, and a shared parent
   would also carry the root mount into the peers' namespaces (the host's, when "/" is
   shared there): make the mount holding root_path private.  Walks up from root_path
   itself until mount(MS_PRIVATE) finds a mount point (EINVAL means "not a mount point").  */
static int
make_parent_mount_private (const char *root_path, berth_error_t *err)
{
  cleanup_free char *dir = xstrdup (root_path);

  for (;;)
    {
      char *slash;

      if (mount (NULL, dir, NULL, MS_PRIVATE, NULL) == 0)
        return 0;
      if (errno != EINVAL || strcmp (dir, "/") == 0)
        return berth_make_error_op (err, errno, "mount", "make the mount holding `%s` private (at `%s`)",
                                    root_path, dir);
      slash = strrchr (dir, '/');
      if (slash == NULL)
        return berth_make_error_op (err, EINVAL, "mount", "make the mount holding `%s` private", root_path);
      if (slash == dir)
        slash[1] = '\0';
      else
        *slash = '\0';
    }
}

static int
check_overlay_path (const char *what, const char *path, berth_error_t *err)
{
  const char *bad;

  if (path == NULL || path[0] != '/')
    return berth_make_error_op (err, EINVAL, "mount", "overlay %s `%s` is not an absolute path", what,
                                path ? path : "");
  /* ',' separates mount options, ':' lower layers, '\' escapes; a newline would corrupt
     /proc/self/mountinfo.  */
  bad = strpbrk (path, ",:\\\n");
  if (bad)
    return berth_make_error_op (err, EINVAL, "mount",
                                "overlay %s `%s` contains %s, which overlayfs mount options cannot carry",
                                what, path,
                                *bad == '\n' ? "a newline" : *bad == ',' ? "','" : *bad == ':' ? "':'" : "'\\'");
  return 0;
}

static int
mount_overlay_root (const struct berth_config *c, berth_error_t *err)
{
  cleanup_free char *upper = NULL;
  cleanup_free char *work = NULL;
  cleanup_free char *lower = NULL;
  cleanup_free char *data = NULL;
  long page = sysconf (_SC_PAGESIZE);
  size_t i, len = 0;
  char *o;

  if (c->overlay_lower[0] == NULL)
    return berth_make_error_op (err, EINVAL, "mount", "mount overlay on `%s`: no lower layer", c->root_path);
  if (c->overlay_writable == NULL)
    return berth_make_error_op (err, EINVAL, "mount",
                                "mount overlay on `%s`: layers without a writable directory (%s)",
                                c->root_path, BERTH_ANNOTATION_WRITABLE);
  for (i = 0; c->overlay_lower[i]; i++)
    {
      if (check_overlay_path ("lower layer", c->overlay_lower[i], err) < 0)
        return -1;
      len += strlen (c->overlay_lower[i]) + 1;
    }
  if (check_overlay_path ("writable directory", c->overlay_writable, err) < 0)
    return -1;

  lower = xmalloc0 (len + 1);
  for (i = 0, o = lower; c->overlay_lower[i]; i++)
    o = stpcpy (stpcpy (o, i ? ":" : ""), c->overlay_lower[i]);
  upper = xasprintf ("%s/upper", c->overlay_writable);
  work = xasprintf ("%s/work", c->overlay_writable);
  data = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
  if (page > 0 && strlen (data) >= (size_t) page)
    return berth_make_error_op (err, E2BIG, "mount",
                                "mount overlay on `%s`: the options take %zu bytes, more than one page "
                                "(%ld): too many or too long layer paths",
                                c->root_path, strlen (data), page);

  if (berth_mkdir_p (c->overlay_writable, 0755, err) < 0 || berth_mkdir_p (upper, 0755, err) < 0
      || berth_mkdir_p (work, 0755, err) < 0)
    return berth_error_wrap (err, "mount overlay on `%s`", c->root_path);

  if (mount ("overlay", c->root_path, "overlay", 0, data) < 0)
    return berth_make_error_op (err, errno, "mount", "mount overlay on `%s`", c->root_path);
  return 0;
}

static int
mount_root (const struct berth_config *c, int root_mount_fd, berth_error_t *err)
{
  if (root_mount_fd >= 0)
    {
      if (syscall (SYS_move_mount, root_mount_fd, "", AT_FDCWD, c->root_path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return berth_make_error_op (err, errno, "move_mount", "attach the idmapped root on `%s`", c->root_path);
      return 0;
    }
  if (c->overlay_lower)
    return mount_overlay_root (c, err);
  if (mount (c->root_path, c->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "bind mount `%s` on itself", c->root_path);
  return 0;
}

/* ---- 3: the mounts of config.json.  */

/* MS_REMOUNT | MS_BIND with `flags`.  A mount copied into a less privileged namespace has
   its flags locked (EPERM when a remount would clear one): then add the flags the mount
   has now, which are the source's (statvfs of the new bind mount), and try again.  */
static int
remount_bind (int fd, const char *dest, unsigned long flags, berth_error_t *err)
{
  char path[PROC_FD_PATH_SIZE];
  struct statvfs sv;

  proc_fd_path (path, fd);
  if (mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
    return 0;
  if (errno != EPERM)
    return berth_make_error_op (err, errno, "mount", "remount bind mount `%s`", dest);
  if (fstatvfs (fd, &sv) < 0)
    return berth_make_error_op (err, errno, "fstatvfs", "fstatvfs `%s`", dest);
  flags |= statvfs_to_mount_flags (sv.f_flag);
  if (mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "remount bind mount `%s` (keeping its locked flags)",
                                dest);
  return 0;
}

static bool
is_bind_mount (const struct berth_mount *m)
{
  return (m->flags & MS_BIND) || m->type == NULL || strcmp (m->type, "bind") == 0;
}

static int
do_mount (int rootfd, const struct berth_mount *m, int src_fd, bool *dev_tmpfs,
          berth_error_t *err)
{
  char src_path[PROC_FD_PATH_SIZE];
  const char *source = src_fd >= 0 ? proc_fd_path (src_path, src_fd) : m->source;
  cleanup_free char *canonical = NULL;
  cleanup_close int fd = -1;
  char path[PROC_FD_PATH_SIZE];
  const char *dest = m->destination;
  bool bind = is_bind_mount (m);
  bool file = false;

  if (dest == NULL)
    return berth_make_error_op (err, EINVAL, "mount", "mount %s: no destination", bind ? "bind" : m->type);
  if (bind)
    {
      struct stat st;

      if (m->source == NULL)
        return berth_make_error_op (err, EINVAL, "mount", "bind mount on `%s`: no source", dest);
      if (stat (source, &st) < 0)
        return berth_make_error_op (err, errno, "stat", "bind mount `%s` on `%s`", m->source, dest);
      file = ! S_ISDIR (st.st_mode);
    }

  fd = resolve_in_root (rootfd, dest, file ? IN_ROOT_MKFILE : IN_ROOT_MKDIR, &canonical, err);
  if (fd < 0)
    return berth_error_wrap (err, "mount %s on `%s`", bind ? "bind" : m->type, dest);
  if (canonical[0] == '\0') /* "/a/.." or a symlink to "/" */
    return berth_make_error_op (err, EINVAL, "mount", "mount %s on `%s`: the destination is the root",
                                bind ? "bind" : m->type, dest);
  proc_fd_path (path, fd);

  if (bind)
    {
      if (mount (source, path, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
        return berth_make_error_op (err, errno, "mount", "bind mount `%s` on `%s`", m->source, dest);
    }
  else if (strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0)
    {
      /* berth_cgroup_mount mounts what the host has (cgroup2, or v1 hierarchies under a
         tmpfs) on a path of this namespace: the resolved target through the root's fd
         (no symlink left to follow, and no search permission needed on root.path's
         parents, which a user namespace's root may lack).  */
      cleanup_free char *host = xasprintf ("/proc/self/fd/%d/%s", rootfd, canonical);
      if (berth_cgroup_mount (host, m->flags & PER_MOUNT_FLAGS, err) < 0)
        return berth_error_wrap (err, "mount %s on `%s`", m->type, dest);
    }
  else
    {
      unsigned long flags = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT | MS_MOVE | PROPAGATION_FLAGS);
      if (mount (m->source ? m->source : m->type, path, m->type, flags, m->data) < 0)
        return berth_make_error_op (err, errno, "mount", "mount %s on `%s`", m->type, dest);
    }

  if (strcmp (canonical, "dev") == 0)
    *dev_tmpfs = ! bind && strcmp (m->type, "tmpfs") == 0;

  if (! (bind && (m->flags & PER_MOUNT_FLAGS)) && m->propagation == 0)
    return 0;
  /* The fd still names the directory under the new mount: open it again through the root
     to reach the mount itself.  */
  close (steal_fd (&fd));
  fd = open_in_root (rootfd, canonical, 0);
  if (fd < 0)
    return openat2_error (err, errno, canonical);
  proc_fd_path (path, fd);

  if (bind && (m->flags & PER_MOUNT_FLAGS) && remount_bind (fd, dest, m->flags & PER_MOUNT_FLAGS, err) < 0)
    return -1;
  if (m->propagation && mount (NULL, path, NULL, m->propagation, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "make `%s` %s", dest, propagation_name (m->propagation));
  return 0;
}

/* ---- 4: /dev.  */

static const struct
{
  const char *name;
  unsigned major, minor;
} dev_nodes[] = {
  { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct
{
  const char *name, *target;
} dev_links[] = {
  { "fd", "/proc/self/fd" },     { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
  { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
};

/* mknod needs CAP_MKNOD in the initial user namespace: inside a user namespace it fails
   with EPERM, and the host's node is bind-mounted onto an empty file instead (as runc and
   crun do for rootless containers).  */
static int
bind_host_device (int devfd, const char *name, berth_error_t *err)
{
  cleanup_free char *host = xasprintf ("/dev/%s", name);
  char path[PROC_FD_PATH_SIZE];
  cleanup_close int fd = openat (devfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);

  if (fd < 0)
    return berth_make_error_op (err, errno, "openat", "create file `/dev/%s`", name);
  close (steal_fd (&fd));
  fd = openat (devfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_make_error_op (err, errno, "openat", "open `/dev/%s`", name);
  if (mount (host, proc_fd_path (path, fd), NULL, MS_BIND, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "bind mount `%s` on `/dev/%s`", host, name);
  return 0;
}

static int
setup_dev (int rootfd, berth_error_t *err)
{
  cleanup_close int devfd = open_in_root (rootfd, "dev", O_DIRECTORY);
  size_t i;

  if (devfd < 0)
    return openat2_error (err, errno, "dev");

  for (i = 0; i < BERTH_ARRAY_SIZE (dev_nodes); i++)
    {
      const char *name = dev_nodes[i].name;

      if (mknodat (devfd, name, S_IFCHR | 0666, makedev (dev_nodes[i].major, dev_nodes[i].minor)) == 0)
        {
          /* The umask applied to mknod; /dev is a fresh tmpfs of ours, nothing to race.  */
          if (fchmodat (devfd, name, 0666, 0) < 0)
            return berth_make_error_op (err, errno, "fchmodat", "chmod `/dev/%s`", name);
          continue;
        }
      if (errno == EEXIST) /* a mount of config.json put it there */
        continue;
      if (errno != EPERM)
        return berth_make_error_op (err, errno, "mknodat", "mknod `/dev/%s`", name);
      if (bind_host_device (devfd, name, err) < 0)
        return -1;
    }

  for (i = 0; i < BERTH_ARRAY_SIZE (dev_links); i++)
    if (symlinkat (dev_links[i].target, devfd, dev_links[i].name) < 0 && errno != EEXIST)
      return berth_make_error_op (err, errno, "symlinkat", "symlink `/dev/%s` -> `%s`", dev_links[i].name,
                                  dev_links[i].target);

  if (mkdirat (devfd, "shm", 01777) == 0)
    {
      if (fchmodat (devfd, "shm", 01777, 0) < 0)
        return berth_make_error_op (err, errno, "fchmodat", "chmod `/dev/shm`");
    }
  else if (errno != EEXIST)
    return berth_make_error_op (err, errno, "mkdirat", "mkdir `/dev/shm`");
  return 0;
}

static int
setup_console (int rootfd, int console_fd, berth_error_t *err)
{
  cleanup_free char *canonical = NULL;
  cleanup_close int fd = -1;
  char source[PROC_FD_PATH_SIZE], target[PROC_FD_PATH_SIZE];

  fd = resolve_in_root (rootfd, "/dev/console", IN_ROOT_MKFILE, &canonical, err);
  if (fd < 0)
    return berth_error_wrap (err, "create `/dev/console`");
  if (mount (proc_fd_path (source, console_fd), proc_fd_path (target, fd), NULL, MS_BIND, NULL) == 0)
    return 0;
  if (errno != EINVAL)
    return berth_make_error_op (err, errno, "mount", "bind mount the console (fd %d) on `/dev/console`",
                                console_fd);

  /* The terminal was opened by the runtime before this mount namespace was unshared, so its
     fd names a mount of the old namespace, which the kernel refuses to bind from (EINVAL).
     Bind the same pty through its path in this namespace, once sure it is the same file.  */
  {
    char pty[PATH_MAX];
    struct stat want, got;
    ssize_t len = readlink (source, pty, sizeof (pty) - 1);

    if (len < 0)
      return berth_make_error_op (err, errno, "readlink", "readlink `%s` (the console)", source);
    pty[len] = '\0';
    if (fstat (console_fd, &want) < 0)
      return berth_make_error_op (err, errno, "fstat", "fstat the console (fd %d)", console_fd);
    if (pty[0] != '/' || stat (pty, &got) < 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino)
      return berth_make_error_op (err, EINVAL, "mount",
                                  "bind mount the console (fd %d) on `/dev/console`: its fd is from another "
                                  "mount namespace and `%s` is not the same file here",
                                  console_fd, pty);
    if (mount (pty, target, NULL, MS_BIND, NULL) < 0)
      return berth_make_error_op (err, errno, "mount", "bind mount the console `%s` on `/dev/console`", pty);
  }
  return 0;
}

/* ---- 4b: linux.devices, made before pivot_root with the resolve-in-root helpers.  */

static mode_t
device_type (char type)
{
  switch (type)
    {
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default: /* 'c', and 'u' (unbuffered) is a character device too */
      return S_IFCHR;
    }
}

/* Whether this process is in the initial user namespace (its uid_map maps every id to
   itself).  */
static bool
in_initial_user_namespace (void)
{
  cleanup_close int fd = open ("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  char buf[128] = "";
  unsigned long inside, outside, count;
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof (buf) - 1) : -1;

  return n > 0 && sscanf (buf, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0
         && count == 4294967295UL;
}

/* mknod refused with EPERM: name the cause.  The container's device cgroup allows mknod of
   every node (berth_cgroup_default_devices), so in the initial user namespace with
   CAP_MKNOD it is a cgroup above the container's.  */
static int
mknod_refused (const struct berth_device *d, dev_t dev, berth_error_t *err)
{
  const char *why;

  if (! berth_caps_effective_has (CAP_MKNOD))
    why = "this process does not have CAP_MKNOD";
  else if (! in_initial_user_namespace ())
    why = "in a user namespace, creating device nodes needs CAP_MKNOD in the initial user namespace";
  else
    why = "the device cgroup refused it (the container's cgroup is allowed to: a cgroup above it denies this device)";
  return berth_make_error_op (err, EPERM, "mknodat", "mknod `%s` (%c %u:%u): %s", d->path, d->type, major (dev),
                              minor (dev), why);
}

/* mknod d->path inside the root (missing parents created), then chmod to fileMode (default
   0666: mknod's mode went through the umask) and chown to uid:gid (default 0:0).  An
   existing node of the same type and numbers is kept and gets the mode and owner; anything
   else there is an error.  A refused mknod (EPERM) is reported with its cause (no
   bind-mount fallback for these).  */
static int
create_device (int rootfd, const struct berth_device *d, berth_error_t *err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *canonical = NULL;
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;
  char path[PROC_FD_PATH_SIZE];
  mode_t type = device_type (d->type);
  mode_t mode = d->has_file_mode ? d->file_mode & 07777 : 0666;
  dev_t dev = type == S_IFIFO ? 0 : makedev ((unsigned) d->major, (unsigned) d->minor);
  uid_t uid = d->has_uid ? d->uid : 0;
  gid_t gid = d->has_gid ? d->gid : 0;
  struct stat st;
  char *name, *end;

  if (d->path == NULL || d->path[0] != '/')
    return berth_make_error_op (err, EINVAL, "mknodat", "device path `%s` is not absolute",
                                d->path ? d->path : "");
  dir = xstrdup (d->path);
  end = dir + strlen (dir);
  while (end > dir + 1 && end[-1] == '/')
    *--end = '\0';
  name = strrchr (dir, '/') + 1;
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return berth_make_error_op (err, EINVAL, "mknodat", "mknod `%s`: the path does not name a file", d->path);
  name[-1] = '\0'; /* dir is the parent ("" for the root), name the last component */

  dirfd = resolve_in_root (rootfd, *dir ? dir : "/", IN_ROOT_MKDIR, &canonical, err);
  if (dirfd < 0)
    return berth_error_wrap (err, "mknod `%s`", d->path);
  if (mknodat (dirfd, name, type | mode, dev) < 0)
    {
      if (errno == EPERM)
        return mknod_refused (d, dev, err);
      if (errno != EEXIST)
        return berth_make_error_op (err, errno, "mknodat", "mknod `%s` (%c %u:%u)", d->path, d->type,
                                    major (dev), minor (dev));
    }
  /* Through an O_PATH fd of what is there now, never the name again.  */
  fd = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_make_error_op (err, errno, "openat", "open `%s`", d->path);
  if (fstat (fd, &st) < 0)
    return berth_make_error_op (err, errno, "fstat", "fstat `%s`", d->path);
  if ((st.st_mode & S_IFMT) != type || (type != S_IFIFO && st.st_rdev != dev))
    return berth_make_error_op (err, EEXIST, "mknodat", "mknod `%s` (%c %u:%u): another file is already there",
                                d->path, d->type, major (dev), minor (dev));
  if (chmod (proc_fd_path (path, fd), mode) < 0)
    return berth_make_error_op (err, errno, "chmod", "chmod `%s` to %04o", d->path, (unsigned) mode);
  if (fchownat (fd, "", uid, gid, AT_EMPTY_PATH) < 0)
    return berth_make_error_op (err, errno, "fchownat", "chown `%s` to %u:%u", d->path, (unsigned) uid,
                                (unsigned) gid);
  return 0;
}

/* ---- 6-7: pivot_root, read-only root, sysctl.  */

static int
pivot_into (const char *root_path, int rootfd, berth_error_t *err)
{
  cleanup_close int oldroot = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (oldroot < 0)
    return berth_make_error_op (err, errno, "open", "open `/`");
  if (fchdir (rootfd) < 0)
    return berth_make_error_op (err, errno, "fchdir", "chdir `%s`", root_path);
  /* The old root ends up mounted on top of the new one.  */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return berth_make_error_op (err, errno, "pivot_root", "pivot_root into `%s`", root_path);
  /* "." is still the new root's directory, and a lookup of "." does not cross the mount
     stacked on it: move to the old root itself first (as runc), or the next call would
     make the whole new tree rslave and undo the mounts' own propagation.  */
  if (fchdir (oldroot) < 0)
    return berth_make_error_op (err, errno, "fchdir", "fchdir to the old root");
  /* rslave, not rprivate (as runc): unmounting must not propagate to the host, but a
     private copy could pin mounts the host is trying to release.  */
  if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "make the old root rslave");
  if (umount2 (".", MNT_DETACH) < 0)
    return berth_make_error_op (err, errno, "umount2", "detach the old root");
  if (chdir ("/") < 0)
    return berth_make_error_op (err, errno, "chdir", "chdir `/`");
  return 0;
}

/* Only MS_RDONLY is added: the root keeps nosuid/nodev/noexec/atime flags it has (a
   remount that cleared them would fail with EPERM when they are locked, and silently
   widen the mount when they are not).  */
static int
remount_root_readonly (berth_error_t *err)
{
  struct statvfs sv;
  unsigned long flags;

  if (statvfs ("/", &sv) < 0)
    return berth_make_error_op (err, errno, "statvfs", "statvfs `/`");
  flags = statvfs_to_mount_flags (sv.f_flag) | MS_RDONLY;
  if (mount (NULL, "/", NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "remount `/` read-only");
  return 0;
}

/* "net.ipv4.ip_forward" -> /proc/sys/net/ipv4/ip_forward.  A key that already has '/' is
   taken as a path, as sysctl(8) does ("net/ipv4/conf/eth0.100/forwarding").  */
static int
write_sysctls (const struct berth_config *c, berth_error_t *err)
{
  cleanup_close int sysfd = -1;
  size_t i;

  if (c->n_sysctl == 0)
    return 0;
  sysfd = open ("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sysfd < 0)
    return berth_make_error_op (err, errno, "open", "sysctl `%s`: open `/proc/sys`", c->sysctl_keys[0]);

  for (i = 0; i < c->n_sysctl; i++)
    {
      const char *key = c->sysctl_keys[i];
      const char *value = c->sysctl_values[i] ? c->sysctl_values[i] : "";
      cleanup_free char *rel = xstrdup (key ? key : "");
      cleanup_close int fd = -1;
      size_t len = strlen (value);
      ssize_t n;
      char *q;

      if (strchr (rel, '/') == NULL)
        for (q = rel; *q; q++)
          if (*q == '.')
            *q = '/';
      if (rel[0] == '\0' || rel[0] == '/')
        return berth_make_error_op (err, EINVAL, "sysctl", "invalid sysctl key `%s`", rel);

      /* RESOLVE_BENEATH: ".." cannot leave /proc/sys.  */
      fd = sys_openat2 (sysfd, rel, O_WRONLY | O_CLOEXEC,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
      if (fd < 0)
        return berth_make_error_op (err, errno, "open", "sysctl `%s`: open `/proc/sys/%s`", key, rel);
      n = write (fd, value, len);
      if (n < 0)
        return berth_make_error_op (err, errno, "write", "sysctl `%s`: write `%s` to `/proc/sys/%s`", key,
                                    value, rel);
      if ((size_t) n != len)
        return berth_make_error_op (err, EIO, "write", "sysctl `%s`: short write to `/proc/sys/%s`", key, rel);
    }
  return 0;
}

/* ---- 8-9: linux.readonlyPaths and linux.maskedPaths, in the container's own root.  */

/* O_PATH fd of the container path `path` resolved inside the root open at rootfd, nothing
   created; sets *canonical.  A path that does not exist sets *missing and returns -1 with
   no error.  */
static int
open_existing (int rootfd, const char *path, char **canonical, bool *missing, berth_error_t *err)
{
  int fd = resolve_in_root (rootfd, path, IN_ROOT_NOCREATE, canonical, err);

  *missing = fd < 0 && *err != NULL && (*err)->status == ENOENT;
  if (*missing)
    berth_error_release (err);
  return fd;
}

/* What mount(2) gets for the resolved target: its /proc/self/fd link when the container
   has a proc of its own (no path walked again), else its canonical path, which had no
   symlink in any component.  buf has PATH_MAX bytes.  */
static const char *
target_path (char *buf, int fd, const char *canonical, bool have_proc)
{
  if (have_proc)
    return proc_fd_path (buf, fd);
  snprintf (buf, PATH_MAX, "/%s", canonical);
  return buf;
}

/* Bind mount onto itself (MS_REC), then remount that read-only keeping the flags it has
   (nosuid/nodev/noexec of /proc: clearing them would widen the mount, or fail when locked).  */
static int
readonly_path (int rootfd, const char *path, bool have_proc, berth_error_t *err)
{
  cleanup_free char *canonical = NULL;
  cleanup_close int fd = -1;
  char target[PATH_MAX];
  struct statvfs sv;
  bool missing;

  fd = open_existing (rootfd, path, &canonical, &missing, err);
  if (missing)
    return 0;
  if (fd < 0)
    return berth_error_wrap (err, "readonly path `%s`", path);
  if (canonical[0] == '\0')
    return berth_make_error_op (err, EINVAL, "mount", "readonly path `%s`: the path is the root (use root.readonly)",
                                path);
  target_path (target, fd, canonical, have_proc);
  if (mount (target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "bind mount readonly path `%s` on itself", path);

  /* The fd still names the file under the new mount: open it again to reach the mount.  */
  close (steal_fd (&fd));
  fd = open_in_root (rootfd, canonical, 0);
  if (fd < 0)
    return openat2_error (err, errno, canonical);
  if (fstatvfs (fd, &sv) < 0)
    return berth_make_error_op (err, errno, "fstatvfs", "fstatvfs `%s`", path);
  target_path (target, fd, canonical, have_proc);
  if (mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | statvfs_to_mount_flags (sv.f_flag), NULL)
      < 0)
    return berth_make_error_op (err, errno, "mount", "remount readonly path `%s` read-only", path);
  return 0;
}

/* A directory gets an empty read-only tmpfs, anything else the container's /dev/null.  */
static int
mask_path (int rootfd, const char *path, bool have_proc, berth_error_t *err)
{
  cleanup_free char *canonical = NULL;
  cleanup_free char *null_canonical = NULL;
  cleanup_close int fd = -1;
  cleanup_close int nullfd = -1;
  char target[PATH_MAX], source[PATH_MAX];
  struct stat st;
  bool missing;

  fd = open_existing (rootfd, path, &canonical, &missing, err);
  if (missing)
    return 0;
  if (fd < 0)
    return berth_error_wrap (err, "masked path `%s`", path);
  if (canonical[0] == '\0')
    return berth_make_error_op (err, EINVAL, "mount", "masked path `%s`: the path is the root", path);
  if (fstat (fd, &st) < 0)
    return berth_make_error_op (err, errno, "fstat", "fstat masked path `%s`", path);
  target_path (target, fd, canonical, have_proc);

  if (S_ISDIR (st.st_mode))
    {
      /* tmpfs has no "size=0" (that means unlimited): read-only is what keeps it empty.  */
      if (mount ("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
        return berth_make_error_op (err, errno, "mount", "mount tmpfs on masked path `%s`", path);
      return 0;
    }

  nullfd = open_existing (rootfd, "/dev/null", &null_canonical, &missing, err);
  if (nullfd < 0 && ! missing)
    return berth_error_wrap (err, "masked path `%s`", path);
  if (nullfd < 0 || fstat (nullfd, &st) < 0 || ! S_ISCHR (st.st_mode) || st.st_rdev != makedev (1, 3))
    return berth_make_error_op (err, ENOENT, "mount",
                                "masked path `%s`: the container has no `/dev/null` (character device 1:3) "
                                "to bind mount on it",
                                path);
  target_path (source, nullfd, null_canonical, have_proc);
  if (mount (source, target, NULL, MS_BIND, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "bind mount `/dev/null` on masked path `%s`", path);
  return 0;
}

/* After write_sysctls: readonlyPaths usually has /proc/sys.  readonlyPaths first, then
   maskedPaths (as runc): a path in both ends up masked.  */
static int
apply_path_lists (const struct berth_config *c, berth_error_t *err)
{
  cleanup_close int rootfd = -1;
  struct statfs sf;
  bool have_proc;
  size_t i;

  if (c->readonly_paths == NULL && c->masked_paths == NULL)
    return 0;
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_make_error_op (err, errno, "open", "open `/`");
  have_proc = statfs ("/proc/self/fd", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;

  for (i = 0; c->readonly_paths && c->readonly_paths[i]; i++)
    if (readonly_path (rootfd, c->readonly_paths[i], have_proc, err) < 0)
      return -1;
  for (i = 0; c->masked_paths && c->masked_paths[i]; i++)
    if (mask_path (rootfd, c->masked_paths[i], have_proc, err) < 0)
      return -1;
  return 0;
}

static int
call_before_cgroup (const struct berth_rootfs_options *options, berth_error_t *err)
{
  static bool called; /* once per process: the container process sets up one root */

  if (called || options == NULL || options->before_cgroup == NULL)
    return 0;
  called = true;
  return options->before_cgroup (options->before_pivot_arg, err);
}

/* ---- user namespaces.  The process is in a new user namespace with its ids mapped, but
   still has the host's root uid, which the namespace does not map: files it creates on
   filesystems mounted there (a tmpfs /dev) would have no owner (EOVERFLOW).  So once the
   root is attached it becomes the namespace's root; before that, what it needs of the
   host's tree by path (bind mount sources) is opened, since the namespace's root may not
   search the bundle's directories.  */

struct fd_array
{
  int *fds;
  size_t n;
};

static void
fd_array_close (struct fd_array *a)
{
  size_t i;

  for (i = 0; a->fds && i < a->n; i++)
    if (a->fds[i] >= 0)
      close (a->fds[i]);
  free (a->fds);
}
#define cleanup_fd_array __attribute__ ((cleanup (fd_array_close)))

static int
open_bind_sources (const struct berth_config *c, int **out, berth_error_t *err)
{
  size_t i;

  *out = xmalloc0 ((c->n_mounts ? c->n_mounts : 1) * sizeof (int));
  for (i = 0; i < c->n_mounts; i++)
    (*out)[i] = -1;
  for (i = 0; i < c->n_mounts; i++)
    {
      const struct berth_mount *m = &c->mounts[i];

      if (! is_bind_mount (m) || m->source == NULL)
        continue;
      (*out)[i] = open (m->source, O_PATH | O_CLOEXEC);
      if ((*out)[i] < 0)
        return berth_make_error_op (err, errno, "open", "bind mount `%s` on `%s`", m->source,
                                    m->destination ? m->destination : "");
    }
  return 0;
}

static int
become_namespace_root (berth_error_t *err)
{
  if (setgroups (0, NULL) < 0)
    return berth_make_error_op (err, errno, "setgroups", "drop the host's groups in the user namespace");
  if (setresgid (0, 0, 0) < 0)
    return berth_make_error_op (err, errno, "setresgid", "become gid 0 of the user namespace");
  if (setresuid (0, 0, 0) < 0)
    return berth_make_error_op (err, errno, "setresuid", "become uid 0 of the user namespace");
  return 0;
}

int
berth_rootfs_setup (const struct berth_config *c, const struct berth_rootfs_options *options,
                    berth_error_t *err)
{
  cleanup_close int rootfd = -1;
  cleanup_fd_array struct fd_array src_fds = { NULL, 0 };
  unsigned long propagation = c->rootfs_propagation & PROPAGATION_FLAGS;
  bool dev_tmpfs = false;
  size_t i;

  if (c->root_path == NULL || c->root_path[0] != '/')
    return berth_make_error_op (err, EINVAL, "mount", "root path `%s` is not absolute",
                                c->root_path ? c->root_path : "");

  /* 1.  A shared "/" would make pivot_root fail (the namespace root is its own parent) and
     send mounts to the peers: receive only (rslave) until after pivot_root.  */
  if (propagation == 0 || (propagation & MS_SHARED))
    propagation = propagation ? MS_SLAVE : MS_PRIVATE;
  if (mount (NULL, "/", NULL, MS_REC | propagation, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "make `/` %s", propagation_name (MS_REC | propagation));
  if (make_parent_mount_private (c->root_path, err) < 0)
    return -1;

  /* 2.  */
  if (mount_root (c, options->root_mount_fd, err) < 0)
    return -1;
  rootfd = open (c->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_make_error_op (err, errno, "open", "open `%s`", c->root_path);
  if (options && options->root_mount_fd >= 0)
    {
      src_fds.n = c->n_mounts;
      if (open_bind_sources (c, &src_fds.fds, err) < 0 || become_namespace_root (err) < 0)
        return -1;
    }

  /* 3-4.  Container paths in messages; the root is named once, here.  */
  for (i = 0; i < c->n_mounts; i++)
    {
      const char *type = c->mounts[i].type;
      if (type && (strcmp (type, "cgroup") == 0 || strcmp (type, "cgroup2") == 0) && call_before_cgroup (options, err) < 0)
        return -1;
      if (do_mount (rootfd, &c->mounts[i], src_fds.fds ? src_fds.fds[i] : -1, &dev_tmpfs, err) < 0)
        return berth_error_wrap (err, "rootfs `%s`", c->root_path);
    }
  if (call_before_cgroup (options, err) < 0)
    return -1;
  if (dev_tmpfs && setup_dev (rootfd, err) < 0)
    return berth_error_wrap (err, "rootfs `%s`", c->root_path);
  if (options && options->console_fd >= 0 && setup_console (rootfd, options->console_fd, err) < 0)
    return berth_error_wrap (err, "rootfs `%s`", c->root_path);
  /* 4b.  Before the root can become read-only (step 7).  */
  for (i = 0; i < c->n_devices; i++)
    if (create_device (rootfd, &c->devices[i], err) < 0)
      return berth_error_wrap (err, "rootfs `%s`", c->root_path);

  /* 5.  */
  if (options && options->before_pivot && options->before_pivot (options->before_pivot_arg, err) < 0)
    return -1;

  /* 6.  */
  if (pivot_into (c->root_path, rootfd, err) < 0)
    return -1;
  close (steal_fd (&rootfd));
  if ((c->rootfs_propagation & PROPAGATION_FLAGS & ~MS_PRIVATE) != 0
      && mount (NULL, "/", NULL, c->rootfs_propagation, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "make `/` %s", propagation_name (c->rootfs_propagation));

  /* 7.  */
  if (c->root_readonly && remount_root_readonly (err) < 0)
    return -1;
  /* 7: sysctl, before 8, which usually makes /proc/sys read-only.  */
  if (write_sysctls (c, err) < 0)
    return -1;
  /* 8-9.  */
  return apply_path_lists (c, err);
}

/* ---- removing <writable>.  */

/*
 * An iterative walk holding one directory fd whatever the depth (a container can nest
 * directories deeper than the fd limit or PATH_MAX allows a path-based walk): descend with
 * openat(name), come back with openat("..") checked against the recorded parent.  Symlinks
 * are never followed, and a directory on another device (a mount point) is an error rather
 * than something to empty.
 */
struct rm_level
{
  char *name; /* in the parent directory; NULL for the top */
  dev_t dev;
  ino_t ino;
  char **subdirs; /* left to visit */
  size_t n, next;
};

static void
rm_level_clear_subdirs (struct rm_level *l)
{
  size_t i;

  for (i = 0; i < l->n; i++)
    free (l->subdirs[i]);
  free (l->subdirs);
  l->subdirs = NULL;
  l->n = l->next = 0;
}

struct rm_stack
{
  const char *top;
  struct rm_level *levels;
  size_t depth, alloc;
};

static void
rm_stack_free (struct rm_stack *s)
{
  size_t i;

  for (i = 0; i < s->depth; i++)
    {
      rm_level_clear_subdirs (&s->levels[i]);
      free (s->levels[i].name);
    }
  free (s->levels);
}

/* The path of the current directory (and `name` in it, when not NULL), for messages.  */
static char *
rm_path (const struct rm_stack *s, const char *name)
{
  size_t i, len = strlen (s->top) + (name ? strlen (name) + 1 : 0) + 1;
  char *buf, *o;

  for (i = 1; i < s->depth; i++)
    len += strlen (s->levels[i].name) + 1;
  buf = xmalloc0 (len);
  o = stpcpy (buf, s->top);
  for (i = 1; i < s->depth; i++)
    o = stpcpy (stpcpy (o, "/"), s->levels[i].name);
  if (name)
    stpcpy (stpcpy (o, "/"), name);
  return buf;
}

/* "<what> `<path>`" with op; what defaults to op.  */
static int
rm_error (const struct rm_stack *s, int errno_, const char *op, const char *what, const char *name,
          berth_error_t *err)
{
  cleanup_free char *path = rm_path (s, name);
  return berth_make_error_op (err, errno_, op, "%s `%s`", what ? what : op, path);
}

/* Unlink every non-directory of the directory open at fd; list its subdirectories in l.  */
static int
rm_scan (const struct rm_stack *s, int fd, struct rm_level *l, berth_error_t *err)
{
  cleanup_dir DIR *dir = NULL;
  size_t alloc = 0;
  int dup_fd;

  rm_level_clear_subdirs (l);
  dup_fd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0)
    return rm_error (s, errno, "open", NULL, NULL, err);
  dir = fdopendir (dup_fd);
  if (dir == NULL)
    {
      int saved = errno;
      close (dup_fd);
      return rm_error (s, saved, "fdopendir", NULL, NULL, err);
    }

  for (;;)
    {
      struct dirent *de;
      bool is_dir;

      errno = 0;
      de = readdir (dir);
      if (de == NULL)
        {
          if (errno != 0)
            return rm_error (s, errno, "readdir", NULL, NULL, err);
          return 0;
        }
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;

      is_dir = de->d_type == DT_DIR;
      if (de->d_type == DT_UNKNOWN)
        {
          struct stat st;
          if (fstatat (fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            {
              if (errno == ENOENT)
                continue;
              return rm_error (s, errno, "fstatat", NULL, de->d_name, err);
            }
          is_dir = S_ISDIR (st.st_mode);
        }
      if (is_dir)
        {
          if (l->n == alloc)
            {
              alloc = alloc ? alloc * 2 : 8;
              l->subdirs = xrealloc (l->subdirs, alloc * sizeof (char *));
            }
          l->subdirs[l->n++] = xstrdup (de->d_name);
        }
      else if (unlinkat (fd, de->d_name, 0) < 0 && errno != ENOENT)
        return rm_error (s, errno, "unlinkat", "unlink", de->d_name, err);
    }
}

/* Open the subdirectory `name` of fd for reading, making it readable and writable by us
   first when needed (overlayfs leaves work/work with mode 000; root does not care, others
   do).  Returns -1 with errno set.  */
static int
rm_open_subdir (int fd, const char *name, struct stat *st)
{
  int child = openat (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (child < 0 && errno == EACCES)
    {
      if (fchmodat (fd, name, 0700, 0) < 0)
        return -1;
      child = openat (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
  if (child < 0)
    return -1;
  if (fstat (child, st) < 0 || ((st->st_mode & 0700) != 0700 && fchmod (child, (st->st_mode & 07777) | 0700) < 0))
    {
      int saved = errno;
      close (child);
      errno = saved;
      return -1;
    }
  return child;
}

int
berth_rootfs_remove_writable (const char *writable, berth_error_t *err)
{
  struct rm_stack s __attribute__ ((cleanup (rm_stack_free))) = { .top = writable };
  cleanup_close int fd = -1;
  struct stat st;

  if (lstat (writable, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return berth_make_error_op (err, errno, "lstat", "lstat `%s`", writable);
    }
  if (! S_ISDIR (st.st_mode))
    {
      if (unlink (writable) < 0 && errno != ENOENT)
        return berth_make_error_op (err, errno, "unlink", "unlink `%s`", writable);
      return 0;
    }
  fd = rm_open_subdir (AT_FDCWD, writable, &st);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open `%s`", writable);

  s.alloc = 16;
  s.levels = xmalloc0 (s.alloc * sizeof (*s.levels));
  s.levels[0].dev = st.st_dev;
  s.levels[0].ino = st.st_ino;
  s.depth = 1;

  for (;;)
    {
      struct rm_level *l = &s.levels[s.depth - 1];
      struct rm_level *parent;
      cleanup_close int up = -1;
      cleanup_free char *name = NULL;

      if (l->next < l->n)
        {
          const char *sub = l->subdirs[l->next++];
          int child = rm_open_subdir (fd, sub, &st);

          if (child < 0)
            {
              if (errno == ENOENT)
                continue;
              return rm_error (&s, errno, "openat", "open", sub, err);
            }
          if (st.st_dev != s.levels[0].dev)
            {
              close (child);
              return rm_error (&s, EBUSY, "rmdir", "refusing to remove the mount point", sub, err);
            }
          if (s.depth == s.alloc)
            {
              s.alloc *= 2;
              s.levels = xrealloc (s.levels, s.alloc * sizeof (*s.levels));
            }
          s.levels[s.depth] = (struct rm_level){ .name = xstrdup (sub), .dev = st.st_dev, .ino = st.st_ino };
          s.depth++;
          close (fd);
          fd = child;
          continue;
        }

      /* Everything listed was visited: scan again; an empty scan means it is empty.  */
      if (rm_scan (&s, fd, l, err) < 0)
        return -1;
      if (l->n > 0)
        continue;

      if (s.depth == 1)
        {
          close (steal_fd (&fd));
          if (rmdir (writable) < 0 && errno != ENOENT)
            return berth_make_error_op (err, errno, "rmdir", "rmdir `%s`", writable);
          return 0;
        }

      parent = &s.levels[s.depth - 2];
      up = openat (fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (up < 0)
        return rm_error (&s, errno, "openat", "open", "..", err);
      if (fstat (up, &st) < 0)
        return rm_error (&s, errno, "fstat", NULL, "..", err);
      if (st.st_dev != parent->dev || st.st_ino != parent->ino)
        return rm_error (&s, EXDEV, "openat", "directory moved during removal: the parent of", NULL, err);
      close (fd);
      fd = steal_fd (&up);
      name = steal_pointer (&l->name);
      rm_level_clear_subdirs (l);
      s.depth--;
      if (unlinkat (fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return rm_error (&s, errno, "unlinkat", "rmdir", name, err);
    }
}
