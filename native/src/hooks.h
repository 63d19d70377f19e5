/*
 * Berth runtime: lifecycle hooks (runtime-spec config.md "POSIX-platform Hooks"): each hook
 * runs with the container's state JSON on stdin, its args and env, and its timeout.
 */
#ifndef BERTH_HOOKS_H
#define BERTH_HOOKS_H

#include "error.h"
#include "oci-config.h"

/* Run every hook of `list` in order; the first failure stops and is returned, naming the
   hook kind, its index and path ("hook createRuntime[0] /usr/bin/x: exited with status 1").  */
int berth_hooks_run (const struct berth_hook_list *list, const char *kind, const char *state_json,
                     berth_error_t *err);

/* Run every hook, report a failure as a warning on stderr and go on (poststart, poststop).  */
void berth_hooks_run_warn (const struct berth_hook_list *list, const char *kind, const char *state_json);

#endif
