/*
 * Berth runtime: creating the container process.  The caller (the monitor, or `run` in
 * the foreground) clones a child into new namespaces; the two talk over a socket:
 *
 *   caller                                  container process
 *   clone(CLONE_NEW*) ──────────────────▶   waits for GO
 *   enter cgroup, createRuntime hooks
 *   GO ──────────────────────────────────▶  join namespaces by path, unshare cgroupns,
 *                                           hostname, lo up, rootfs (createContainer hooks
 *                                           before pivot_root), find the executable
 *   READY or ERROR  ◀───────────────────
 *                                           [create: block on exec.fifo until start]
 *                                           startContainer hooks, stdio, init, process
 *                                           settings, close every other fd, execve
 */
#ifndef BERTH_SPAWN_H
#define BERTH_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "oci-config.h"

struct berth_spawn
{
  const char *id;
  const char *bundle;
  const char *state_dir;
  const char *cgroup; /* cgroup path for berth_cgroup_enter */
  struct berth_config *config;
  bool wait_fifo;   /* create: block on <state_dir>/exec.fifo after setup */
  int stdio[3];     /* the container's stdin/stdout/stderr, or -1 to keep ours (not with terminal) */
  bool stdio_at_clone; /* stdio[] replaces ours at once, not at start (pass-through with a terminal) */
};

/* Create the container process and wait until it is ready (or failed).  On failure the
   process is killed and its cgroup removed.  Signals the caller supervises should be
   blocked (berth_loop_block) before this call; the child restores `sigmask`.  With
   process.terminal, *master receives the master side of the container's terminal (else -1).  */
int berth_spawn (const struct berth_spawn *s, const sigset_t *sigmask, pid_t *pid, int *master, berth_error_t *err);

/* The state JSON hooks get on stdin: {ociVersion, id, status, pid, bundle, annotations}.  */
char *berth_spawn_hook_state (const struct berth_spawn *s, const char *status, pid_t pid);

#endif
