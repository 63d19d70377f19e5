/*
 * Berth runtime: linux.resources written to a container's cgroup, and its usage read back,
 * on cgroup v1, v2 and hybrid hosts alike.
 *
 * Each controller is used where the host has it: a v1 hierarchy that carries it, else a
 * cgroup2 hierarchy whose root lists it in cgroup.controllers.  That covers pure v1, pure
 * v2, and a hybrid host whose pids or cpu controller was moved to the unified hierarchy.
 * A resource whose controller is nowhere is an error naming both, never skipped.
 *
 * The files (kernel Documentation/admin-guide/cgroup-v1/ and cgroup-v2.rst):
 *
 *   resource            v1                               v2
 *   memory.limit        memory.limit_in_bytes            memory.max
 *   memory.reservation  memory.soft_limit_in_bytes       memory.low
 *   memory.swap         memory.memsw.limit_in_bytes      memory.swap.max (= swap - limit)
 *   memory.swappiness   memory.swappiness                (none: rejected)
 *   disableOOMKiller    memory.oom_control               (none: rejected)
 *   cpu.shares          cpu.shares                       cpu.weight (1 + (shares-2)*9999/262142)
 *   cpu.quota/period    cpu.cfs_period_us, cfs_quota_us  cpu.max "QUOTA PERIOD"
 *   cpu.cpus/mems       cpuset.cpus, cpuset.mems         cpuset.cpus, cpuset.mems
 *   pids.limit          pids.max                         pids.max
 *   devices             devices.deny / devices.allow     an eBPF program (cgroup-bpf.c)
 *   unified             (rejected)                       the files named, as given
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "utils.h"

const struct berth_cgroup_device_rule berth_cgroup_default_devices[] = {
  { true, 'c', -1, -1, "m" },    { true, 'b', -1, -1, "m" },
  { true, 'c', 1, 3, "rwm" },    /* null */
  { true, 'c', 1, 5, "rwm" },    /* zero */
  { true, 'c', 1, 7, "rwm" },    /* full */
  { true, 'c', 1, 8, "rwm" },    /* random */
  { true, 'c', 1, 9, "rwm" },    /* urandom */
  { true, 'c', 5, 0, "rwm" },    /* tty */
  { true, 'c', 5, 2, "rwm" },    /* ptmx */
  { true, 'c', 136, -1, "rwm" }, /* pts/N */
};
const size_t berth_cgroup_n_default_devices = BERTH_ARRAY_SIZE (berth_cgroup_default_devices);

void
berth_cgroup_resources_init (struct berth_cgroup_resources *r)
{
  memset (r, 0, sizeof (*r));
  r->memory_limit = r->memory_reservation = r->memory_swap = r->memory_swappiness = BERTH_CGROUP_UNSET;
  r->cpu_shares = r->cpu_quota = r->cpu_period = BERTH_CGROUP_UNSET;
  r->pids_limit = BERTH_CGROUP_UNSET;
}

void
berth_cgroup_resources_release (struct berth_cgroup_resources *r)
{
  size_t i;

  free (r->cpus);
  free (r->mems);
  free (r->devices);
  free (r->config_devices);
  for (i = 0; i < r->n_unified; i++)
    {
      free (r->unified_keys[i]);
      free (r->unified_values[i]);
    }
  free (r->unified_keys);
  free (r->unified_values);
  berth_cgroup_resources_init (r);
}

/* ---- where a controller is.  */

struct place
{
  const struct berth_cgroup_hierarchy *h; /* NULL: the controller is nowhere */
  char *dir;                              /* h's mount point + the cgroup path */
};

static void
place_release (struct place *p)
{
  free (p->dir);
}
#define cleanup_place __attribute__ ((cleanup (place_release)))

/* Whether the cgroup2 hierarchy h offers controller name (its root's cgroup.controllers).  */
static int
v2_offers (const struct berth_cgroup_hierarchy *h, const char *name, bool *out, berth_error_t *err)
{
  cleanup_free char *file = xasprintf ("%s/cgroup.controllers", h->mount_point);
  cleanup_free char *text = NULL;
  char *saveptr = NULL, *c;
  int ret;

  *out = false;
  ret = berth_read_file (file, &text, NULL, err);
  if (ret < 0)
    return ret;
  for (c = strtok_r (text, " \n", &saveptr); c; c = strtok_r (NULL, " \n", &saveptr))
    if (strcmp (c, name) == 0)
      *out = true;
  return 0;
}

