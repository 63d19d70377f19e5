/*
 * Berth runtime: linux.seccomp (runtime-spec config-linux.md "Seccomp"), built and loaded
 * with libseccomp.
 */
#ifndef BERTH_SECCOMP_H
#define BERTH_SECCOMP_H

#include <json-c/json.h>

#include "error.h"

struct berth_seccomp;

/* Parse a linux.seccomp object: defaultAction, defaultErrnoRet, architectures, flags and
   syscalls (names, action, errnoRet, args with index/value/valueTwo/op).  Unknown actions,
   architectures, operators or flags are errors naming the field; a syscall name libseccomp
   does not know for any of the architectures is skipped, as runc and crun do (profiles
   list syscalls of every architecture).  */
int berth_seccomp_parse (json_object *obj, const char *where, struct berth_seccomp **out, berth_error_t *err);

/* Compile the filter to BPF now, in the runtime (libseccomp needs ~30 ms for Docker's
   profile), reusing <cache_dir>/<hash>.bpf when an earlier container compiled the same
   profile; berth_seccomp_load then only hands the program to the kernel.  */
int berth_seccomp_compile (struct berth_seccomp *s, const char *cache_dir, berth_error_t *err);

/* Build the filter and load it into the calling process: the last step before execve, after
   no_new_privs (or with CAP_SYS_ADMIN).  */
int berth_seccomp_load (const struct berth_seccomp *s, berth_error_t *err);

void berth_seccomp_free (struct berth_seccomp *s);

/* Docker's default profile (moby's profiles/seccomp/default.json for the default capability
   set, x86_64, x86 and x32, aarch64 and arm) as a linux.seccomp object; caller puts it.  */
json_object *berth_seccomp_docker_default (void);

#endif
