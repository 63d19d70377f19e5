/*
 * Berth runtime: process capabilities (runtime-spec config.md "capabilities").
 */
#ifndef BERTH_CAPS_H
#define BERTH_CAPS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* One bit per capability number (CAP_CHOWN = bit 0 ...).  */
struct berth_caps
{
  uint64_t bounding;
  uint64_t effective;
  uint64_t permitted;
  uint64_t inheritable;
  uint64_t ambient;
};

/* Parse a process.capabilities object ({"bounding": ["CAP_CHOWN", ...], ...}); a missing set
   is empty.  `where` names the field in messages ("process.capabilities").  An unknown
   name, a non-array or a non-string is an error naming the field and the value; a name the
   running kernel does not know (above CAP_LAST_CAP) is an error too.  */
int berth_caps_parse (json_object *obj, const char *where, struct berth_caps *out, berth_error_t *err);

/* Whether the calling process has capability number cap in its effective set (false when
   capget fails).  */
bool berth_caps_effective_has (int cap);

/* The "CAP_*" name of capability number cap, or NULL when it has none.  */
const char *berth_caps_name (int cap);

/* The number of a "CAP_*" name, or -1 when it is not a capability.  */
int berth_caps_from_name (const char *name);

/* Docker's default capability set, as "CAP_*" names, NULL-terminated.  */
extern const char *const berth_caps_docker_default[];

/* In the container process, before changing uid: drop from the bounding set every
   capability not in c->bounding, and ask the kernel to keep the permitted set across the
   uid change (PR_SET_KEEPCAPS).  */
int berth_caps_apply_bounding (const struct berth_caps *c, berth_error_t *err);

/* After the uid change: set effective, permitted and inheritable (capset), then raise the
   ambient set.  */
int berth_caps_apply (const struct berth_caps *c, berth_error_t *err);

#endif