static const struct berth_cgroup_hierarchy *
first_v2 (const struct berth_cgroup_hierarchies *hs)
{
  size_t i;

  for (i = 0; i < hs->n; i++)
    if (hs->items[i].v2)
      return &hs->items[i];
  return NULL;
}

/* Find controller name: a v1 hierarchy with it, else a cgroup2 one offering it.  */
static int
locate (const struct berth_cgroup_hierarchies *hs, const char *name, const char *path, struct place *out,
        berth_error_t *err)
{
  const struct berth_cgroup_hierarchy *h = NULL, *v2;
  size_t i;

  out->h = NULL;
  out->dir = NULL;
  for (i = 0; i < hs->n && h == NULL; i++)
    if (! hs->items[i].v2 && berth_cgroup_hierarchy_has (&hs->items[i], name))
      h = &hs->items[i];
  v2 = first_v2 (hs);
  if (h == NULL && v2)
    {
      bool offered;
      int ret = v2_offers (v2, name, &offered, err);
      if (ret < 0)
        return ret;
      if (offered)
        h = v2;
    }
  if (h)
    {
      out->h = h;
      out->dir = xasprintf ("%s%s", h->mount_point, path);
    }
  return 0;
}

/* locate, and an error when the controller is nowhere.  */
static int
require (const struct berth_cgroup_hierarchies *hs, const char *name, const char *path, const char *field,
         struct place *out, berth_error_t *err)
{
  int ret = locate (hs, name, path, out, err);
  if (ret < 0)
    return ret;
  if (out->h == NULL)
    return berth_make_error_op (err, ENOTSUP, "cgroup",
                                "linux.resources.%s needs the %s controller, which this host has neither as a "
                                "cgroup v1 hierarchy nor in cgroup2's cgroup.controllers; remove the setting or "
                                "enable the controller",
                                field, name);
  return 0;
}

/* dir/file = value, the error naming the setting as well as the file.  */
static int
set (const struct place *p, const char *file, const char *value, const char *field, berth_error_t *err)
{
  cleanup_free char *full = xasprintf ("%s/%s", p->dir, file);
  int ret = berth_cgroup_write_file (full, value, err);
  if (ret < 0)
    return berth_error_wrap (err, "set linux.resources.%s to %s", field, value);
  return 0;
}

static int
set_i64 (const struct place *p, const char *file, int64_t v, const char *field, berth_error_t *err)
{
  char buf[32];

  snprintf (buf, sizeof (buf), "%" PRId64, v);
  return set (p, file, buf, field, err);
}

/* A v2 limit: "max" for -1.  */
static int
set_max (const struct place *p, const char *file, int64_t v, const char *field, berth_error_t *err)
{
  if (v < 0)
    return set (p, file, "max", field, err);
  return set_i64 (p, file, v, field, err);
}

static int
v2_only (const char *field, berth_error_t *err)
{
  return berth_make_error_op (err, ENOTSUP, "cgroup",
                              "linux.resources.%s has no cgroup v2 equivalent and the memory controller is on "
                              "cgroup v2 here; remove it",
                              field);
}

/* ---- each controller.  */

