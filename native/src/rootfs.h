/*
 * Berth runtime: the container's root filesystem, set up inside the container's new
 * mount namespace by the container process before it executes the user program.
 */
#ifndef BERTH_ROOTFS_H
#define BERTH_ROOTFS_H

#include "error.h"
#include "oci-config.h"

struct berth_rootfs_options
{
  /* Slave end of the container's pseudo-terminal, or -1: bind-mounted on /dev/console.  */
  int console_fd;
  /* Called after the mounts are in place and before pivot_root (createContainer hooks
     run here, with the host's files still visible), or NULL.  Returns < 0 with *err set
     to abort.  */
  int (*before_pivot) (void *arg, berth_error_t *err);
  void *before_pivot_arg;
  /* Called once before the first cgroup mount (or, without one, before before_pivot), or
     NULL: the caller unshares the cgroup namespace there, once the process is in its
     cgroup, so the mount shows the container's own cgroup as its root.  Everything before
     it runs while the caller is still creating the cgroup.  */
  int (*before_cgroup) (void *arg, berth_error_t *err);
  /* A detached mount (berth_idmap_root) to attach on root.path instead of mounting the
     root here (user namespaces), or -1.  */
  int root_mount_fd;
};

/*
 * In the calling process, which must already be in its own mount namespace:
 *  1. make "/" rslave/rprivate per linux.rootfsPropagation (default MS_REC|MS_PRIVATE);
 *  2. mount the root: overlayfs of c->overlay_lower + <overlay_writable>/{upper,work} (created
 *     here) on c->root_path when layered, else bind c->root_path onto itself;
 *  3. every entry of c->mounts, in order: destinations resolved inside the root without
 *     following symlinks out of it (openat2 RESOLVE_IN_ROOT), created when missing (a
 *     directory, or an empty file for a file bind); bind/rbind, tmpfs, proc, sysfs, devpts,
 *     mqueue, cgroup (v1 and v2); flags, data and propagation from the options; ro bind
 *     mounts remounted read-only;
 *  4. when /dev is a fresh tmpfs: the standard devices (null zero full random urandom tty),
 *     /dev/fd, /dev/std{in,out,err}, /dev/ptmx -> pts/ptmx, /dev/shm if missing; /dev/console
 *     from options->console_fd;
 *  4b. linux.devices: mknod each (c/u -> S_IFCHR, b -> S_IFBLK, p -> S_IFIFO) inside the
 *     root, missing parents created, then chmod fileMode (default 0666) and chown uid:gid
 *     (default 0:0); an existing node of the same type and numbers is kept, anything else
 *     there is EEXIST; no CAP_MKNOD (user namespaces) is a clear EPERM error;
 *  5. options->before_pivot;
 *  6. pivot_root into the root and detach the old root;
 *  7. root.readonly: remount "/" read-only; linux.sysctl written under /proc/sys.
 *  8. linux.readonlyPaths (after the sysctls, as they usually include /proc/sys): each
 *     bind-mounted on itself (MS_REC) and remounted read-only with the flags it had;
 *  9. linux.maskedPaths: a directory gets an empty read-only tmpfs, anything else the
 *     container's /dev/null bind-mounted on it (no /dev/null there is an error).
 *     In 8-9 paths are resolved inside the container's root and a missing one is skipped.
 * On failure, *err names the call and its object ("mount overlay on /x/rootfs: Invalid
 * argument").  Nothing needs undoing by the caller: the mount namespace dies with it.
 * Paths in messages: host paths (root_path, layers, writable, bind sources) as the host
 * sees them; paths inside the container as the container sees them, with the root named
 * once in front for steps 3-4: "rootfs `/b/rootfs`: mount proc on `/proc`: Operation not
 * permitted".  /dev/console (step 4) is made whenever console_fd >= 0, tmpfs /dev or not.
 */
int berth_rootfs_setup (const struct berth_config *c, const struct berth_rootfs_options *options,
                        berth_error_t *err);

/* Remove <writable> (upper/ and work/ and the directory itself) after the container is
   gone.  A missing directory is success.  */
int berth_rootfs_remove_writable (const char *writable, berth_error_t *err);

#endif
