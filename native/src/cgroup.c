/*
 * Berth runtime: the cgroup front.  Finds out how the host mounts cgroups, names and checks
 * cgroup paths, and hands each operation to cgroup-v1.c or cgroup-v2.c.  Also the helpers
 * both backends use (cgroup-internal.h).  See cgroup.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <linux/magic.h>

#include "cgroup-internal.h"
#include "cgroup.h"
#include "utils.h"

/* Where a pure cgroup2 host (and most hybrid ones, for their v1 hierarchies) mounts cgroups.
   Only used to recognise a v2 host; v1 hierarchies are always found in mountinfo.  */
#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"

/* ---- hierarchies from /proc/self/mountinfo.  */

static void
hierarchy_free (struct berth_cgroup_hierarchy *h)
{
  free (h->mount_point);
  free (h->name);
  free (h->controllers);
  free (h->named);
  free (h->mount_data);
  free (h->proc_key);
}

void
berth_cgroup_hierarchies_free (struct berth_cgroup_hierarchies *hs)
{
  size_t i;

  if (hs == NULL)
    return;
  for (i = 0; i < hs->n; i++)
    hierarchy_free (&hs->items[i]);
  free (hs->items);
  hs->items = NULL;
  hs->n = 0;
}

/* Undo mountinfo's octal escapes (\040 for a space, \011, \012, \134) in place.  */
static void
unescape_octal (char *s)
{
  char *out = s;

  while (*s)
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0'
          && s[3] <= '7')
        {
          *out++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
          s += 4;
        }
      else
        *out++ = *s++;
    }
  *out = '\0';
}

/* v1 mount options that are not controllers.  */
static bool
is_v1_flag_option (const char *opt)
{
  static const char *const flags[] = { "rw",           "ro",          "none",           "all",
                                       "noprefix",     "xattr",       "clone_children", "cpuset_v2_mode",
                                       "favordynmods", "nofavordynmods" };
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (flags); i++)
    if (strcmp (opt, flags[i]) == 0)
      return true;
  return strncmp (opt, "release_agent=", 14) == 0;
}

static void
append_csv (char **list, const char *item)
{
  char *s;

  if (**list == '\0')
    s = xstrdup (item);
  else
    s = xasprintf ("%s,%s", *list, item);
  free (*list);
  *list = s;
}

/* Fill h from the fields of one cgroup / cgroup2 mount.  */
static void
hierarchy_init (struct berth_cgroup_hierarchy *h, const char *mount_point, bool v2,
                const char *super_options, unsigned long dev, bool whole)
{
  const char *slash = strrchr (mount_point, '/');
  cleanup_free char *opts = xstrdup (super_options);
  char *saveptr = NULL, *opt;

  memset (h, 0, sizeof (*h));
  h->mount_point = xstrdup (mount_point);
  h->name = xstrdup (slash && slash[1] ? slash + 1 : mount_point);
  h->controllers = xstrdup ("");
  h->v2 = v2;
  h->dev = dev;
  h->whole = whole;

  if (v2)
    {
      h->proc_key = xstrdup ("");
      return;
    }

  for (opt = strtok_r (opts, ",", &saveptr); opt; opt = strtok_r (NULL, ",", &saveptr))
    {
      if (strncmp (opt, "name=", 5) == 0)
        {
          free (h->named);
          h->named = xstrdup (opt + 5);
        }
      else if (strcmp (opt, "noprefix") == 0)
        h->noprefix = true;
      else if (! is_v1_flag_option (opt))
        append_csv (&h->controllers, opt);
    }

  if (h->named)
    {
      h->mount_data = xasprintf ("%s%sname=%s", h->controllers[0] ? h->controllers : "none", ",",
                                 h->named);
      h->proc_key = xasprintf ("%s%sname=%s", h->controllers, h->controllers[0] ? "," : "",
                               h->named);
    }
  else
    {
      h->mount_data = xstrdup (h->controllers);
      h->proc_key = xstrdup (h->controllers);
    }
}

/* One line of mountinfo, split in place.  */
struct mountinfo_line
{
  unsigned long id, parent;
  char *dev, *root, *mount_point, *fstype, *super_options;
};

