/*
 * Berth runtime: the container's process (runtime-spec config.md "Process"): find the
 * executable, apply the process settings, exec; and the optional tiny init.
 */
#ifndef BERTH_PROCESS_H
#define BERTH_PROCESS_H

#include <sys/types.h>

#include "error.h"
#include "oci-config.h"
#include "seccomp.h"

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

/* Leave out of the ambient set, with a warning on stderr for each, the capabilities that
   are not both permitted and inheritable: the kernel refuses to raise those.  The spec
   asks for a warning and to go on, and crun and runc run such a process (`crun spec` and
   `runc spec` write three of them with an empty inheritable set).  Call in the runtime,
   as for berth_process_clamp_rlimits.  */
void berth_process_drop_unraisable_ambient (struct berth_process *p);

/* Apply umask, rlimits, oom_score_adj, cwd, groups, gid, uid and no_new_privs, in that
   order (cwd before dropping privileges).  */
int berth_process_apply (const struct berth_process *p, berth_error_t *err);

/* execve the resolved program with the process's args and env.  Returns only on failure.  */
int berth_process_exec (const struct berth_process *p, const char *path, berth_error_t *err);

/* The last steps before exec, in the container process and in exec's: close every
   descriptor from 3 up but `keep` (-1: none; it should be close-on-exec), then
   berth_process_apply.  The seccomp filter (NULL: none) is loaded before that while
   no_new_privileges is off, as runc does: the kernel takes a filter from a process without
   no_new_privs only while it holds CAP_SYS_ADMIN, which the process's own capabilities
   usually drop.  With no_new_privileges on, it is loaded after, as late as can be, so that
   it filters the program and not the runtime.  */
int berth_process_prepare_exec (const struct berth_process *p, const struct berth_seccomp *seccomp, int keep,
                                berth_error_t *err);

/* The exit status of a process that failed before its program ran: BERTH_EXIT_NOT_FOUND
   when the program does not exist (ENOENT), BERTH_EXIT_CANNOT_EXEC when it cannot be
   executed (EACCES, ENOEXEC, ...), else 1.  */
int berth_process_failure_status (berth_error_t err);

/* Remember where the runtime's own argv and environment strings are (call first thing in
   main), so that the tiny init can blank them: the container sees PID 1 as `berth-init`
   and nothing of the runtime's command line or environment on the host.  */
void berth_process_save_args (int argc, char **argv, char **envp);

/* The tiny init: fork the program (the child returns 0 from this call and goes on to exec);
   the parent closes `child_only` (the child's own descriptor, or -1), names itself
   `berth-init` (comm and cmdline), stays as PID 1, forwards every signal it can to the
   child, reaps every zombie, and exits with the child's status when it ends.  Never returns
   in the parent.  */
int berth_init_fork (int child_only, berth_error_t *err);

#endif
