/*
 * Berth runtime: user namespaces and idmapped mounts.  See idmap.h.
 *
 * The mount API (open_tree, mount_setattr with MOUNT_ATTR_IDMAP, fsopen/fsconfig/fsmount)
 * needs Linux 5.12 for idmapped mounts and 5.19 for idmapped overlayfs layers; "lowerdir+"
 * needs 6.8 and older kernels get the classic colon-separated lowerdir.  The overlay is
 * built by the parent, in the initial user namespace, so overlayfs accesses its layers
 * with full privileges and only the view is mapped; the container process attaches it
 * with move_mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config-json.h"
#include "idmap.h"
#include "oci-config.h"
#include "utils.h"

#define MAX_MAPPINGS 340

/* ---- parsing.  */

static bool
ranges_overlap (uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
  return a < b + blen && b < a + alen;
}

int
berth_idmap_parse (json_object *linux_, const char *key, struct berth_id_map *out, berth_error_t *err)
{
  json_object *arr = cfg_member (linux_, key);
  cleanup_free char *where = xasprintf ("linux.%s", key);
  size_t i, k, n;

  out->items = NULL;
  out->n = 0;
  if (arr == NULL)
    return 0;
  if (cfg_require_array (arr, where, err) < 0)
    return -1;
  n = json_object_array_length (arr);
  if (n > MAX_MAPPINGS)
    return cfg_error (err, "%s has %zu entries: the kernel takes at most %d", where, n, MAX_MAPPINGS);
  out->items = xmalloc0 ((n ? n : 1) * sizeof (*out->items));
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = cfg_element_path (where, i);
      json_object *v = json_object_array_get_idx (arr, i);
      struct berth_id_mapping *m = &out->items[i];
      int64_t c, h, s;

      out->n = i + 1;
      if (cfg_require_object (v, w, err) < 0 || cfg_req_int (v, w, "containerID", 0, UINT32_MAX - 1, &c, err) < 0
          || cfg_req_int (v, w, "hostID", 0, UINT32_MAX - 1, &h, err) < 0
          || cfg_req_int (v, w, "size", 1, UINT32_MAX, &s, err) < 0)
        return -1;
      if ((uint64_t) c + (uint64_t) s > UINT32_MAX || (uint64_t) h + (uint64_t) s > UINT32_MAX)
        return cfg_error (err, "%s goes past id 4294967294", w);
      m->container_id = (uint32_t) c;
      m->host_id = (uint32_t) h;
      m->size = (uint32_t) s;
      for (k = 0; k < i; k++)
        {
          const struct berth_id_mapping *o = &out->items[k];
          if (ranges_overlap (m->container_id, m->size, o->container_id, o->size))
            return cfg_error (err, "%s overlaps %s[%zu] in container ids", w, where, k);
          if (ranges_overlap (m->host_id, m->size, o->host_id, o->size))
            return cfg_error (err, "%s overlaps %s[%zu] in host ids", w, where, k);
        }
    }
  return 0;
}

void
berth_idmap_release (struct berth_id_map *m)
{
  free (m->items);
  m->items = NULL;
  m->n = 0;
}

int64_t
berth_idmap_to_host (const struct berth_id_map *m, uint32_t id)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    if (id >= m->items[i].container_id && (uint64_t) id < (uint64_t) m->items[i].container_id + m->items[i].size)
      return (int64_t) m->items[i].host_id + (id - m->items[i].container_id);
  return -1;
}

/* ---- writing the maps.  */

static int
write_map (pid_t pid, const char *file, const struct berth_id_map *m, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("/proc/%d/%s", (int) pid, file);
  cleanup_free char *text = xmalloc0 (m->n * 36 + 1);
  cleanup_close int fd = -1;
  size_t i, len = 0;

  for (i = 0; i < m->n; i++)
    len += (size_t) sprintf (text + len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m->items[i].container_id,
                             m->items[i].host_id, m->items[i].size);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open %s", path);
  /* The kernel takes the whole map in one write.  */
  if (write (fd, text, len) != (ssize_t) len)
    return berth_make_error_op (err, errno, "write", "write %s", path);
  return 0;
}

int
berth_idmap_write (pid_t pid, const struct berth_config *c, berth_error_t *err)
{
  if (write_map (pid, "uid_map", &c->uid_map, err) < 0 || write_map (pid, "gid_map", &c->gid_map, err) < 0)
    return berth_error_wrap (err, "map the container's ids (linux.uidMappings, linux.gidMappings)");
  return 0;
}

/* ---- idmapped mounts.  */

/* A detached clone of path (recursive when rec), idmapped through userns_fd.  */
static int
idmapped_clone (const char *path, int userns_fd, bool rec, berth_error_t *err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
  cleanup_close int fd = -1;

  fd = (int) syscall (SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
  if (fd < 0)
    return berth_make_error_op (err, errno, "open_tree", "clone the mount of `%s`", path);
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof (attr)) < 0)
    {
      int e = errno;
      if (e == EINVAL)
        return berth_make_error_op (err, e, "mount_setattr",
                                    "idmap `%s` for the user namespace: its filesystem does not support idmapped "
                                    "mounts (ext4, xfs and btrfs do, tmpfs from Linux 6.3); move it or drop the user namespace",
                                    path);
      return berth_make_error_op (err, e, "mount_setattr", "idmap `%s` for the user namespace", path);
    }
  return steal_fd (&fd);
}

