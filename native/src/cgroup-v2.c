/*
 * Berth runtime: the cgroup v2 backend.  One hierarchy mounted at `root`; each new level's
 * parent gets the controllers it has available enabled in its cgroup.subtree_control.
 *
 * Controllers enabled in a parent's cgroup.subtree_control are not disabled again on
 * rollback or destroy: the parent may be shared with other containers.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>

#include "cgroup-internal.h"
#include "utils.h"

/* Enable in dir/cgroup.subtree_control every controller in dir/cgroup.controllers.
   EBUSY (dir has processes and is not the root), ENOTSUP/EOPNOTSUPP (a controller that
   cannot be enabled here) skip that controller; any other error fails.  */
int
berth_cgroup_v2_enable_controllers (const char *dir, berth_error_t *err)
{
  cleanup_free char *controllers_file = xasprintf ("%s/cgroup.controllers", dir);
  cleanup_free char *subtree_file = xasprintf ("%s/cgroup.subtree_control", dir);
  cleanup_free char *controllers = NULL;
  char *saveptr = NULL, *c;
  int ret;

  ret = berth_read_file (controllers_file, &controllers, NULL, err);
  if (ret < 0)
    return ret;

  for (c = strtok_r (controllers, " \n", &saveptr); c; c = strtok_r (NULL, " \n", &saveptr))
    {
      cleanup_free char *op = xasprintf ("+%s", c);

      ret = berth_cgroup_write_file (subtree_file, op, err);
      if (ret < 0)
        {
          int e = (*err)->status;

          if (e != EBUSY && e != ENOTSUP && e != EOPNOTSUPP)
            return berth_error_wrap (err, "enable controller %s", c);
          berth_error_release (err);
        }
    }
  return 0;
}

int
berth_cgroup_v2_create (const char *root, const char *path, struct berth_cgroup_created *created,
                        berth_error_t *err)
{
  const char *p = path;
  int ret;

  /* path is canonical: "/a/b".  */
  for (;;)
    {
      cleanup_free char *dir = NULL;
      const char *end = strchr (p + 1, '/');
      size_t len = end ? (size_t) (end - path) : strlen (path);
      bool made;

      dir = xasprintf ("%s%.*s", root, (int) len, path);
      ret = berth_cgroup_mkdir (dir, created, &made, err);
      if (ret < 0)
        return ret;
      if (made)
        {
          cleanup_free char *parent = xasprintf ("%s%.*s", root, (int) (p - path), path);
          ret = berth_cgroup_v2_enable_controllers (parent, err);
          if (ret < 0)
            return ret;
        }
      if (end == NULL)
        return 0;
      p = end;
    }
}

int
berth_cgroup_v2_attach (const char *root, const char *path, pid_t pid, berth_error_t *err)
{
  cleanup_free char *pid_str = xasprintf ("%d", (int) pid);
  cleanup_free char *procs = xasprintf ("%s%s/cgroup.procs", root, path);

  return berth_cgroup_write_file (procs, pid_str, err);
}

int
berth_cgroup_v2_pids (const char *root, const char *path, pid_t **pids, size_t *n,
                      berth_error_t *err)
{
  cleanup_free char *file = xasprintf ("%s%s/cgroup.procs", root, path);

  return berth_cgroup_read_procs (file, pids, n, err);
}

int
berth_cgroup_v2_destroy (const char *root, const char *path, berth_error_t *err)
{
  struct timespec deadline = berth_cgroup_deadline (1000);
  cleanup_free char *dir = xasprintf ("%s%s", root, path);

  return berth_cgroup_rmdir (dir, &deadline, err);
}

int
berth_cgroup_v2_mount (const char *dest, unsigned long flags, berth_error_t *err)
{
  int ret;

  ret = berth_cgroup_mount_fs ("cgroup2", dest, "cgroup2", flags, NULL, err);
  if (ret < 0)
    return ret;
  ret = berth_cgroup_mount_propagation (dest, flags, err);
  if (ret < 0)
    umount2 (dest, MNT_DETACH); /* best effort */
  return ret;
}
