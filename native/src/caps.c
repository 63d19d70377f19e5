/*
 * Berth runtime: process capabilities (runtime-spec config.md "capabilities").  See caps.h.
 *
 * Names are the "CAP_*" spellings of <linux/capability.h>, numbered as there.  The sets
 * are applied without libcap: prctl(2) for the bounding and ambient sets and the raw
 * capset(2) system call (_LINUX_CAPABILITY_VERSION_3, two 32-bit words) for the others.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "config-json.h"
#include "utils.h"

#define CAP_LAST_CAP_PATH "/proc/sys/kernel/cap_last_cap"

/* ---- names.  */

#define CAP_ENTRY(name) [name] = #name

static const char *const cap_names[] = {
  CAP_ENTRY (CAP_CHOWN),
  CAP_ENTRY (CAP_DAC_OVERRIDE),
  CAP_ENTRY (CAP_DAC_READ_SEARCH),
  CAP_ENTRY (CAP_FOWNER),
  CAP_ENTRY (CAP_FSETID),
  CAP_ENTRY (CAP_KILL),
  CAP_ENTRY (CAP_SETGID),
  CAP_ENTRY (CAP_SETUID),
  CAP_ENTRY (CAP_SETPCAP),
  CAP_ENTRY (CAP_LINUX_IMMUTABLE),
  CAP_ENTRY (CAP_NET_BIND_SERVICE),
  CAP_ENTRY (CAP_NET_BROADCAST),
  CAP_ENTRY (CAP_NET_ADMIN),
  CAP_ENTRY (CAP_NET_RAW),
  CAP_ENTRY (CAP_IPC_LOCK),
  CAP_ENTRY (CAP_IPC_OWNER),
  CAP_ENTRY (CAP_SYS_MODULE),
  CAP_ENTRY (CAP_SYS_RAWIO),
  CAP_ENTRY (CAP_SYS_CHROOT),
  CAP_ENTRY (CAP_SYS_PTRACE),
  CAP_ENTRY (CAP_SYS_PACCT),
  CAP_ENTRY (CAP_SYS_ADMIN),
  CAP_ENTRY (CAP_SYS_BOOT),
  CAP_ENTRY (CAP_SYS_NICE),
  CAP_ENTRY (CAP_SYS_RESOURCE),
  CAP_ENTRY (CAP_SYS_TIME),
  CAP_ENTRY (CAP_SYS_TTY_CONFIG),
  CAP_ENTRY (CAP_MKNOD),
  CAP_ENTRY (CAP_LEASE),
  CAP_ENTRY (CAP_AUDIT_WRITE),
  CAP_ENTRY (CAP_AUDIT_CONTROL),
  CAP_ENTRY (CAP_SETFCAP),
  CAP_ENTRY (CAP_MAC_OVERRIDE),
  CAP_ENTRY (CAP_MAC_ADMIN),
  CAP_ENTRY (CAP_SYSLOG),
  CAP_ENTRY (CAP_WAKE_ALARM),
  CAP_ENTRY (CAP_BLOCK_SUSPEND),
  CAP_ENTRY (CAP_AUDIT_READ),
  CAP_ENTRY (CAP_PERFMON),
  CAP_ENTRY (CAP_BPF),
  CAP_ENTRY (CAP_CHECKPOINT_RESTORE),
};

_Static_assert (CAP_CHECKPOINT_RESTORE == 40, "capability numbers of <linux/capability.h>");
_Static_assert (BERTH_ARRAY_SIZE (cap_names) == CAP_CHECKPOINT_RESTORE + 1,
                "one name for every capability number");

const char *const berth_caps_docker_default[] = {
  "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",           "CAP_MKNOD",
  "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",  "CAP_SETFCAP",          "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",           "CAP_SYS_CHROOT", "CAP_KILL",          "CAP_AUDIT_WRITE",
  NULL,
};

const char *
berth_caps_name (int cap)
{
  if (cap < 0 || (size_t) cap >= BERTH_ARRAY_SIZE (cap_names))
    return NULL;
  return cap_names[cap];
}

int
berth_caps_from_name (const char *name)
{
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (cap_names); i++)
    if (strcmp (cap_names[i], name) == 0)
      return (int) i;
  return -1;
}

/* "CAP_CHOWN", or "capability 63" for a number without a name.  */
static const char *
cap_label (int cap, char *buf, size_t size)
{
  const char *name = berth_caps_name (cap);

  if (name)
    return name;
  snprintf (buf, size, "capability %d", cap);
  return buf;
}

/* ---- the running kernel.  */

