/*
 * Berth runtime: what cgroup.c (the front) shares with its backends cgroup-v1.c and
 * cgroup-v2.c.  Not for use outside the cgroup files (and their tests).
 */
#ifndef BERTH_CGROUP_INTERNAL_H
#define BERTH_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cgroup.h"
#include "error.h"

/* One mounted cgroup hierarchy, as /proc/self/mountinfo shows it.  */
struct berth_cgroup_hierarchy
{
  char *mount_point;   /* where it is mounted, e.g. "/sys/fs/cgroup/cpu,cpuacct" */
  char *name;          /* last component of mount_point: "cpu,cpuacct", "systemd", "unified" */
  char *controllers;   /* v1 controllers, comma separated, mountinfo order ("" for none and v2) */
  char *named;         /* v1 "name=" value ("systemd"), or NULL */
  char *mount_data;    /* data for mount(2) of a v1 hierarchy: "memory", "cpu,cpuacct",
                          "none,name=systemd"; NULL for cgroup2 */
  char *proc_key;      /* its 2nd field in /proc/PID/cgroup: "cpu,cpuacct", "name=systemd", "" */
  bool v2;             /* cgroup2 (the unified hierarchy) */
  bool noprefix;       /* v1 mounted with "noprefix": cpuset files have no "cpuset." */
  bool whole;          /* the mount shows the hierarchy's root (mountinfo root "/") */
  unsigned long dev;   /* makedev(major, minor): one superblock, one hierarchy */
};

struct berth_cgroup_hierarchies
{
  struct berth_cgroup_hierarchy *items;
  size_t n;
};

void berth_cgroup_hierarchies_free (struct berth_cgroup_hierarchies *hs);

static inline void
berth_cgroup_hierarchies_freep (struct berth_cgroup_hierarchies *hs)
{
  berth_cgroup_hierarchies_free (hs);
}
#define cleanup_hierarchies __attribute__ ((cleanup (berth_cgroup_hierarchies_freep)))

/* Parse the text of a mountinfo file: every "cgroup" and "cgroup2" mount in sight, one
   entry per hierarchy (a hierarchy mounted twice is listed once, preferring a mount of its
   root "/"), in mountinfo order.  A mount with another mounted over it at the same place,
   or under such a mount, is out of sight and left out.  *hs must be zeroed; free it with berth_cgroup_hierarchies_free.  */
int berth_cgroup_parse_mountinfo (const char *text, struct berth_cgroup_hierarchies *hs,
                                  berth_error_t *err);

/* Read /proc/self/mountinfo and parse it.  */
int berth_cgroup_read_hierarchies (struct berth_cgroup_hierarchies *hs, berth_error_t *err);

/* Whether a v1 hierarchy has the controller `name` ("memory", "cpuset").  */
bool berth_cgroup_hierarchy_has (const struct berth_cgroup_hierarchy *h, const char *name);

/* The first hierarchy with controller `name`, or NULL.  */
const struct berth_cgroup_hierarchy *
berth_cgroup_hierarchies_find (const struct berth_cgroup_hierarchies *hs, const char *name);

/* ---- small file helpers shared by the backends; errors name the call and the file.  */

/* open(O_WRONLY) + one write(2) of data: "open FILE" / "write FILE".  */
int berth_cgroup_write_file (const char *file, const char *data, berth_error_t *err);

/* The PIDs listed in a cgroup.procs file; a missing file gives 0 entries.  *pids is always
   allocated.  */
int berth_cgroup_read_procs (const char *file, pid_t **pids, size_t *n, berth_error_t *err);

/* The first unsigned number in file (or, with key, on the line "key N"), or
   BERTH_CGROUP_STAT_UNKNOWN when the file (or the key) is missing.  */
int berth_cgroup_read_u64 (const char *file, const char *key, uint64_t *value, berth_error_t *err);

/* A monotonic time `ms` milliseconds from now, for berth_cgroup_rmdir.  */
struct timespec berth_cgroup_deadline (long ms);

/* rmdir(dir), retrying EBUSY with short sleeps until deadline; ENOENT is success.  */
int berth_cgroup_rmdir (const char *dir, const struct timespec *deadline, berth_error_t *err);

/* The directories one call of a backend created, in creation order, for rollback.  */
struct berth_cgroup_created
{
  char **dirs;
  size_t n;
};

/* mkdir(dir, 0755): 0 and *created = true when made, 0 and *created = false when it was
   already a directory, or an error "mkdir DIR".  A new directory is recorded in c.  */
int berth_cgroup_mkdir (const char *dir, struct berth_cgroup_created *c, bool *created,
                        berth_error_t *err);

