/*
 * Berth runtime: the cgroup v1 backend.  A container's cgroup is the same path in every
 * mounted hierarchy: each controller hierarchy, named ones (name=systemd) and, on hybrid
 * hosts, the cgroup2 one (no controllers there, but the container is trackable).
 *
 * Only directories this code creates are ever removed; nothing else in a hierarchy is
 * moved or changed, with one exception: an existing ancestor whose cpuset.cpus or
 * cpuset.mems is empty gets its parent's value, as a new level does (an empty cpuset can
 * hold no task, so nothing running is affected, and without it no child can be used).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "utils.h"

/* ---- cpuset.  */

static bool
is_blank (const char *s)
{
  for (; *s; s++)
    if (*s != ' ' && *s != '\n' && *s != '\t')
      return false;
  return true;
}

static void
trim_newline (char *s)
{
  size_t len = strlen (s);

  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
    s[--len] = '\0';
}

/* Give dir/file (cpuset.cpus or cpuset.mems) its parent's value when it is empty, first
   doing the same for the parent (up to the hierarchy root).  */
static int
cpuset_fill (const char *mount_point, const char *dir, const char *file, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, file);
  cleanup_free char *value = NULL;
  cleanup_free char *parent = NULL;
  cleanup_free char *parent_value = NULL;
  cleanup_free char *parent_path = NULL;
  size_t mlen = strlen (mount_point);
  const char *slash;
  int ret;

  ret = berth_read_file (path, &value, NULL, err);
  if (ret < 0)
    return ret;
  if (! is_blank (value))
    return 0;

  slash = strrchr (dir, '/');
  if (slash == NULL || strlen (dir) <= mlen || (size_t) (slash - dir) < mlen)
    return berth_make_error_op (err, EINVAL, "cgroup", "%s is empty at the hierarchy root", path);

  parent = strndup (dir, (size_t) (slash - dir));
  if (parent == NULL)
    return berth_make_error_op (err, ENOMEM, "cgroup", "copy %s", path);

  ret = cpuset_fill (mount_point, parent, file, err);
  if (ret < 0)
    return ret;

  parent_path = xasprintf ("%s/%s", parent, file);
  ret = berth_read_file (parent_path, &parent_value, NULL, err);
  if (ret < 0)
    return ret;
  trim_newline (parent_value);
  return berth_cgroup_write_file (path, parent_value, err);
}

static int
cpuset_init (const struct berth_cgroup_hierarchy *h, const char *dir, berth_error_t *err)
{
  int ret;

  ret = cpuset_fill (h->mount_point, dir, h->noprefix ? "cpus" : "cpuset.cpus", err);
  if (ret < 0)
    return ret;
  return cpuset_fill (h->mount_point, dir, h->noprefix ? "mems" : "cpuset.mems", err);
}

/* ---- enter.  */

/* mkdir each level of path (canonical: "/a/b") under h; new cpuset levels get cpus/mems.  */
static int
make_levels (const struct berth_cgroup_hierarchy *h, const char *path,
             struct berth_cgroup_created *created, berth_error_t *err)
{
  bool cpuset = berth_cgroup_hierarchy_has (h, "cpuset");
  const char *p = path;

  for (;;)
    {
      cleanup_free char *dir = NULL;
      const char *end = strchr (p + 1, '/');
      size_t len = end ? (size_t) (end - path) : strlen (path);
      bool made;
      int ret;

      dir = xasprintf ("%s%.*s", h->mount_point, (int) len, path);
      ret = berth_cgroup_mkdir (dir, created, &made, err);
      if (ret < 0)
        return ret;
      if (made && cpuset)
        {
          ret = cpuset_init (h, dir, err);
          if (ret < 0)
            return ret;
        }
      if (made && h->v2)
        {
          /* Hybrid host: controllers moved to cgroup2 (pids, cpu) are used there.  */
          cleanup_free char *parent = xasprintf ("%s%.*s", h->mount_point, (int) (p - path), path);
          ret = berth_cgroup_v2_enable_controllers (parent, err);
          if (ret < 0)
            return ret;
        }
      if (end == NULL)
        return 0;
      p = end;
    }
}