/* The highest capability the running kernel knows: /proc/sys/kernel/cap_last_cap, or, when
   /proc is not there (inside a container before /proc is mounted), the last number the
   bounding set answers for (PR_CAPBSET_READ fails with EINVAL past the kernel's last).  */
static int
kernel_last_cap (int *out, berth_error_t *err)
{
  cleanup_free char *data = NULL;
  berth_error_t read_err = NULL;
  char buf[32];
  char *end;
  long v;
  int cap;

  if (berth_read_file (CAP_LAST_CAP_PATH, &data, NULL, &read_err) == 0)
    {
      errno = 0;
      v = strtol (data, &end, 10);
      if (errno != 0 || end == data || (*end != '\n' && *end != '\0') || v < 0 || v > 63)
        return berth_make_error_op (err, 0, "read", "%s: unexpected content `%s`", CAP_LAST_CAP_PATH, data);
      *out = (int) v;
      return 0;
    }
  berth_error_release (&read_err);

  for (cap = 0; cap < 64; cap++)
    if (prctl (PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0) < 0)
      {
        if (errno != EINVAL)
          return berth_make_error_op (err, errno, "prctl", "prctl PR_CAPBSET_READ %s",
                                      cap_label (cap, buf, sizeof (buf)));
        break;
      }
  if (cap == 0)
    return berth_make_error_op (err, EINVAL, "prctl", "prctl PR_CAPBSET_READ CAP_CHOWN");
  *out = cap - 1;
  return 0;
}

/* ---- parsing.  */

/* One set ("bounding") of obj into *mask; absent or null is empty.  */
static int
parse_set (json_object *obj, const char *where, const char *set, int last_cap, uint64_t *mask,
           berth_error_t *err)
{
  cleanup_free char *field = NULL;
  json_object *v = NULL;
  size_t i, n;

  *mask = 0;
  if (!json_object_object_get_ex (obj, set, &v) || v == NULL)
    return 0;
  field = *where ? xasprintf ("%s.%s", where, set) : xstrdup (set);
  if (!json_object_is_type (v, json_type_array))
    return cfg_error (err, "%s must be an array of strings", field);

  n = json_object_array_length (v);
  for (i = 0; i < n; i++)
    {
      json_object *e = json_object_array_get_idx (v, i);
      const char *name;
      int cap;

      if (!json_object_is_type (e, json_type_string))
        return cfg_error (err, "%s[%zu] must be a string", field, i);
      name = json_object_get_string (e);
      if (strlen (name) != (size_t) json_object_get_string_len (e))
        return cfg_error (err, "%s[%zu] must not contain a NUL character", field, i);
      cap = berth_caps_from_name (name);
      if (cap < 0)
        return cfg_error (err, "%s[%zu] \"%s\" is not a capability", field, i, name);
      if (cap > last_cap)
        return cfg_error (err, "%s[%zu] \"%s\" is not supported by this kernel (its last capability is %s)",
                           field, i, name, berth_caps_name (last_cap) ? berth_caps_name (last_cap) : "?");
      *mask |= UINT64_C (1) << cap;
    }
  return 0;
}

int
berth_caps_parse (json_object *obj, const char *where, struct berth_caps *out, berth_error_t *err)
{
  struct berth_caps c = { 0 };
  int last_cap;
  int ret;

  if (where == NULL)
    where = "";
  if (!json_object_is_type (obj, json_type_object))
    return cfg_error (err, "%s must be an object", *where ? where : "capabilities");

  ret = kernel_last_cap (&last_cap, err);
  if (ret < 0)
    return ret;

  if (parse_set (obj, where, "bounding", last_cap, &c.bounding, err) < 0
      || parse_set (obj, where, "effective", last_cap, &c.effective, err) < 0
      || parse_set (obj, where, "permitted", last_cap, &c.permitted, err) < 0
      || parse_set (obj, where, "inheritable", last_cap, &c.inheritable, err) < 0
      || parse_set (obj, where, "ambient", last_cap, &c.ambient, err) < 0)
    return -1;
  *out = c;
  return 0;
}

/* ---- applying.  */

int
berth_caps_apply_bounding (const struct berth_caps *c, berth_error_t *err)
{
  char buf[32];
  int last_cap;
  int cap;
  int ret;

  ret = kernel_last_cap (&last_cap, err);
  if (ret < 0)
    return ret;

  for (cap = 0; cap <= last_cap; cap++)
    {
      if (c->bounding & (UINT64_C (1) << cap))
        continue;
      /* Already out of the bounding set: nothing to do (and no CAP_SETPCAP needed).  */
      ret = prctl (PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0);
      if (ret == 0)
        continue;
      if (ret < 0)
        {
          if (errno == EINVAL)
            continue; /* the kernel does not have it */
          return berth_make_error_op (err, errno, "prctl", "prctl PR_CAPBSET_READ %s",
                                      cap_label (cap, buf, sizeof (buf)));
        }
      if (prctl (PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) < 0 && errno != EINVAL)
        return berth_make_error_op (err, errno, "prctl", "prctl PR_CAPBSET_DROP %s",
                                    cap_label (cap, buf, sizeof (buf)));
    }

  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return berth_make_error_op (err, errno, "prctl", "prctl PR_SET_KEEPCAPS 1");
  return 0;
}