static int
apply_memory (const struct berth_cgroup_hierarchies *hs, const char *path, const struct berth_cgroup_resources *r,
              berth_error_t *err)
{
  cleanup_place struct place p = { 0 };
  int ret;

  if (r->memory_limit == BERTH_CGROUP_UNSET && r->memory_reservation == BERTH_CGROUP_UNSET
      && r->memory_swap == BERTH_CGROUP_UNSET && r->memory_swappiness == BERTH_CGROUP_UNSET
      && ! r->disable_oom_killer)
    return 0;
  ret = require (hs, "memory", path, "memory", &p, err);
  if (ret < 0)
    return ret;

  if (! p.h->v2)
    {
      /* A new cgroup's memsw limit is unlimited, so the memory limit goes first.  */
      if (r->memory_limit != BERTH_CGROUP_UNSET
          && set_i64 (&p, "memory.limit_in_bytes", r->memory_limit, "memory.limit", err) < 0)
        return -1;
      if (r->memory_swap != BERTH_CGROUP_UNSET
          && set_i64 (&p, "memory.memsw.limit_in_bytes", r->memory_swap, "memory.swap", err) < 0)
        return -1;
      if (r->memory_reservation != BERTH_CGROUP_UNSET
          && set_i64 (&p, "memory.soft_limit_in_bytes", r->memory_reservation, "memory.reservation", err) < 0)
        return -1;
      if (r->memory_swappiness != BERTH_CGROUP_UNSET
          && set_i64 (&p, "memory.swappiness", r->memory_swappiness, "memory.swappiness", err) < 0)
        return -1;
      if (r->disable_oom_killer && set (&p, "memory.oom_control", "1", "memory.disableOOMKiller", err) < 0)
        return -1;
      return 0;
    }

  if (r->memory_swappiness != BERTH_CGROUP_UNSET)
    return v2_only ("memory.swappiness", err);
  if (r->disable_oom_killer)
    return v2_only ("memory.disableOOMKiller", err);
  if (r->memory_limit != BERTH_CGROUP_UNSET && set_max (&p, "memory.max", r->memory_limit, "memory.limit", err) < 0)
    return -1;
  if (r->memory_swap != BERTH_CGROUP_UNSET)
    {
      /* The spec's swap is memory plus swap; v2's swap.max is the swap alone.  */
      int64_t swap = r->memory_swap < 0 ? -1 : r->memory_swap - (r->memory_limit > 0 ? r->memory_limit : 0);
      if (set_max (&p, "memory.swap.max", swap, "memory.swap", err) < 0)
        return -1;
    }
  if (r->memory_reservation != BERTH_CGROUP_UNSET
      && set_max (&p, "memory.low", r->memory_reservation < 0 ? 0 : r->memory_reservation, "memory.reservation",
                  err) < 0)
    return -1;
  return 0;
}

static int
apply_cpu (const struct berth_cgroup_hierarchies *hs, const char *path, const struct berth_cgroup_resources *r,
           berth_error_t *err)
{
  cleanup_place struct place p = { 0 };
  int ret;

  if (r->cpu_shares == BERTH_CGROUP_UNSET && r->cpu_quota == BERTH_CGROUP_UNSET
      && r->cpu_period == BERTH_CGROUP_UNSET)
    return 0;
  ret = require (hs, "cpu", path, "cpu", &p, err);
  if (ret < 0)
    return ret;

  if (! p.h->v2)
    {
      if (r->cpu_shares != BERTH_CGROUP_UNSET && set_i64 (&p, "cpu.shares", r->cpu_shares, "cpu.shares", err) < 0)
        return -1;
      /* The period first: a quota is checked against the current period.  */
      if (r->cpu_period != BERTH_CGROUP_UNSET
          && set_i64 (&p, "cpu.cfs_period_us", r->cpu_period, "cpu.period", err) < 0)
        return -1;
      if (r->cpu_quota != BERTH_CGROUP_UNSET && set_i64 (&p, "cpu.cfs_quota_us", r->cpu_quota, "cpu.quota", err) < 0)
        return -1;
      return 0;
    }

  if (r->cpu_shares != BERTH_CGROUP_UNSET)
    {
      /* The conversion crun and runc use: shares 2..262144 onto weight 1..10000.  */
      int64_t weight = 1 + ((r->cpu_shares - 2) * 9999) / 262142;
      if (set_i64 (&p, "cpu.weight", weight, "cpu.shares", err) < 0)
        return -1;
    }
  if (r->cpu_quota != BERTH_CGROUP_UNSET || r->cpu_period != BERTH_CGROUP_UNSET)
    {
      char buf[64];
      int64_t period = r->cpu_period != BERTH_CGROUP_UNSET ? r->cpu_period : 100000;

      if (r->cpu_quota == BERTH_CGROUP_UNSET || r->cpu_quota < 0)
        snprintf (buf, sizeof (buf), "max %" PRId64, period);
      else
        snprintf (buf, sizeof (buf), "%" PRId64 " %" PRId64, r->cpu_quota, period);
      if (set (&p, "cpu.max", buf, "cpu.quota", err) < 0)
        return -1;
    }
  return 0;
}

static int
apply_cpuset (const struct berth_cgroup_hierarchies *hs, const char *path, const struct berth_cgroup_resources *r,
              berth_error_t *err)
{
  cleanup_place struct place p = { 0 };
  bool noprefix;
  int ret;

  if (r->cpus == NULL && r->mems == NULL)
    return 0;
  ret = require (hs, "cpuset", path, r->cpus ? "cpu.cpus" : "cpu.mems", &p, err);
  if (ret < 0)
    return ret;
  noprefix = ! p.h->v2 && p.h->noprefix;
  if (r->cpus && set (&p, noprefix ? "cpus" : "cpuset.cpus", r->cpus, "cpu.cpus", err) < 0)
    return -1;
  if (r->mems && set (&p, noprefix ? "mems" : "cpuset.mems", r->mems, "cpu.mems", err) < 0)
    return -1;
  return 0;
}