/* The cgroup of pid in hierarchy h from the text of /proc/PID/cgroup, or NULL.  */
static char *
proc_cgroup_of (const char *proc_text, const struct berth_cgroup_hierarchy *h)
{
  const char *line;

  for (line = proc_text; line && *line;)
    {
      const char *nl = strchr (line, '\n');
      size_t len = nl ? (size_t) (nl - line) : strlen (line);
      const char *c1 = memchr (line, ':', len);
      const char *c2 = c1 ? memchr (c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;

      if (c2 && (size_t) (c2 - c1 - 1) == strlen (h->proc_key)
          && memcmp (c1 + 1, h->proc_key, (size_t) (c2 - c1 - 1)) == 0
          && (! h->v2 || (c1 - line == 1 && line[0] == '0')))
        return strndup (c2 + 1, len - (size_t) (c2 + 1 - line));
      line = nl ? nl + 1 : NULL;
    }
  return NULL;
}

/* Best effort: put pid back where it was in the hierarchies it was moved out of.  */
static void
move_back (const struct berth_cgroup_hierarchies *hs, const bool *moved, const char *proc_text,
           const char *pid_str)
{
  size_t i;

  if (proc_text == NULL)
    return;
  for (i = 0; i < hs->n; i++)
    {
      cleanup_free char *orig = NULL;
      cleanup_free char *file = NULL;
      berth_error_t e = NULL;

      if (! moved[i])
        continue;
      orig = proc_cgroup_of (proc_text, &hs->items[i]);
      if (orig == NULL)
        continue;
      file = xasprintf ("%s%s/cgroup.procs", hs->items[i].mount_point,
                        strcmp (orig, "/") == 0 ? "" : orig);
      berth_cgroup_write_file (file, pid_str, &e);
      berth_error_release (&e);
    }
}

int
berth_cgroup_v1_create (const struct berth_cgroup_hierarchies *hs, const char *path,
                        struct berth_cgroup_created *created, berth_error_t *err)
{
  size_t i;
  int ret;

  if (hs->n == 0)
    return berth_make_error_op (err, ENOENT, "cgroup",
                                "create cgroup %s: no cgroup hierarchy in /proc/self/mountinfo", path);
  for (i = 0; i < hs->n; i++)
    {
      ret = make_levels (&hs->items[i], path, created, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
berth_cgroup_v1_attach (const struct berth_cgroup_hierarchies *hs, const char *path, pid_t pid,
                        berth_error_t *err)
{
  cleanup_free char *pid_str = xasprintf ("%d", (int) pid);
  cleanup_free char *proc_file = xasprintf ("/proc/%d/cgroup", (int) pid);
  cleanup_free char *proc_text = NULL;
  cleanup_free bool *moved = NULL;
  berth_error_t ignored = NULL;
  size_t i;
  int ret;

  /* Where pid is now, to put it back if a later hierarchy refuses it.  A pid that is gone
     fails below, when it is written to cgroup.procs.  */
  if (berth_read_file (proc_file, &proc_text, NULL, &ignored) < 0)
    berth_error_release (&ignored);

  moved = xmalloc0 ((hs->n ? hs->n : 1) * sizeof (bool));
  for (i = 0; i < hs->n; i++)
    {
      cleanup_free char *file = xasprintf ("%s%s/cgroup.procs", hs->items[i].mount_point, path);

      ret = berth_cgroup_write_file (file, pid_str, err);
      if (ret < 0)
        {
          move_back (hs, moved, proc_text, pid_str);
          return ret;
        }
      moved[i] = true;
    }
  return 0;
}

/* ---- pids, destroy.  */

int
berth_cgroup_v1_pids (const struct berth_cgroup_hierarchies *hs, const char *path, pid_t **pids,
                      size_t *n, berth_error_t *err)
{
  const struct berth_cgroup_hierarchy *h = berth_cgroup_hierarchies_find (hs, "pids");
  cleanup_free char *file = NULL;
  size_t i;

  for (i = 0; h == NULL && i < hs->n; i++)
    if (! hs->items[i].v2)
      h = &hs->items[i];
  if (h == NULL && hs->n > 0)
    h = &hs->items[0];
  if (h == NULL)
    return berth_make_error_op (err, ENOENT, "cgroup",
                                "list cgroup %s: no cgroup hierarchy in /proc/self/mountinfo", path);

  file = xasprintf ("%s%s/cgroup.procs", h->mount_point, path);
  return berth_cgroup_read_procs (file, pids, n, err);
}

int
berth_cgroup_v1_destroy (const struct berth_cgroup_hierarchies *hs, const char *path,
                         berth_error_t *err)
{
  struct timespec deadline = berth_cgroup_deadline (1000);
  berth_error_t first = NULL;
  size_t i;

  /* Every hierarchy is tried, whatever happens in the others; the first error is kept.  */
  for (i = 0; i < hs->n; i++)
    {
      cleanup_free char *dir = xasprintf ("%s%s", hs->items[i].mount_point, path);
      berth_error_t e = NULL;

      if (berth_cgroup_rmdir (dir, &deadline, &e) < 0)
        {
          if (first == NULL)
            first = e;
          else
            berth_error_release (&e);
        }
    }

  if (first == NULL)
    return 0;
  berth_error_release (err);
  *err = first;
  return -first->status - 1;
}

/* ---- mount.  */

/* For a hierarchy with several controllers ("cpu,cpuacct"), dest/<controller> -> name
   symlinks, as hosts and Docker have them.  */
static int
link_comounted (const struct berth_cgroup_hierarchy *h, const char *dest, berth_error_t *err)
{
  cleanup_free char *list = xstrdup (h->controllers);
  char *saveptr = NULL, *c;

  if (strchr (h->controllers, ',') == NULL)
    return 0;
  for (c = strtok_r (list, ",", &saveptr); c; c = strtok_r (NULL, ",", &saveptr))
    {
      cleanup_free char *link = NULL;

      if (strcmp (c, h->name) == 0)
        continue;
      link = xasprintf ("%s/%s", dest, c);
      if (symlink (h->name, link) < 0 && errno != EEXIST)
        return berth_make_error_op (err, errno, "symlink", "symlink %s -> %s", link, h->name);
    }
  return 0;
}

/* Under the tmpfs at dest: one directory and mount per hierarchy, then ro and propagation.  */
static int
mount_hierarchies (const struct berth_cgroup_hierarchies *hs, const char *dest, unsigned long flags,
                   berth_error_t *err)
{
  size_t i;
  int ret;

  for (i = 0; i < hs->n; i++)
    {
      const struct berth_cgroup_hierarchy *h = &hs->items[i];
      cleanup_free char *sub = xasprintf ("%s/%s", dest, h->name);

      if (mkdir (sub, 0755) < 0 && errno != EEXIST)
        return berth_make_error_op (err, errno, "mkdir", "mkdir %s", sub);
      if (h->v2)
        ret = berth_cgroup_mount_fs ("cgroup2", sub, "cgroup2", flags, NULL, err);
      else
        ret = berth_cgroup_mount_fs ("cgroup", sub, "cgroup", flags, h->mount_data, err);
      if (ret < 0)
        return ret;
      if (! h->v2)
        {
          ret = link_comounted (h, dest, err);
          if (ret < 0)
            return ret;
        }
    }

  if (flags & MS_RDONLY)
    {
      ret = berth_cgroup_remount_ro (dest, flags, err);
      if (ret < 0)
        return ret;
    }
  return berth_cgroup_mount_propagation (dest, flags, err);
}

int
berth_cgroup_v1_mount (const struct berth_cgroup_hierarchies *hs, const char *dest,
                       unsigned long flags, berth_error_t *err)
{
  int ret;

  ret = berth_cgroup_mount_fs ("tmpfs", dest, "tmpfs", flags & ~MS_RDONLY, "mode=755", err);
  if (ret < 0)
    return ret;

  ret = mount_hierarchies (hs, dest, flags, err);
  if (ret < 0)
    umount2 (dest, MNT_DETACH); /* the tmpfs and all under it; best effort */
  return ret;
}