/* The lowest capability in mask (which is not 0).  */
static int
first_cap (uint64_t mask)
{
  return __builtin_ctzll (mask);
}

bool
berth_caps_effective_has (int cap)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct cur[2];

  memset (cur, 0, sizeof (cur));
  if (cap < 0 || cap >= 64 || syscall (SYS_capget, &hdr, cur) < 0)
    return false;
  return (cur[cap / 32].effective & (UINT32_C (1) << (cap % 32))) != 0;
}

/* capset failed with EPERM: say which capability the kernel refused, when we can tell.  */
static int
capset_error (const struct berth_caps *c, int errno_, berth_error_t *err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct cur[2];
  uint64_t cur_permitted;
  char buf[32];

  if (c->effective & ~c->permitted)
    return berth_make_error_op (err, errno_, "capset",
                                "capset: %s is in the effective set but not in the permitted set",
                                cap_label (first_cap (c->effective & ~c->permitted), buf, sizeof (buf)));

  memset (cur, 0, sizeof (cur));
  if (errno_ == EPERM && syscall (SYS_capget, &hdr, cur) == 0)
    {
      cur_permitted = (uint64_t) cur[0].permitted | ((uint64_t) cur[1].permitted << 32);
      if (c->permitted & ~cur_permitted)
        return berth_make_error_op (err, errno_, "capset",
                                    "capset: %s is not in the permitted set of this process "
                                    "(it can only shrink)",
                                    cap_label (first_cap (c->permitted & ~cur_permitted), buf,
                                               sizeof (buf)));
    }
  return berth_make_error_op (err, errno_, "capset",
                              "capset effective %#018" PRIx64 " permitted %#018" PRIx64
                              " inheritable %#018" PRIx64,
                              c->effective, c->permitted, c->inheritable);
}

int
berth_caps_apply (const struct berth_caps *c, berth_error_t *err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  char buf[32];
  int cap;

  memset (data, 0, sizeof (data));
  data[0].effective = (uint32_t) c->effective;
  data[1].effective = (uint32_t) (c->effective >> 32);
  data[0].permitted = (uint32_t) c->permitted;
  data[1].permitted = (uint32_t) (c->permitted >> 32);
  data[0].inheritable = (uint32_t) c->inheritable;
  data[1].inheritable = (uint32_t) (c->inheritable >> 32);

  if (syscall (SYS_capset, &hdr, data) < 0)
    return capset_error (c, errno, err);

  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return berth_make_error_op (err, errno, "prctl", "prctl PR_SET_KEEPCAPS 0");

  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    {
      /* A kernel without ambient capabilities (before 4.3) has nothing to clear.  */
      if (errno != EINVAL || c->ambient != 0)
        return berth_make_error_op (err, errno, "prctl", "prctl PR_CAP_AMBIENT_CLEAR_ALL");
    }

  for (cap = 0; cap < 64; cap++)
    {
      const char *label;

      if (!(c->ambient & (UINT64_C (1) << cap)))
        continue;
      label = cap_label (cap, buf, sizeof (buf));
      if (!(c->permitted & c->inheritable & (UINT64_C (1) << cap)))
        return berth_make_error_op (err, EPERM, "prctl",
                                    "prctl PR_CAP_AMBIENT_RAISE %s: an ambient capability must also be in the "
                                    "permitted and inheritable sets (it is missing from %s)",
                                    label,
                                    !(c->permitted & (UINT64_C (1) << cap))
                                        ? (!(c->inheritable & (UINT64_C (1) << cap)) ? "both" : "permitted")
                                        : "inheritable");
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long) cap, 0, 0) < 0)
        {
          if (errno == EPERM)
            return berth_make_error_op (err, errno, "prctl",
                                        "prctl PR_CAP_AMBIENT_RAISE %s: the kernel refused it (not in the "
                                        "permitted and inheritable sets, or SECBIT_NO_CAP_AMBIENT_RAISE is set)",
                                        label);
          return berth_make_error_op (err, errno, "prctl", "prctl PR_CAP_AMBIENT_RAISE %s", label);
        }
    }
  return 0;
}
