/*
 * Berth runtime: one cgroup per container, on cgroup v1 (each mounted controller
 * hierarchy, plus the named/empty unified one on hybrid hosts) and v2.
 */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum berth_cgroup_mode
{
  BERTH_CGROUP_V1 = 1,     /* controllers on v1 hierarchies (hybrid: plus an empty cgroup2 at unified/) */
  BERTH_CGROUP_V2 = 2,     /* pure cgroup2 at /sys/fs/cgroup */
};

/* How this host mounts cgroups (cached).  */
int berth_cgroup_mode (enum berth_cgroup_mode *mode, berth_error_t *err);

/* Check a cgroup path before it is used: it must be absolute, name at least one cgroup
   below the root and have no "." or ".." component (so it cannot leave the hierarchy).
   The error (status 0, op "validate_cgroup_path") names the offending component.
   berth_cgroup_enter/pids/destroy/stats call it themselves; callers should call it on
   berth_cgroup_path_for's result to report a bad cgroupsPath early.  */
int berth_cgroup_validate_path (const char *path, berth_error_t *err);

/*
 * The cgroup path for a container: cgroups_path from config.json when given (absolute:
 * from each hierarchy's root; relative: under the default parent), else
 * "/berth/<id>".  Returns an allocated string.  cgroups_path "" counts as not given.
 * Infallible: the result is not validated; see berth_cgroup_validate_path.
 */
char *berth_cgroup_path_for (const char *cgroups_path, const char *id);

/* Create the cgroup `path` in every hierarchy (v1: each mounted controller, cpuset.cpus/mems
   copied from the parent; v2: the directory, with the parent's controllers enabled as far as
   possible) and move `pid` into it.  On failure nothing created is left.  */
int berth_cgroup_enter (const char *path, pid_t pid, berth_error_t *err);

/* PIDs in the cgroup (allocated array, *n entries; a missing cgroup gives 0 entries).  */
int berth_cgroup_pids (const char *path, pid_t **pids, size_t *n, berth_error_t *err);

/* Remove the cgroup from every hierarchy: kill nothing; retries briefly on EBUSY while the
   last processes exit.  A cgroup that does not exist is success.  Berth's own parent
   ("/berth") is removed too once empty; other parents are left in place.  */
int berth_cgroup_destroy (const char *path, berth_error_t *err);

/* Mount the cgroup filesystem for the container at `dest` (an absolute path in the current
   mount namespace): cgroup2 on v2; a tmpfs with one cgroup mount per v1 hierarchy (and
   unified/ on hybrid hosts) on v1.  `flags` are MS_* (MS_RDONLY for ro).  */
int berth_cgroup_mount (const char *dest, unsigned long flags, berth_error_t *err);

/* Usage of one cgroup.  A field whose file is missing (controller not mounted or not
   enabled, or the cgroup does not exist) is BERTH_CGROUP_STAT_UNKNOWN.  */
#define BERTH_CGROUP_STAT_UNKNOWN UINT64_MAX

struct berth_cgroup_stats
{
  uint64_t memory_bytes; /* v1 memory.usage_in_bytes, v2 memory.current */
  uint64_t cpu_usage_ns; /* v1 cpuacct.usage, v2 cpu.stat usage_usec * 1000 */
  uint64_t pids;         /* pids.current */
};

/* Fill *out for the cgroup `path`.  A missing file gives BERTH_CGROUP_STAT_UNKNOWN in its
   field (a missing cgroup: all three), not an error; an unreadable or malformed file is.  */
int berth_cgroup_stats (const char *path, struct berth_cgroup_stats *out, berth_error_t *err);

#endif