/* id parent major:minor root mount_point options [optional...] - fstype source super */
static int
split_mountinfo_line (char *line, struct mountinfo_line *l, berth_error_t *err)
{
  char *fields[64];
  size_t nf = 0, sep;
  char *saveptr = NULL, *tok, *end;

  for (tok = strtok_r (line, " ", &saveptr); tok && nf < BERTH_ARRAY_SIZE (fields); tok = strtok_r (NULL, " ", &saveptr))
    fields[nf++] = tok;
  if (nf == 0)
    return 0;
  for (sep = 6; sep < nf; sep++)
    if (strcmp (fields[sep], "-") == 0)
      break;
  if (sep + 3 >= nf)
    return berth_make_error_op (err, EINVAL, "parse", "parse /proc/self/mountinfo: bad line for mount id %s", fields[0]);
  l->id = strtoul (fields[0], &end, 10);
  if (*end != '\0')
    return berth_make_error_op (err, EINVAL, "parse", "parse /proc/self/mountinfo: bad mount id `%s`", fields[0]);
  l->parent = strtoul (fields[1], &end, 10);
  if (*end != '\0')
    return berth_make_error_op (err, EINVAL, "parse", "parse /proc/self/mountinfo: bad parent id `%s`", fields[1]);
  l->dev = fields[2];
  l->root = fields[3];
  l->mount_point = fields[4];
  unescape_octal (l->mount_point);
  l->fstype = fields[sep + 1];
  l->super_options = fields[sep + 3];
  return 1;
}

/* Whether lines[i] is out of sight: another mount sits on top of it at the same place (its
   parent is this mount, its mount point the same: a tmpfs mounted over
   /sys/fs/cgroup/unified), or the mount it sits on is itself out of sight.  */
static bool
mount_hidden (const struct mountinfo_line *lines, size_t n, size_t i)
{
  size_t from = n; /* the mount we came up from, which is on i but does not hide it */
  unsigned depth;
  size_t j;

  for (depth = 0; depth < 64; depth++)
    {
      size_t parent = n;

      for (j = 0; j < n; j++)
        {
          if (j == i || j == from)
            continue;
          if (lines[j].parent == lines[i].id && strcmp (lines[j].mount_point, lines[i].mount_point) == 0)
            return true;
          if (lines[j].id == lines[i].parent)
            parent = j;
        }
      if (parent == n)
        return false;
      from = i;
      i = parent;
    }
  return false;
}

int
berth_cgroup_parse_mountinfo (const char *text, struct berth_cgroup_hierarchies *hs,
                              berth_error_t *err)
{
  cleanup_free char *copy = xstrdup (text);
  cleanup_free struct mountinfo_line *lines = NULL;
  size_t n = 0, alloc = 0, k;
  char *line, *next;

  for (line = copy; line && *line; line = next)
    {
      int ret;

      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      if (n == alloc)
        {
          alloc = alloc ? alloc * 2 : 64;
          lines = xrealloc (lines, alloc * sizeof (*lines));
        }
      ret = split_mountinfo_line (line, &lines[n], err);
      if (ret < 0)
        return ret;
      n += (size_t) ret;
    }

  for (k = 0; k < n; k++)
    {
      const struct mountinfo_line *l = &lines[k];
      unsigned int major, minor;
      unsigned long dev;
      bool v2, whole;
      size_t i;

      if (strcmp (l->fstype, "cgroup") == 0)
        v2 = false;
      else if (strcmp (l->fstype, "cgroup2") == 0)
        v2 = true;
      else
        continue;
      if (sscanf (l->dev, "%u:%u", &major, &minor) != 2)
        return berth_make_error_op (err, EINVAL, "parse", "parse /proc/self/mountinfo: bad device `%s`", l->dev);
      if (mount_hidden (lines, n, k))
        continue;
      dev = (unsigned long) makedev (major, minor);
      whole = strcmp (l->root, "/") == 0;

      /* One entry per hierarchy (same superblock): a later mount replaces an earlier one
         only when it shows the hierarchy's root and the earlier one does not.  */
      for (i = 0; i < hs->n; i++)
        if (hs->items[i].dev == dev)
          break;
      if (i < hs->n)
        {
          if (whole && ! hs->items[i].whole)
            {
              hierarchy_free (&hs->items[i]);
              hierarchy_init (&hs->items[i], l->mount_point, v2, l->super_options, dev, whole);
            }
          continue;
        }

      hs->items = xrealloc (hs->items, (hs->n + 1) * sizeof (*hs->items));
      hierarchy_init (&hs->items[hs->n], l->mount_point, v2, l->super_options, dev, whole);
      hs->n++;
    }

  return 0;
}