static int
apply_pids (const struct berth_cgroup_hierarchies *hs, const char *path, const struct berth_cgroup_resources *r,
            berth_error_t *err)
{
  cleanup_place struct place p = { 0 };
  int ret;

  if (r->pids_limit == BERTH_CGROUP_UNSET)
    return 0;
  ret = require (hs, "pids", path, "pids", &p, err);
  if (ret < 0)
    return ret;
  return set_max (&p, "pids.max", r->pids_limit > 0 ? r->pids_limit : -1, "pids.limit", err);
}

/* "c 1:3 rwm", "a *:* rwm".  */
static char *
device_rule_text (const struct berth_cgroup_device_rule *d)
{
  char major[24], minor[24];

  if (d->major < 0)
    strcpy (major, "*");
  else
    snprintf (major, sizeof (major), "%" PRId64, d->major);
  if (d->minor < 0)
    strcpy (minor, "*");
  else
    snprintf (minor, sizeof (minor), "%" PRId64, d->minor);
  return xasprintf ("%c %s:%s %s", d->type, major, minor, d->access);
}

/* The config's rules, then the standard devices and the config's own devices.  */
static struct berth_cgroup_device_rule *
all_device_rules (const struct berth_cgroup_resources *r, size_t *n)
{
  size_t size = sizeof (struct berth_cgroup_device_rule);
  struct berth_cgroup_device_rule *all;

  *n = r->n_devices + berth_cgroup_n_default_devices + r->n_config_devices;
  all = xmalloc0 (*n * size);
  if (r->n_devices)
    memcpy (all, r->devices, r->n_devices * size);
  memcpy (all + r->n_devices, berth_cgroup_default_devices, berth_cgroup_n_default_devices * size);
  if (r->n_config_devices)
    memcpy (all + r->n_devices + berth_cgroup_n_default_devices, r->config_devices, r->n_config_devices * size);
  return all;
}

/* v1: the rules in order into devices.allow / devices.deny; v2: one eBPF program.  A hybrid
   host gets both (the kernel checks the program, then the v1 controller).  */
static int
apply_devices (const struct berth_cgroup_hierarchies *hs, const char *path, const struct berth_cgroup_resources *r,
               berth_error_t *err)
{
  const struct berth_cgroup_hierarchy *v1 = NULL, *v2 = first_v2 (hs);
  cleanup_free struct berth_cgroup_device_rule *rules = NULL;
  size_t i, n;

  if (! r->has_devices)
    return 0;
  rules = all_device_rules (r, &n);
  for (i = 0; i < hs->n && v1 == NULL; i++)
    if (! hs->items[i].v2 && berth_cgroup_hierarchy_has (&hs->items[i], "devices"))
      v1 = &hs->items[i];
  if (v1 == NULL && v2 == NULL)
    return berth_make_error_op (err, ENOTSUP, "cgroup",
                                "linux.resources.devices needs the devices controller (cgroup v1) or cgroup2; "
                                "this host has neither");
  if (v1)
    {
      cleanup_place struct place p = { v1, xasprintf ("%s%s", v1->mount_point, path) };

      for (i = 0; i < n; i++)
        {
          cleanup_free char *text = device_rule_text (&rules[i]);
          size_t own = i - r->n_devices - berth_cgroup_n_default_devices;
          cleanup_free char *field = i < r->n_devices ? xasprintf ("devices[%zu]", i)
                                     : i < r->n_devices + berth_cgroup_n_default_devices
                                         ? xstrdup ("devices (a standard device)")
                                         : xasprintf ("devices (for linux.devices[%zu])", own);

          if (set (&p, rules[i].allow ? "devices.allow" : "devices.deny", text, field, err) < 0)
            return -1;
        }
    }
  if (v2)
    {
      cleanup_free char *dir = xasprintf ("%s%s", v2->mount_point, path);
      return berth_cgroup_bpf_attach (dir, rules, n, err);
    }
  return 0;
}

