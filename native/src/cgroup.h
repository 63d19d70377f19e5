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

/* linux.resources (runtime-spec config-linux.md "Control groups").  A number that was not
   given is BERTH_CGROUP_UNSET; -1 is "unlimited" where the spec allows it.  */
#define BERTH_CGROUP_UNSET INT64_MIN

struct berth_cgroup_device_rule
{
  bool allow;
  char type;           /* 'a' (all), 'c' or 'b' */
  int64_t major;       /* -1: any */
  int64_t minor;       /* -1: any */
  char access[4];      /* a non-empty subset of "rwm", in that order */
};

struct berth_cgroup_resources
{
  int64_t memory_limit;       /* bytes or -1 */
  int64_t memory_reservation; /* bytes or -1 (soft limit; v2 memory.low) */
  int64_t memory_swap;        /* memory + swap, bytes or -1 */
  int64_t memory_swappiness;  /* 0..100 (v1 only) */
  bool disable_oom_killer;    /* v1 only */
  int64_t cpu_shares;         /* 2..262144 (v2: converted to cpu.weight) */
  int64_t cpu_quota;          /* microseconds per period, or -1 */
  int64_t cpu_period;         /* microseconds, 1000..1000000 */
  char *cpus;                 /* cpuset list "0-1,3", or NULL */
  char *mems;
  int64_t pids_limit;         /* > 0, or -1 (0 is taken as -1, as runc does) */
  struct berth_cgroup_device_rule *devices; /* applied in order; the last match wins */
  size_t n_devices;
  bool has_devices;           /* linux.resources.devices was given (even empty) */
  /* Allowed after `devices` whenever those are given, as runc and crun do: the standard
     devices (berth_cgroup_default_devices), then these, one per linux.devices entry.  */
  struct berth_cgroup_device_rule *config_devices;
  size_t n_config_devices;
  char **unified_keys;        /* cgroup v2 files to write as given ("memory.high") */
  char **unified_values;
  size_t n_unified;
};

/* The devices every container may make and use whatever its device rules: mknod of any
   node, /dev/null, zero, full, random, urandom, tty, ptmx and the pts terminals (runc's
   AllowedDevices without the console and tun, which Berth does not make).  */
extern const struct berth_cgroup_device_rule berth_cgroup_default_devices[];
extern const size_t berth_cgroup_n_default_devices;

/* All fields unset.  */
void berth_cgroup_resources_init (struct berth_cgroup_resources *r);
/* Free what r owns (not r).  */
void berth_cgroup_resources_release (struct berth_cgroup_resources *r);

/* Create the cgroup `path` in every hierarchy (v1: each mounted controller, cpuset.cpus/mems
   copied from the parent; v2: the directory, with the parent's controllers enabled as far as
   possible), apply `res` and then move `pid` into it, so the limits hold from the process's
   first instruction.  `res` non-NULL means a new container: its cgroup must hold no process
   yet (EBUSY, naming a pid, otherwise).  NULL (exec) joins the cgroup as it is.  A controller that `res` needs and the host lacks is an
   error that names it.  On failure nothing created is left.  */
int berth_cgroup_enter (const char *path, pid_t pid, const struct berth_cgroup_resources *res,
                        berth_error_t *err);

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
  uint64_t memory_limit; /* v1 memory.limit_in_bytes, v2 memory.max (UINT64_MAX - 1: none) */
  uint64_t cpu_usage_ns; /* v1 cpuacct.usage, v2 cpu.stat usage_usec * 1000 */
  uint64_t pids;         /* pids.current */
  uint64_t pids_limit;   /* pids.max (UINT64_MAX - 1: none) */
  uint64_t oom_kills;    /* v1 memory.oom_control / v2 memory.events "oom_kill" */
};

#define BERTH_CGROUP_STAT_NONE (UINT64_MAX - 1) /* a limit of "max" */

/* Fill *out for the cgroup `path`, each figure from wherever its controller is (a v1
   hierarchy, or cgroup2 where the controller was moved there or the host is pure v2).  A
   missing file gives BERTH_CGROUP_STAT_UNKNOWN in its field (a missing cgroup: all of them),
   not an error; an unreadable or malformed file is.  */
int berth_cgroup_stats (const char *path, struct berth_cgroup_stats *out, berth_error_t *err);

#endif