int
berth_cgroup_read_hierarchies (struct berth_cgroup_hierarchies *hs, berth_error_t *err)
{
  cleanup_free char *text = NULL;
  int ret;

  ret = berth_read_file ("/proc/self/mountinfo", &text, NULL, err);
  if (ret < 0)
    return ret;
  ret = berth_cgroup_parse_mountinfo (text, hs, err);
  if (ret < 0)
    berth_cgroup_hierarchies_free (hs);
  return ret;
}

bool
berth_cgroup_hierarchy_has (const struct berth_cgroup_hierarchy *h, const char *name)
{
  size_t len = strlen (name);
  const char *p = h->controllers;

  if (h->v2 || len == 0)
    return false;
  while (*p)
    {
      const char *comma = strchr (p, ',');
      size_t n = comma ? (size_t) (comma - p) : strlen (p);

      if (n == len && memcmp (p, name, len) == 0)
        return true;
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  return false;
}

const struct berth_cgroup_hierarchy *
berth_cgroup_hierarchies_find (const struct berth_cgroup_hierarchies *hs, const char *name)
{
  size_t i;

  for (i = 0; i < hs->n; i++)
    if (berth_cgroup_hierarchy_has (&hs->items[i], name))
      return &hs->items[i];
  return NULL;
}

/* ---- mode.  */

static enum berth_cgroup_mode cached_mode;
static char cached_v2_root[PATH_MAX];

static int
detect_mode (berth_error_t *err)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { 0 };
  const struct berth_cgroup_hierarchy *v2 = NULL;
  struct statfs sfs;
  size_t i;
  int ret;

  if (statfs (CGROUP_DEFAULT_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
    {
      snprintf (cached_v2_root, sizeof (cached_v2_root), "%s", CGROUP_DEFAULT_ROOT);
      cached_mode = BERTH_CGROUP_V2;
      return 0;
    }

  ret = berth_cgroup_read_hierarchies (&hs, err);
  if (ret < 0)
    return ret;

  for (i = 0; i < hs.n; i++)
    {
      if (! hs.items[i].v2)
        {
          cached_mode = BERTH_CGROUP_V1;
          return 0;
        }
      if (v2 == NULL)
        v2 = &hs.items[i];
    }

  if (v2 == NULL)
    return berth_make_error_op (err, ENOENT, "cgroup",
                                "find cgroups: no cgroup or cgroup2 filesystem in /proc/self/mountinfo");
  if (strlen (v2->mount_point) >= sizeof (cached_v2_root))
    return berth_make_error_op (err, ENAMETOOLONG, "cgroup", "cgroup2 mount point %s",
                                v2->mount_point);
  snprintf (cached_v2_root, sizeof (cached_v2_root), "%s", v2->mount_point);
  cached_mode = BERTH_CGROUP_V2;
  return 0;
}

int
berth_cgroup_mode (enum berth_cgroup_mode *mode, berth_error_t *err)
{
  if (cached_mode == 0)
    {
      int ret = detect_mode (err);
      if (ret < 0)
        return ret;
    }
  *mode = cached_mode;
  return 0;
}

/* ---- paths.  */

int
berth_cgroup_validate_path (const char *path, berth_error_t *err)
{
  const char *p;
  size_t components = 0;

  if (path == NULL || path[0] != '/')
    return berth_make_error_op (err, 0, "validate_cgroup_path",
                                "invalid cgroup path `%s`: not an absolute path", path ? path : "(null)");

  for (p = path; *p;)
    {
      const char *end;
      size_t len;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      end = strchr (p, '/');
      len = end ? (size_t) (end - p) : strlen (p);
      if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
        return berth_make_error_op (err, 0, "validate_cgroup_path",
                                    "invalid cgroup path `%s`: component `%.*s` is not allowed", path,
                                    (int) len, p);
      components++;
      p += len;
    }

  if (components == 0)
    return berth_make_error_op (err, 0, "validate_cgroup_path",
                                "invalid cgroup path `%s`: it names the root cgroup", path);
  if (strlen (path) >= PATH_MAX / 2)
    return berth_make_error_op (err, ENAMETOOLONG, "validate_cgroup_path",
                                "invalid cgroup path `%.64s...`", path);
  return 0;
}

char *
berth_cgroup_path_for (const char *cgroups_path, const char *id)
{
  if (cgroups_path == NULL || cgroups_path[0] == '\0')
    return xasprintf ("/berth/%s", id);
  if (cgroups_path[0] == '/')
    return xstrdup (cgroups_path);
  return xasprintf ("/berth/%s", cgroups_path);
}

/* Validate path and return it without repeated or trailing slashes ("/a//b/" -> "/a/b"),
   the form the backends expect.  */
static int
canonical_path (const char *path, char **out, berth_error_t *err)
{
  char *c, *o;
  const char *p;
  int ret;

  ret = berth_cgroup_validate_path (path, err);
  if (ret < 0)
    return ret;

  c = o = xmalloc0 (strlen (path) + 1);
  for (p = path; *p; p++)
    if (*p != '/' || (p[1] != '/' && p[1] != '\0'))
      *o++ = *p;
  *o = '\0';
  *out = c;
  return 0;
}

/* ---- helpers for the backends.  */

int
berth_cgroup_write_file (const char *file, const char *data, berth_error_t *err)
{
  cleanup_close int fd = -1;

  fd = open (file, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open %s", file);
  if (berth_write_all (fd, data, strlen (data)) < 0)
    return berth_make_error_op (err, errno, "write", "write %s", file);
  if (close (steal_fd (&fd)) < 0)
    return berth_make_error_op (err, errno, "close", "close %s", file);
  return 0;
}

int
berth_cgroup_read_procs (const char *file, pid_t **pids, size_t *n, berth_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_free pid_t *out = NULL;
  size_t count = 0, alloc = 0;
  char *p, *end;
  int ret;

  ret = berth_read_file_optional (file, &text, NULL, err);
  if (ret < 0)
    return ret;
  if (text == NULL)
    {
      *pids = xmalloc0 (sizeof (pid_t));
      *n = 0;
      return 0;
    }

  for (p = text; *p; p = end)
    {
      long v;

      while (*p == '\n' || *p == ' ')
        p++;
      if (*p == '\0')
        break;
      errno = 0;
      v = strtol (p, &end, 10);
      if (errno != 0 || end == p || v <= 0 || v > INT_MAX || (*end != '\n' && *end != '\0'))
        return berth_make_error_op (err, EINVAL, "parse", "parse %s: bad pid `%.16s`", file, p);
      if (count == alloc)
        {
          alloc = alloc ? alloc * 2 : 16;
          out = xrealloc (out, alloc * sizeof (pid_t));
        }
      out[count++] = (pid_t) v;
    }

  if (out == NULL)
    out = xmalloc0 (sizeof (pid_t));
  *pids = steal_pointer (&out);
  *n = count;
  return 0;
}

int
berth_cgroup_read_u64 (const char *file, const char *key, uint64_t *value, berth_error_t *err)
{
  cleanup_free char *text = NULL;
  unsigned long long v;
  const char *p;
  char *end;
  int ret;

  *value = BERTH_CGROUP_STAT_UNKNOWN;
  ret = berth_read_file_optional (file, &text, NULL, err);
  if (ret < 0 || text == NULL)
    return ret;

  p = text;
  if (key)
    {
      size_t klen = strlen (key);

      for (;;)
        {
          if (strncmp (p, key, klen) == 0 && p[klen] == ' ')
            {
              p += klen + 1;
              break;
            }
          p = strchr (p, '\n');
          if (p == NULL)
            return 0; /* no such key: unknown */
          p++;
        }
    }

  while (*p == ' ')
    p++;
  if (strncmp (p, "max", 3) == 0 && (p[3] == '\n' || p[3] == '\0' || p[3] == ' '))
    {
      *value = BERTH_CGROUP_STAT_NONE; /* a v2 limit that is not set */
      return 0;
    }
  errno = 0;
  v = strtoull (p, &end, 10);
  if (errno != 0 || end == p || *p == '-' || (*end != '\n' && *end != '\0' && *end != ' '))
    return berth_make_error_op (err, errno ? errno : EINVAL, "parse", "parse %s: bad number `%.24s`",
                                file, p);
  *value = v;
  return 0;
}

struct timespec
berth_cgroup_deadline (long ms)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L)
    {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
  return ts;
}

static bool
deadline_passed (const struct timespec *deadline)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec > deadline->tv_sec
         || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int
berth_cgroup_rmdir (const char *dir, const struct timespec *deadline, berth_error_t *err)
{
  static const struct timespec pause_ts = { 0, 10 * 1000000L };

  for (;;)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY || deadline_passed (deadline))
        return berth_make_error_op (err, errno, "rmdir", "rmdir %s", dir);
      nanosleep (&pause_ts, NULL);
    }
}

