/*
 * Berth runtime: linux.resources of config.json (runtime-spec config-linux.md, "Control
 * groups") into struct berth_cgroup_resources.  Applying them is cgroup-resources.c.
 *
 * What Berth does not implement (blockIO, hugepageLimits, network, rdma, realtime CPU,
 * kernel memory) is rejected with the field's name when it asks for anything, never
 * ignored: a limit that silently does not hold is worse than an error.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "config-json.h"
#include "oci-resources.h"
#include "utils.h"

#define MAX_BYTES (INT64_MAX / 2)

/* A member that must be absent, null, empty or zero.  */
static int
reject_if_set (json_object *obj, const char *where, const char *key, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);
  cleanup_free char *field = NULL;

  if (v == NULL)
    return 0;
  switch (json_object_get_type (v))
    {
    case json_type_int:
      if (json_object_get_int64 (v) == 0)
        return 0;
      break;
    case json_type_array:
      if (json_object_array_length (v) == 0)
        return 0;
      break;
    case json_type_object:
      if (json_object_object_length (v) == 0)
        return 0;
      break;
    default:
      break;
    }
  field = cfg_field_path (where, key);
  return cfg_error (err, "%s is not supported by berth-runtime; remove it", field);
}

/* An optional integer into *out (left BERTH_CGROUP_UNSET when absent).  */
static int
opt_i64 (json_object *obj, const char *where, const char *key, int64_t min, int64_t max, int64_t *out,
         berth_error_t *err)
{
  bool present;
  int64_t v;

  if (cfg_opt_int (obj, where, key, min, max, &v, &present, err) < 0)
    return -1;
  if (present)
    *out = v;
  return 0;
}

/* A byte count: -1 (unlimited) or 1 and up.  */
static int
opt_bytes (json_object *obj, const char *where, const char *key, int64_t *out, berth_error_t *err)
{
  if (opt_i64 (obj, where, key, -1, MAX_BYTES, out, err) < 0)
    return -1;
  if (*out == 0)
    {
      cleanup_free char *field = cfg_field_path (where, key);
      return cfg_error (err, "%s must be -1 (no limit) or a number of bytes, not 0", field);
    }
  return 0;
}

static int
parse_memory (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err)
{
  static const char where[] = "linux.resources.memory";
  json_object *m = cfg_member (res, "memory");

  if (m == NULL)
    return 0;
  if (cfg_require_object (m, where, err) < 0 || opt_bytes (m, where, "limit", &r->memory_limit, err) < 0
      || opt_bytes (m, where, "reservation", &r->memory_reservation, err) < 0
      || opt_bytes (m, where, "swap", &r->memory_swap, err) < 0
      || opt_i64 (m, where, "swappiness", 0, 100, &r->memory_swappiness, err) < 0
      || cfg_opt_bool (m, where, "disableOOMKiller", &r->disable_oom_killer, err) < 0
      || reject_if_set (m, where, "kernel", err) < 0 || reject_if_set (m, where, "kernelTCP", err) < 0)
    return -1;
  if (r->memory_swap > 0)
    {
      if (r->memory_limit == BERTH_CGROUP_UNSET || r->memory_limit < 0)
        return cfg_error (err, "%s.swap (memory plus swap) needs %s.limit", where, where);
      if (r->memory_swap < r->memory_limit)
        return cfg_error (err, "%s.swap %" PRId64 " is less than %s.limit %" PRId64 ": swap counts memory plus swap",
                          where, r->memory_swap, where, r->memory_limit);
    }
  return 0;
}

/* "0-3,5": numbers and ranges, comma separated.  */
static int
opt_cpu_list (json_object *obj, const char *where, const char *key, char **out, berth_error_t *err)
{
  cleanup_free char *field = NULL;
  const char *p;

  if (cfg_opt_string (obj, where, key, out, err) < 0)
    return -1;
  if (*out == NULL)
    return 0;
  for (p = *out; *p; p++)
    if (! isdigit ((unsigned char) *p) && *p != ',' && *p != '-')
      break;
  if (**out != '\0' && *p == '\0' && isdigit ((unsigned char) (*out)[0])
      && isdigit ((unsigned char) (*out)[strlen (*out) - 1]))
    return 0;
  field = cfg_field_path (where, key);
  return cfg_error (err, "%s \"%s\" must be a list such as \"0-3,5\"", field, *out);
}

static int
parse_cpu (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err)
{
  static const char where[] = "linux.resources.cpu";
  json_object *c = cfg_member (res, "cpu");

  if (c == NULL)
    return 0;
  if (cfg_require_object (c, where, err) < 0 || opt_i64 (c, where, "shares", 2, 262144, &r->cpu_shares, err) < 0
      || opt_i64 (c, where, "quota", -1, INT64_MAX / 2, &r->cpu_quota, err) < 0
      || opt_i64 (c, where, "period", 1000, 1000000, &r->cpu_period, err) < 0
      || opt_cpu_list (c, where, "cpus", &r->cpus, err) < 0 || opt_cpu_list (c, where, "mems", &r->mems, err) < 0
      || reject_if_set (c, where, "realtimeRuntime", err) < 0 || reject_if_set (c, where, "realtimePeriod", err) < 0
      || reject_if_set (c, where, "burst", err) < 0 || reject_if_set (c, where, "idle", err) < 0)
    return -1;
  if (r->cpu_quota >= 0 && r->cpu_quota != BERTH_CGROUP_UNSET && r->cpu_quota < 1000)
    return cfg_error (err, "%s.quota must be -1 (no limit) or at least 1000 microseconds", where);
  return 0;
}

