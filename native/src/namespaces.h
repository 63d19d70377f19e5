/*
 * Berth runtime: namespaces (runtime-spec config-linux.md "Namespaces").
 */
#ifndef BERTH_NAMESPACES_H
#define BERTH_NAMESPACES_H

#include "error.h"
#include "oci-config.h"

/* CLONE_NEW* flags for the namespaces the container gets new at clone time.  The cgroup
   namespace is left out: it is unshared after the process has entered its cgroup, so that
   the cgroup is the namespace's root.  */
int berth_ns_clone_flags (const struct berth_config *c);

/* Join the namespaces given by path, of the types in `types` (CLONE_NEW* mask).  */
int berth_ns_join_paths (const struct berth_config *c, int types, berth_error_t *err);

/* In the new namespaces: set hostname and domainname, bring up lo in a new network
   namespace.  */
int berth_ns_setup (const struct berth_config *c, berth_error_t *err);

/* Unshare the cgroup namespace when the config asks for a new one: call once the process
   is in its cgroup.  */
int berth_ns_unshare_cgroup (const struct berth_config *c, berth_error_t *err);

/* Join the namespaces of a running process (exec): every namespace of `pid` that differs
   from ours, the mount namespace last.  The pid namespace applies to our children.  */
int berth_ns_join_process (pid_t pid, berth_error_t *err);

#endif