int
berth_cgroup_mkdir (const char *dir, struct berth_cgroup_created *c, bool *created,
                    berth_error_t *err)
{
  struct stat st;

  *created = false;
  if (mkdir (dir, 0755) == 0)
    {
      c->dirs = xrealloc (c->dirs, (c->n + 1) * sizeof (char *));
      c->dirs[c->n++] = xstrdup (dir);
      *created = true;
      return 0;
    }
  if (errno != EEXIST)
    return berth_make_error_op (err, errno, "mkdir", "mkdir %s", dir);
  if (stat (dir, &st) < 0)
    return berth_make_error_op (err, errno, "stat", "stat %s", dir);
  if (! S_ISDIR (st.st_mode))
    return berth_make_error_op (err, ENOTDIR, "mkdir", "mkdir %s", dir);
  return 0;
}

void
berth_cgroup_created_free (struct berth_cgroup_created *c)
{
  size_t i;

  for (i = 0; i < c->n; i++)
    free (c->dirs[i]);
  free (c->dirs);
  c->dirs = NULL;
  c->n = 0;
}

void
berth_cgroup_rollback (struct berth_cgroup_created *c)
{
  struct timespec deadline = berth_cgroup_deadline (1000);
  size_t i;

  for (i = c->n; i > 0; i--)
    {
      berth_error_t e = NULL;
      berth_cgroup_rmdir (c->dirs[i - 1], &deadline, &e); /* best effort */
      berth_error_release (&e);
    }
  berth_cgroup_created_free (c);
}

