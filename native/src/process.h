/*
 * Berth runtime: the container's process (runtime-spec config.md "Process"): find the
 * executable, apply the process settings, exec; and the optional tiny init.
 */
#ifndef BERTH_PROCESS_H
#define BERTH_PROCESS_H

#include <sys/types.h>

#include "error.h"
#include "oci-config.h"

/* Exit statuses when the program cannot run, as shells and Docker use them.  */
#define BERTH_EXIT_NOT_FOUND 127
#define BERTH_EXIT_CANNOT_EXEC 126

/* Resolve args[0] in the current root: a name with '/' as is, else along PATH from the
   process's env (or a default PATH).  Not found → error "exec <name>: No such file or
   directory" with status ENOENT; not executable → EACCES.  */
int berth_process_find (const struct berth_process *p, char **path, berth_error_t *err);

/* Set HOME, when the env has none, from the container's /etc/passwd for the user (or
   "/"), as runc and crun do.  Call in the container's root.  */
void berth_process_default_home (struct berth_process *p);

/* Lower each rlimit whose hard limit the host cannot grant (no CAP_SYS_RESOURCE) to the
   current hard limit, with a warning on stderr.  Call in the runtime before the container
   process is created: the warning reaches the caller.  */
void berth_process_clamp_rlimits (struct berth_process *p);

/* Apply umask, rlimits, oom_score_adj, cwd, groups, gid, uid and no_new_privs, in that
   order (cwd before dropping privileges).  */
int berth_process_apply (const struct berth_process *p, berth_error_t *err);

/* execve the resolved program with the process's args and env.  Returns only on failure.  */
int berth_process_exec (const struct berth_process *p, const char *path, berth_error_t *err);

/* The tiny init: fork the program (the child returns 0 from this call and goes on to exec);
   the parent stays as PID 1, forwards every signal it can to the child, reaps every zombie,
   and exits with the child's status when it ends.  Never returns in the parent.  */
int berth_init_fork (berth_error_t *err);

#endif
