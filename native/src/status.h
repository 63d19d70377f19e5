/*
 * Berth runtime: the per-container state directory, <root>/<id>/:
 *
 *   state.json   what create recorded (pid and its start time, bundle, rootfs, cgroup,
 *                monitor, annotations, created); written atomically once the container
 *                process is ready
 *   config.json  the bundle's config at create time (delete runs its poststop hooks)
 *   exec.fifo    present between create and start (runc's rendezvous)
 *   exit.json    {"exitCode":N,"finishedAt":"...","oomKilled":B}, written by the monitor
 *   container.log  the container's output (detached containers)
 *
 * The status is derived, never stored: no state.json yet → creating; the process alive
 * (same pid, same start time) → created while exec.fifo exists, else running; otherwise
 * stopped.
 */
#ifndef BERTH_STATUS_H
#define BERTH_STATUS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum berth_status
{
  BERTH_STATUS_CREATING,
  BERTH_STATUS_CREATED,
  BERTH_STATUS_RUNNING,
  BERTH_STATUS_STOPPED,
};

struct berth_state
{
  char *id;
  char *dir; /* <root>/<id> */
  char *bundle;
  char *rootfs;
  pid_t pid;
  unsigned long long pid_start;
  pid_t monitor_pid;
  char *cgroup;
  char *created;  /* RFC 3339 */
  char *writable; /* berth.rootfs.writable, or NULL */
  bool detached;  /* a monitor owns the container (create / run -d) */
  bool passthrough; /* no monitor: the caller's stdio, the caller's child (docs/runtime.md) */
  char **annotation_keys;
  char **annotation_values;
  size_t n_annotations;
  /* Derived by berth_state_load: */
  enum berth_status status;
  bool has_exit;
  int exit_code;
  char *finished; /* RFC 3339, or NULL */
  bool oom_killed; /* the kernel's OOM killer killed a process of the container (memory limit) */
};

const char *berth_status_name (enum berth_status s);

char *berth_state_dir (const char *root, const char *id);

/* Create <root> (0700) and <root>/<id>; EEXIST → "container `id` already exists".  */
int berth_state_dir_create (const char *root, const char *id, char **dir, berth_error_t *err);

/* Write state.json from s (all but the derived fields).  */
int berth_state_save (const struct berth_state *s, berth_error_t *err);

/* Load <root>/<id>: a missing directory → "container `id` does not exist" (ENOENT).  */
int berth_state_load (const char *root, const char *id, struct berth_state **out, berth_error_t *err);

/* Record the exit status (monitor, foreground run), and whether the OOM killer struck.  */
int berth_state_write_exit (const char *dir, int wait_status, bool oom_killed, berth_error_t *err);

/* Exit code as a shell reports it: the status, or 128 + signal.  */
int berth_exit_code (int wait_status);

/* The OCI state JSON (plus "created", and "exitCode"/"finishedAt"/"oomKilled" once
   stopped), allocated.  */
char *berth_state_to_json (const struct berth_state *s, bool pretty);

void berth_state_free (struct berth_state *s);

static inline void
cleanup_statep (struct berth_state **s)
{
  berth_state_free (*s);
}
#define cleanup_state __attribute__ ((cleanup (cleanup_statep)))

#endif