#define MOUNT_ATTR_BITS \
  (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
#define MOUNT_PROPAGATION_BITS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

int
berth_cgroup_remount_ro (const char *target, unsigned long flags, berth_error_t *err)
{
  if (mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (flags & MOUNT_ATTR_BITS), NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "remount %s read-only", target);
  return 0;
}

int
berth_cgroup_mount_fs (const char *source, const char *target, const char *type,
                       unsigned long flags, const char *data, berth_error_t *err)
{
  unsigned long new_flags
      = flags & ~(MS_RDONLY | MS_REMOUNT | MS_BIND | MS_MOVE | MS_REC | MOUNT_PROPAGATION_BITS);

  if (mount (source, target, type, new_flags, data) < 0)
    return berth_make_error_op (err, errno, "mount", "mount %s on %s%s%s%s", type, target,
                                data ? " (" : "", data ? data : "", data ? ")" : "");
  if (flags & MS_RDONLY)
    {
      int ret = berth_cgroup_remount_ro (target, flags, err);
      if (ret < 0)
        {
          umount2 (target, MNT_DETACH); /* best effort */
          return ret;
        }
    }
  return 0;
}

int
berth_cgroup_mount_propagation (const char *target, unsigned long flags, berth_error_t *err)
{
  unsigned long prop = flags & MOUNT_PROPAGATION_BITS;

  if (prop == 0)
    return 0;
  if (mount (NULL, target, NULL, prop | (flags & MS_REC), NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "set propagation of %s", target);
  return 0;
}

/* ---- the API: dispatch to a backend.  */

/* What every front function starts with: the canonical path, the host's mode, and on v1 the
   hierarchies.  */
static int
prepare (const char *path, char **cpath, enum berth_cgroup_mode *mode, struct berth_cgroup_hierarchies *hs,
         berth_error_t *err)
{
  int ret = canonical_path (path, cpath, err);
  if (ret < 0)
    return ret;
  ret = berth_cgroup_mode (mode, err);
  if (ret < 0)
    return ret;
  return *mode == BERTH_CGROUP_V2 ? 0 : berth_cgroup_read_hierarchies (hs, err);
}

/* A new container's cgroup must hold no process: sharing one (two configs with the same
   cgroupsPath) would let the other's limits, `ps` and `delete` (which kills what is in the
   cgroup) reach this container's processes.  */
static int
require_empty (enum berth_cgroup_mode mode, const struct berth_cgroup_hierarchies *hs, const char *cpath,
               berth_error_t *err)
{
  size_t i, n_roots = mode == BERTH_CGROUP_V2 ? 1 : hs->n;

  for (i = 0; i < n_roots; i++)
    {
      const char *root = mode == BERTH_CGROUP_V2 ? cached_v2_root : hs->items[i].mount_point;
      cleanup_free char *file = xasprintf ("%s%s/cgroup.procs", root, cpath);
      cleanup_free pid_t *pids = NULL;
      size_t n = 0;

      if (berth_cgroup_read_procs (file, &pids, &n, err) < 0)
        return -1;
      if (n > 0)
        return berth_make_error_op (err, EBUSY, "cgroup",
                                    "cgroup %s already holds %zu process%s (pid %d, in %s): another container uses "
                                    "it; give this one a linux.cgroupsPath of its own",
                                    cpath, n, n == 1 ? "" : "es", (int) pids[0], root);
    }
  return 0;
}

/* One attempt of enter: create, apply, attach; on failure what was created is removed.  */
static int
enter_once (enum berth_cgroup_mode mode, const struct berth_cgroup_hierarchies *hs, const char *cpath,
            pid_t pid, const struct berth_cgroup_resources *res, berth_error_t *err)
{
  struct berth_cgroup_created created = { NULL, 0 };
  int ret;

  ret = mode == BERTH_CGROUP_V2 ? berth_cgroup_v2_create (cached_v2_root, cpath, &created, err)
                                : berth_cgroup_v1_create (hs, cpath, &created, err);
  if (ret == 0 && res)
    ret = require_empty (mode, hs, cpath, err);
  if (ret == 0 && res)
    ret = berth_cgroup_resources_apply (hs, cpath, res, err);
  if (ret == 0)
    ret = mode == BERTH_CGROUP_V2 ? berth_cgroup_v2_attach (cached_v2_root, cpath, pid, err)
                                  : berth_cgroup_v1_attach (hs, cpath, pid, err);
  if (ret < 0)
    berth_cgroup_rollback (&created);
  else
    berth_cgroup_created_free (&created);
  return ret;
}

int
berth_cgroup_enter (const char *path, pid_t pid, const struct berth_cgroup_resources *res,
                    berth_error_t *err)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { 0 };
  cleanup_free char *cpath = NULL;
  enum berth_cgroup_mode mode;
  int ret;

  ret = prepare (path, &cpath, &mode, &hs, err);
  if (ret < 0)
    return ret;
  if (pid <= 0)
    return berth_make_error_op (err, EINVAL, "cgroup", "enter cgroup %s: bad pid %d", cpath, (int) pid);
  /* Resources need to know where each controller is, on v2 as well.  */
  if (mode == BERTH_CGROUP_V2 && res)
    {
      ret = berth_cgroup_read_hierarchies (&hs, err);
      if (ret < 0)
        return ret;
    }
  /* A delete may remove Berth's empty parent ("/berth") between our mkdirs (ENOENT), or
     while we read its cpuset files (ENODEV: a removed cgroup's open files): try again.  */
  for (int attempt = 0;; attempt++)
    {
      ret = enter_once (mode, &hs, cpath, pid, res, err);
      if (ret == 0 || attempt == 4 || ((*err)->status != ENOENT && (*err)->status != ENODEV))
        return ret;
      berth_error_release (err);
    }
}

/* After the last container under Berth's default parent is gone, remove the parent too
   (only "/berth", which Berth made; a cgroupsPath's parents belong to others).  Not
   retried: a parent still in use is EBUSY, which is fine.  */
static void
remove_default_parent (const char *cpath, const struct berth_cgroup_hierarchies *hs, const char *v2_root)
{
  size_t i;

  if (strncmp (cpath, "/berth/", 7) != 0 || strchr (cpath + 7, '/') != NULL)
    return;
  if (v2_root)
    {
      cleanup_free char *dir = xasprintf ("%s/berth", v2_root);
      rmdir (dir);
      return;
    }
  for (i = 0; i < hs->n; i++)
    {
      cleanup_free char *dir = xasprintf ("%s/berth", hs->items[i].mount_point);
      rmdir (dir);
    }
}

int
berth_cgroup_pids (const char *path, pid_t **pids, size_t *n, berth_error_t *err)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { 0 };
  cleanup_free char *cpath = NULL;
  enum berth_cgroup_mode mode;
  int ret;

  ret = prepare (path, &cpath, &mode, &hs, err);
  if (ret < 0)
    return ret;
  if (mode == BERTH_CGROUP_V2)
    return berth_cgroup_v2_pids (cached_v2_root, cpath, pids, n, err);
  return berth_cgroup_v1_pids (&hs, cpath, pids, n, err);
}