static int
apply_unified (const struct berth_cgroup_hierarchies *hs, const char *path, const struct berth_cgroup_resources *r,
               berth_error_t *err)
{
  const struct berth_cgroup_hierarchy *v2 = first_v2 (hs);
  cleanup_place struct place p = { v2, NULL };
  size_t i;

  if (r->n_unified == 0)
    return 0;
  if (v2 == NULL)
    return berth_make_error_op (err, ENOTSUP, "cgroup",
                                "linux.resources.unified needs cgroup v2, which this host does not mount");
  p.dir = xasprintf ("%s%s", v2->mount_point, path);
  for (i = 0; i < r->n_unified; i++)
    {
      cleanup_free char *field = xasprintf ("unified[\"%s\"]", r->unified_keys[i]);

      if (set (&p, r->unified_keys[i], r->unified_values[i], field, err) < 0)
        return -1;
    }
  return 0;
}

int
berth_cgroup_resources_apply (const struct berth_cgroup_hierarchies *hs, const char *path,
                              const struct berth_cgroup_resources *r, berth_error_t *err)
{
  if (apply_cpuset (hs, path, r, err) < 0 || apply_memory (hs, path, r, err) < 0 || apply_cpu (hs, path, r, err) < 0
      || apply_pids (hs, path, r, err) < 0 || apply_devices (hs, path, r, err) < 0
      || apply_unified (hs, path, r, err) < 0)
    return -1;
  return 0;
}

/* ---- usage.  */

static int
read_at (const struct place *p, const char *file, const char *key, uint64_t *value, berth_error_t *err)
{
  cleanup_free char *full = NULL;

  *value = BERTH_CGROUP_STAT_UNKNOWN;
  if (p->h == NULL)
    return 0;
  full = xasprintf ("%s/%s", p->dir, file);
  return berth_cgroup_read_u64 (full, key, value, err);
}

/* v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); show it as none.  */
static uint64_t
v1_limit (uint64_t v)
{
  return v != BERTH_CGROUP_STAT_UNKNOWN && v >= (UINT64_C (1) << 62) ? BERTH_CGROUP_STAT_NONE : v;
}

int
berth_cgroup_read_stats (const struct berth_cgroup_hierarchies *hs, const char *path,
                         struct berth_cgroup_stats *out, berth_error_t *err)
{
  cleanup_place struct place mem = { 0 };
  cleanup_place struct place cpu = { 0 };
  cleanup_place struct place pids = { 0 };
  uint64_t usec;

  if (locate (hs, "memory", path, &mem, err) < 0 || locate (hs, "pids", path, &pids, err) < 0
      || locate (hs, "cpuacct", path, &cpu, err) < 0)
    return -1;

  if (mem.h && ! mem.h->v2)
    {
      if (read_at (&mem, "memory.usage_in_bytes", NULL, &out->memory_bytes, err) < 0
          || read_at (&mem, "memory.limit_in_bytes", NULL, &out->memory_limit, err) < 0
          || read_at (&mem, "memory.oom_control", "oom_kill", &out->oom_kills, err) < 0)
        return -1;
      out->memory_limit = v1_limit (out->memory_limit);
    }
  else if (read_at (&mem, "memory.current", NULL, &out->memory_bytes, err) < 0
           || read_at (&mem, "memory.max", NULL, &out->memory_limit, err) < 0
           || read_at (&mem, "memory.events", "oom_kill", &out->oom_kills, err) < 0)
    return -1;

  if (read_at (&pids, "pids.current", NULL, &out->pids, err) < 0
      || read_at (&pids, "pids.max", NULL, &out->pids_limit, err) < 0)
    return -1;

  if (cpu.h && ! cpu.h->v2)
    return read_at (&cpu, "cpuacct.usage", NULL, &out->cpu_usage_ns, err);
  /* cgroup2 keeps cpu.stat in every cgroup, with or without the cpu controller.  */
  if (cpu.h == NULL && first_v2 (hs))
    {
      cpu.h = first_v2 (hs);
      cpu.dir = xasprintf ("%s%s", cpu.h->mount_point, path);
    }
  if (read_at (&cpu, "cpu.stat", "usage_usec", &usec, err) < 0)
    return -1;
  if (usec == BERTH_CGROUP_STAT_UNKNOWN || usec == BERTH_CGROUP_STAT_NONE)
    out->cpu_usage_ns = BERTH_CGROUP_STAT_UNKNOWN;
  else if (usec > (UINT64_MAX - 2) / 1000)
    return berth_make_error_op (err, ERANGE, "parse", "parse %s/cpu.stat: usage_usec too large", cpu.dir);
  else
    out->cpu_usage_ns = usec * 1000;
  return 0;
}
