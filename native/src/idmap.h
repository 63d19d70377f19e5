/*
 * Berth runtime: user namespaces (runtime-spec config-linux.md "User namespace mappings")
 * and the idmapped mounts that let the image's layers be shared unchanged by containers
 * whose root is an unprivileged host uid.
 */
#ifndef BERTH_IDMAP_H
#define BERTH_IDMAP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct berth_id_mapping
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct berth_id_map
{
  struct berth_id_mapping *items;
  size_t n;
};

struct berth_config;

/* linux.uidMappings or linux.gidMappings (key) of the linux object into *out: at most
   340 entries (the kernel's limit), sizes > 0, no overlap on either side, no wrap.  */
int berth_idmap_parse (json_object *linux_, const char *key, struct berth_id_map *out, berth_error_t *err);

void berth_idmap_release (struct berth_id_map *m);

/* The host id of container id `id`, or -1 when the map does not cover it.  */
int64_t berth_idmap_to_host (const struct berth_id_map *m, uint32_t id);

/* Write /proc/PID/uid_map and gid_map (as the privileged parent).  */
int berth_idmap_write (pid_t pid, const struct berth_config *c, berth_error_t *err);

/*
 * The container's root as a detached mount (an fd for move_mount), its owners shown
 * through pid's user namespace: layered: overlayfs built with fsopen/fsconfig from an
 * idmapped clone of each lower layer (the layers keep the image's ids on disk) and the
 * writable directory's upper/ and work/ (made here; upper/ holds host ids, its top owned by
 * the namespace's root); plain: an idmapped recursive clone of root.path.  Called by the parent (host root) once the maps are written.
 */
int berth_idmap_root (const struct berth_config *c, pid_t pid, int *mount_fd, berth_error_t *err);

#endif