/* fsconfig, with overlayfs's own message (read from the fs context) on failure.  */
static int
fs_set (int fsfd, unsigned cmd, const char *key, const char *value, berth_error_t *err)
{
  char msg[512];
  ssize_t n;
  int e;

  if (syscall (SYS_fsconfig, fsfd, cmd, key, value, 0) == 0)
    return 0;
  e = errno;
  n = read (fsfd, msg, sizeof (msg) - 1);
  msg[n > 0 ? n : 0] = '\0';
  if (n > 0 && msg[n - 1] == '\n')
    msg[n - 1] = '\0';
  return berth_make_error_op (err, e, "fsconfig", "overlay %s%s%s%s%s", key ? key : "create", value ? "=" : "",
                              value ? value : "", *msg ? ": " : "", msg);
}

static int
idmapped_overlay (const struct berth_config *c, int userns_fd, berth_error_t *err)
{
  cleanup_close int fsfd = -1;
  cleanup_free int *lfd = NULL;
  cleanup_free char *upper = xasprintf ("%s/upper", c->overlay_writable);
  cleanup_free char *work = xasprintf ("%s/work", c->overlay_writable);
  size_t i, n = 0;
  int ret = -1, mfd;
  bool plus = true;

  while (c->overlay_lower[n])
    n++;
  lfd = xmalloc0 ((n ? n : 1) * sizeof (int));
  for (i = 0; i < n; i++)
    lfd[i] = -1;

  if (berth_mkdir_p (upper, 0755, err) < 0 || berth_mkdir_p (work, 0755, err) < 0)
    goto out;
  /* The upper layer is not idmapped: overlayfs works in work/ with the mounter's
     credentials (host root), which an idmapped mount could not represent (EOVERFLOW).  So
     upper/ holds host ids, and its top directory belongs to the namespace's root, which is
     what "/" shows inside.  */
  if (chown (upper, (uid_t) berth_idmap_to_host (&c->uid_map, 0), (gid_t) berth_idmap_to_host (&c->gid_map, 0)) < 0)
    {
      berth_make_error_op (err, errno, "chown", "chown %s to the user namespace's root", upper);
      goto out;
    }
  for (i = 0; i < n; i++)
    {
      lfd[i] = idmapped_clone (c->overlay_lower[i], userns_fd, false, err);
      if (lfd[i] < 0)
        goto out;
    }

  fsfd = (int) syscall (SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    {
      berth_make_error_op (err, errno, "fsopen", "fsopen overlay");
      goto out;
    }
  for (i = 0; i < n; i++)
    {
      char path[64];
      snprintf (path, sizeof (path), "/proc/self/fd/%d", lfd[i]);
      if (plus && syscall (SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, 0) == 0)
        continue;
      if (i == 0 && plus && errno == EINVAL)
        {
          plus = false; /* before Linux 6.8: one colon-separated lowerdir */
          char discard[512];
          while (read (fsfd, discard, sizeof (discard)) > 0)
            ;
          break;
        }
      fs_set (fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, err);
      goto out;
    }
  if (! plus)
    {
      cleanup_free char *lower = xmalloc0 (n * 32 + 1);
      size_t len = 0;
      for (i = 0; i < n; i++)
        len += (size_t) sprintf (lower + len, "%s/proc/self/fd/%d", i ? ":" : "", lfd[i]);
      if (fs_set (fsfd, FSCONFIG_SET_STRING, "lowerdir", lower, err) < 0)
        goto out;
    }
  if (fs_set (fsfd, FSCONFIG_SET_STRING, "upperdir", upper, err) < 0
      || fs_set (fsfd, FSCONFIG_SET_STRING, "workdir", work, err) < 0
      || fs_set (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, err) < 0)
    goto out;
  mfd = (int) syscall (SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    {
      berth_make_error_op (err, errno, "fsmount", "fsmount overlay");
      goto out;
    }
  ret = mfd;
out:
  for (i = 0; i < n; i++)
    if (lfd[i] >= 0)
      close (lfd[i]);
  if (ret < 0)
    berth_error_wrap (err, "mount the idmapped overlay for `%s`", c->root_path);
  return ret;
}

int
berth_idmap_root (const struct berth_config *c, pid_t pid, int *mount_fd, berth_error_t *err)
{
  cleanup_free char *ns = xasprintf ("/proc/%d/ns/user", (int) pid);
  cleanup_close int userns_fd = open (ns, O_RDONLY | O_CLOEXEC);
  int fd;

  if (userns_fd < 0)
    return berth_make_error_op (err, errno, "open", "open %s", ns);
  fd = c->overlay_lower ? idmapped_overlay (c, userns_fd, err) : idmapped_clone (c->root_path, userns_fd, true, err);
  if (fd < 0)
    return -1;
  *mount_fd = fd;
  return 0;
}