/* Remove the recorded directories, newest first (best effort, EBUSY retried briefly), and
   free the record.  */
void berth_cgroup_rollback (struct berth_cgroup_created *c);

/* Free the record and keep the directories.  */
void berth_cgroup_created_free (struct berth_cgroup_created *c);

/* ---- backends.  `path` is validated (absolute, no "." / ".." components).  */

/* enter = create (every level of path in every hierarchy, recorded in *created for a
   rollback), then the resources, then attach (pid into cgroup.procs everywhere; on failure
   the pid is put back where it was).  */
int berth_cgroup_v1_create (const struct berth_cgroup_hierarchies *hs, const char *path,
                            struct berth_cgroup_created *created, berth_error_t *err);
int berth_cgroup_v1_attach (const struct berth_cgroup_hierarchies *hs, const char *path, pid_t pid,
                            berth_error_t *err);
int berth_cgroup_v1_pids (const struct berth_cgroup_hierarchies *hs, const char *path, pid_t **pids,
                          size_t *n, berth_error_t *err);
int berth_cgroup_v1_destroy (const struct berth_cgroup_hierarchies *hs, const char *path,
                             berth_error_t *err);
int berth_cgroup_v1_mount (const struct berth_cgroup_hierarchies *hs, const char *dest,
                           unsigned long flags, berth_error_t *err);

/* `root` is where the unified hierarchy is mounted ("/sys/fs/cgroup").  */
int berth_cgroup_v2_create (const char *root, const char *path, struct berth_cgroup_created *created,
                            berth_error_t *err);
int berth_cgroup_v2_attach (const char *root, const char *path, pid_t pid, berth_error_t *err);
/* Enable in dir/cgroup.subtree_control every controller of dir/cgroup.controllers that can
   be (EBUSY, ENOTSUP skipped).  */
int berth_cgroup_v2_enable_controllers (const char *dir, berth_error_t *err);
int berth_cgroup_v2_pids (const char *root, const char *path, pid_t **pids, size_t *n,
                          berth_error_t *err);
int berth_cgroup_v2_destroy (const char *root, const char *path, berth_error_t *err);
int berth_cgroup_v2_mount (const char *dest, unsigned long flags, berth_error_t *err);

/* ---- resources and usage, for either mode (cgroup-resources.c).  A controller is used
   where it is: a v1 hierarchy that has it, else a cgroup2 hierarchy (pure v2, or the
   unified one of a hybrid host) that lists it in its root cgroup.controllers.  `hs` is the
   host's hierarchies on v1 and hybrid hosts; on pure v2 it holds the one cgroup2 root.  */

int berth_cgroup_resources_apply (const struct berth_cgroup_hierarchies *hs, const char *path,
                                  const struct berth_cgroup_resources *r, berth_error_t *err);
int berth_cgroup_read_stats (const struct berth_cgroup_hierarchies *hs, const char *path,
                             struct berth_cgroup_stats *out, berth_error_t *err);

/* ---- the device controller on cgroup2: an eBPF program (cgroup-bpf.c).  */

/* Build the BPF_PROG_TYPE_CGROUP_DEVICE program for rules (the last match wins; no match:
   allowed, as a new v1 cgroup starts from its parent's allow-all) into *insns (allocated,
   *n instructions).  Pure: for tests.  */
int berth_cgroup_bpf_build (const struct berth_cgroup_device_rule *rules, size_t n_rules, void **insns,
                            size_t *n, berth_error_t *err);

/* Load the program for rules and attach it (BPF_F_ALLOW_MULTI) to the cgroup2 directory dir.
   It stays attached until the cgroup is removed.  */
int berth_cgroup_bpf_attach (const char *dir, const struct berth_cgroup_device_rule *rules,
                             size_t n_rules, berth_error_t *err);

/* ---- mount helpers shared by the backends.  */

/* mount(2) a new filesystem at target with flags minus MS_RDONLY and the propagation/bind
   bits, then, when flags has MS_RDONLY, remount it read-only (this mount only):
   "mount TYPE on TARGET".  */
int berth_cgroup_mount_fs (const char *source, const char *target, const char *type,
                           unsigned long flags, const char *data, berth_error_t *err);

/* Remount the mount at target read-only (MS_REMOUNT | MS_BIND | MS_RDONLY), keeping the
   nosuid/nodev/noexec/atime bits of flags.  */
int berth_cgroup_remount_ro (const char *target, unsigned long flags, berth_error_t *err);

/* Apply the propagation bits of flags (MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE,
   with MS_REC) to target, if any.  */
int berth_cgroup_mount_propagation (const char *target, unsigned long flags, berth_error_t *err);

#endif