static int
parse_pids (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err)
{
  json_object *p = cfg_member (res, "pids");

  if (p == NULL)
    return 0;
  if (cfg_require_object (p, "linux.resources.pids", err) < 0
      || cfg_req_int (p, "linux.resources.pids", "limit", -1, INT64_MAX / 2, &r->pids_limit, err) < 0)
    return -1;
  return 0;
}

static int
parse_device_rule (json_object *v, const char *where, struct berth_cgroup_device_rule *d, berth_error_t *err)
{
  cleanup_free char *type = NULL;
  cleanup_free char *access = NULL;
  bool allow = false, present;
  json_object *a;
  const char *p;

  if (cfg_require_object (v, where, err) < 0)
    return -1;
  a = cfg_member (v, "allow");
  if (a == NULL)
    return cfg_error (err, "%s.allow is required", where);
  if (cfg_opt_bool (v, where, "allow", &allow, err) < 0 || cfg_opt_string (v, where, "type", &type, err) < 0
      || cfg_opt_string (v, where, "access", &access, err) < 0)
    return -1;
  d->allow = allow;
  d->type = type ? type[0] : 'a';
  if (type && (strlen (type) != 1 || strchr ("acb", type[0]) == NULL))
    return cfg_error (err, "%s.type \"%s\" must be one of a, c, b", where, type);
  d->major = d->minor = -1;
  if (cfg_opt_int (v, where, "major", -1, 4095, &d->major, &present, err) < 0
      || cfg_opt_int (v, where, "minor", -1, 1048575, &d->minor, &present, err) < 0)
    return -1;
  if (access == NULL)
    strcpy (d->access, "rwm");
  else
    {
      size_t k = 0;
      /* A non-empty subset of rwm; written in that order.  */
      for (p = access; *p; p++)
        if (strchr ("rwm", *p) == NULL || strchr (p + 1, *p) != NULL)
          return cfg_error (err, "%s.access \"%s\" must be made of r, w and m, each at most once", where, access);
      if (*access == '\0')
        return cfg_error (err, "%s.access must not be empty (use some of \"rwm\")", where);
      if (strchr (access, 'r'))
        d->access[k++] = 'r';
      if (strchr (access, 'w'))
        d->access[k++] = 'w';
      if (strchr (access, 'm'))
        d->access[k++] = 'm';
      d->access[k] = '\0';
    }
  return 0;
}

static int
parse_device_rules (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err)
{
  json_object *arr = cfg_member (res, "devices");
  size_t i, n;

  if (arr == NULL)
    return 0;
  if (cfg_require_array (arr, "linux.resources.devices", err) < 0)
    return -1;
  r->has_devices = true;
  n = json_object_array_length (arr);
  r->devices = xmalloc0 ((n ? n : 1) * sizeof (*r->devices));
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = cfg_element_path ("linux.resources.devices", i);

      r->n_devices = i + 1;
      if (parse_device_rule (json_object_array_get_idx (arr, i), w, &r->devices[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
parse_unified (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err)
{
  json_object *u = cfg_member (res, "unified");
  size_t i;

  if (u == NULL)
    return 0;
  if (cfg_get_string_map (u, "linux.resources.unified", &r->unified_keys, &r->unified_values, &r->n_unified, err)
      < 0)
    return -1;
  for (i = 0; i < r->n_unified; i++)
    {
      const char *k = r->unified_keys[i];
      /* A file of the container's own cgroup, never a path out of it or the cgroup.* core files.  */
      if (strchr (k, '/') || k[0] == '.' || strncmp (k, "cgroup.", 7) == 0 || strchr (k, '.') == NULL)
        return cfg_error (err, "linux.resources.unified[\"%s\"] must name a controller file such as memory.high", k);
    }
  return 0;
}

int
berth_resources_parse (json_object *res, struct berth_cgroup_resources *r, berth_error_t *err)
{
  static const char where[] = "linux.resources";

  if (cfg_require_object (res, where, err) < 0)
    return -1;
  if (parse_memory (res, r, err) < 0 || parse_cpu (res, r, err) < 0 || parse_pids (res, r, err) < 0
      || parse_device_rules (res, r, err) < 0 || parse_unified (res, r, err) < 0
      || reject_if_set (res, where, "blockIO", err) < 0 || reject_if_set (res, where, "hugepageLimits", err) < 0
      || reject_if_set (res, where, "network", err) < 0 || reject_if_set (res, where, "rdma", err) < 0)
    return -1;
  return 0;
}
