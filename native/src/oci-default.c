/*
 * Berth runtime: the default config.json of `berth-runtime spec` (Berth's defaults, built
 * with json-c).  See oci-config.h.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "oci-config.h"
#include "seccomp.h"
#include "utils.h"

static void
cleanup_jsonp (json_object **o)
{
  json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (cleanup_jsonp)))

/* ---- the default config of `berth-runtime spec`.  */

static json_object *
jcheck (json_object *o)
{
  if (o == NULL)
    abort (); /* out of memory, as xmalloc0 */
  return o;
}

static json_object *
jstring (const char *s)
{
  return jcheck (json_object_new_string (s));
}

static json_object *
jstrv (const char *const *v)
{
  json_object *arr = jcheck (json_object_new_array ());

  for (; *v; v++)
    json_object_array_add (arr, jstring (*v));
  return arr;
}

static void
jset (json_object *obj, const char *key, json_object *value)
{
  if (json_object_object_add (obj, key, value) < 0)
    abort ();
}

/* Docker's default capability set (docs/isolation.md says why each is there); nothing
   inheritable or ambient, so a non-root program gets none.  */
static json_object *
default_capabilities (void)
{
  json_object *caps = jcheck (json_object_new_object ());

  jset (caps, "bounding", jstrv (berth_caps_docker_default));
  jset (caps, "effective", jstrv (berth_caps_docker_default));
  jset (caps, "permitted", jstrv (berth_caps_docker_default));
  return caps;
}

static json_object *
default_process (void)
{
  static const char *const args[] = { "sh", NULL };
  static const char *const env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
    NULL,
  };
  json_object *process = jcheck (json_object_new_object ());
  json_object *user = jcheck (json_object_new_object ());
  json_object *rlimit = jcheck (json_object_new_object ());
  json_object *rlimits = jcheck (json_object_new_array ());

  jset (user, "uid", jcheck (json_object_new_int (0)));
  jset (user, "gid", jcheck (json_object_new_int (0)));
  jset (rlimit, "type", jstring ("RLIMIT_NOFILE"));
  jset (rlimit, "hard", jcheck (json_object_new_int (1024)));
  jset (rlimit, "soft", jcheck (json_object_new_int (1024)));
  json_object_array_add (rlimits, rlimit);

  jset (process, "terminal", jcheck (json_object_new_boolean (0)));
  jset (process, "user", user);
  jset (process, "args", jstrv (args));
  jset (process, "env", jstrv (env));
  jset (process, "cwd", jstring ("/"));
  jset (process, "capabilities", default_capabilities ());
  jset (process, "rlimits", rlimits);
  jset (process, "noNewPrivileges", jcheck (json_object_new_boolean (1)));
  return process;
}

struct default_mount
{
  const char *destination;
  const char *type;
  const char *source;
  const char *const *options;
};

/* crun's default mounts.  */
static const struct default_mount default_mounts[] = {
  { "/proc", "proc", "proc", NULL },
  { "/dev", "tmpfs", "tmpfs", (const char *const[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL } },
  { "/dev/pts", "devpts", "devpts",
    (const char *const[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL } },
  { "/dev/shm", "tmpfs", "shm",
    (const char *const[]){ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL } },
  { "/dev/mqueue", "mqueue", "mqueue", (const char *const[]){ "nosuid", "noexec", "nodev", NULL } },
  { "/sys", "sysfs", "sysfs", (const char *const[]){ "nosuid", "noexec", "nodev", "ro", NULL } },
  { "/sys/fs/cgroup", "cgroup", "cgroup",
    (const char *const[]){ "nosuid", "noexec", "nodev", "relatime", "ro", NULL } },
};

static json_object *
default_mounts_json (void)
{
  json_object *mounts = jcheck (json_object_new_array ());
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (default_mounts); i++)
    {
      const struct default_mount *d = &default_mounts[i];
      json_object *m = jcheck (json_object_new_object ());

      jset (m, "destination", jstring (d->destination));
      jset (m, "type", jstring (d->type));
      jset (m, "source", jstring (d->source));
      if (d->options)
        jset (m, "options", jstrv (d->options));
      json_object_array_add (mounts, m);
    }
  return mounts;
}

/* Docker's masked and read-only kernel paths: what they expose (host memory, keys, timers,
   firmware, kernel tunables) is the host's, not the container's.  */
static const char *const masked_paths[] = {
  "/proc/asound",     "/proc/acpi",       "/proc/kcore",       "/proc/keys",
  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
  "/proc/scsi",       "/sys/firmware",    "/sys/devices/virtual/powercap", NULL,
};
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* The device cgroup: deny everything, then Docker's (runc's AllowedDevices) without the tun
   device: berth_cgroup_default_devices, which the runtime allows after any rules anyway.
   Nothing may be read or written but the standard devices and terminals; mknod is
   allowed, as in Docker, but a node made for any other device cannot be opened.  */