int
berth_cgroup_destroy (const char *path, berth_error_t *err)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { 0 };
  cleanup_free char *cpath = NULL;
  enum berth_cgroup_mode mode;
  int ret;

  ret = prepare (path, &cpath, &mode, &hs, err);
  if (ret < 0)
    return ret;
  ret = mode == BERTH_CGROUP_V2 ? berth_cgroup_v2_destroy (cached_v2_root, cpath, err)
                                : berth_cgroup_v1_destroy (&hs, cpath, err);
  if (ret == 0)
    remove_default_parent (cpath, &hs, mode == BERTH_CGROUP_V2 ? cached_v2_root : NULL);
  return ret;
}

int
berth_cgroup_stats (const char *path, struct berth_cgroup_stats *out, berth_error_t *err)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { 0 };
  cleanup_free char *cpath = NULL;
  enum berth_cgroup_mode mode;
  int ret;

  out->memory_bytes = out->memory_limit = out->cpu_usage_ns = BERTH_CGROUP_STAT_UNKNOWN;
  out->pids = out->pids_limit = out->oom_kills = BERTH_CGROUP_STAT_UNKNOWN;
  ret = prepare (path, &cpath, &mode, &hs, err);
  if (ret == 0 && mode == BERTH_CGROUP_V2)
    ret = berth_cgroup_read_hierarchies (&hs, err);
  if (ret < 0)
    return ret;
  return berth_cgroup_read_stats (&hs, cpath, out, err);
}

int
berth_cgroup_mount (const char *dest, unsigned long flags, berth_error_t *err)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { 0 };
  enum berth_cgroup_mode mode;
  int ret;

  if (dest == NULL || dest[0] != '/')
    return berth_make_error_op (err, EINVAL, "mount", "mount cgroups: `%s` is not an absolute path",
                                dest ? dest : "(null)");
  ret = berth_cgroup_mode (&mode, err);
  if (ret < 0)
    return ret;
  if (mode == BERTH_CGROUP_V2)
    return berth_cgroup_v2_mount (dest, flags, err);

  ret = berth_cgroup_read_hierarchies (&hs, err);
  if (ret < 0)
    return ret;
  return berth_cgroup_v1_mount (&hs, dest, flags, err);
}
