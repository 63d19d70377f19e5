/*
 * Berth runtime: linux.resources of config.json, parsed.  See oci-resources.c.
 */
#ifndef BERTH_OCI_RESOURCES_H
#define BERTH_OCI_RESOURCES_H

#include <json-c/json.h>

#include "cgroup.h"
#include "error.h"

/* Parse the linux.resources object into *r (initialised by the caller with
   berth_cgroup_resources_init; on error it may be half filled: release it).  */
int berth_resources_parse (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err);

#endif