static json_object *
device_rule_json (const struct berth_cgroup_device_rule *d)
{
  json_object *o = jcheck (json_object_new_object ());
  char type[2] = { d->type, '\0' };

  jset (o, "allow", jcheck (json_object_new_boolean (d->allow)));
  if (d->type != 'a')
    jset (o, "type", jstring (type));
  if (d->major >= 0)
    jset (o, "major", jcheck (json_object_new_int ((int) d->major)));
  if (d->minor >= 0)
    jset (o, "minor", jcheck (json_object_new_int ((int) d->minor)));
  jset (o, "access", jstring (d->access));
  return o;
}

static json_object *
default_resources (void)
{
  static const struct berth_cgroup_device_rule deny_all = { false, 'a', -1, -1, "rwm" };
  json_object *resources = jcheck (json_object_new_object ());
  json_object *devices = jcheck (json_object_new_array ());
  size_t i;

  json_object_array_add (devices, device_rule_json (&deny_all));
  for (i = 0; i < berth_cgroup_n_default_devices; i++)
    json_object_array_add (devices, device_rule_json (&berth_cgroup_default_devices[i]));
  jset (resources, "devices", devices);
  return resources;
}

static json_object *
default_linux (void)
{
  static const char *const types[] = { "pid", "network", "ipc", "uts", "mount", "cgroup" };
  json_object *linux_ = jcheck (json_object_new_object ());
  json_object *namespaces = jcheck (json_object_new_array ());
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (types); i++)
    {
      json_object *ns = jcheck (json_object_new_object ());

      jset (ns, "type", jstring (types[i]));
      json_object_array_add (namespaces, ns);
    }
  jset (linux_, "namespaces", namespaces);
  jset (linux_, "resources", default_resources ());
  jset (linux_, "maskedPaths", jstrv (masked_paths));
  jset (linux_, "readonlyPaths", jstrv (readonly_paths));
  jset (linux_, "seccomp", berth_seccomp_docker_default ());
  return linux_;
}

char *
berth_config_default_json (void)
{
  cleanup_json json_object *config = jcheck (json_object_new_object ());
  json_object *root = jcheck (json_object_new_object ());
  json_object *annotations;
  const char *s;

  jset (root, "path", jstring ("rootfs"));
  jset (root, "readonly", jcheck (json_object_new_boolean (1)));

  jset (config, "ociVersion", jstring (BERTH_OCI_VERSION));
  jset (config, "process", default_process ());
  jset (config, "root", root);
  jset (config, "hostname", jstring ("berth"));
  jset (config, "mounts", default_mounts_json ());
  jset (config, "linux", default_linux ());
  /* Berth's own template asks for Berth's monitor; a bundle made by `crun spec` or `runc
     spec` runs pass-through (docs/runtime.md, "Two modes").  */
  annotations = jcheck (json_object_new_object ());
  jset (annotations, BERTH_ANNOTATION_MONITOR, jstring ("true"));
  jset (config, "annotations", annotations);

  s = json_object_to_json_string_ext (config, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                  | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (s == NULL)
    abort ();
  return xasprintf ("%s\n", s);
}
