/*
 * Berth runtime: config.json (OCI runtime-spec 1.0.2 to 1.2).  See oci-config.h.
 *
 * The JSON is parsed with json-c into a tree, then walked into struct berth_config.
 * Every field is checked as it is read; an error names the field's JSON path
 * ("mounts[3].destination") and what is wrong with it, and the entry points prefix
 * "config.json: " (or "process.json: ").  Results are built inside the struct being
 * returned, whose arrays are allocated zeroed at their final size first, so that
 * berth_config_free/berth_process_free release a half-built struct on any error.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "config-json.h"
#include "oci-annotations.h"
#include "oci-config.h"
#include "oci-resources.h"
#include "seccomp.h"
#include "utils.h"

#define DEFAULT_LOG_MAX_SIZE (10ULL * 1024 * 1024)
#define DEFAULT_LOG_MAX_FILES 3

static void
cleanup_processp (struct berth_process **p)
{
  berth_process_free (*p);
}
#define cleanup_process __attribute__ ((cleanup (cleanup_processp)))

/* ---- features Berth does not implement yet: rejected, never silently ignored.  */

struct unsupported
{
  const char *key;
  bool empty_ok; /* an empty string, array or object is accepted */
};

/* The isolation/limits work brings these (capabilities, seccomp, masked paths, cgroup
   resources, devices, user namespaces and the rest).  */
static const struct unsupported process_unsupported[] = {
  { "apparmorProfile", true }, { "selinuxLabel", true },
  { "ioPriority", false },   { "scheduler", false },      { "execCPUAffinity", false },
};

static const struct unsupported linux_unsupported[] = {
  { "intelRdt", false },    { "personality", false },
  { "mountLabel", true },   { "timeOffsets", false }, { "memoryPolicy", false },
};

/* Idmapped mounts (runtime-spec 1.1).  */
static const struct unsupported mount_unsupported[] = {
  { "uidMappings", true },
  { "gidMappings", true },
};

static bool
is_empty (json_object *v)
{
  switch (json_object_get_type (v))
    {
    case json_type_string:
      return json_object_get_string_len (v) == 0;
    case json_type_array:
      return json_object_array_length (v) == 0;
    case json_type_object:
      return json_object_object_length (v) == 0;
    default:
      return false;
    }
}

static int
check_unsupported (json_object *obj, const char *parent, const struct unsupported *table, size_t n,
                   berth_error_t *err)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      json_object *v = cfg_member (obj, table[i].key);
      cleanup_free char *where = NULL;

      if (v == NULL || (table[i].empty_ok && is_empty (v)))
        continue;
      where = cfg_field_path (parent, table[i].key);
      return cfg_error (err, "%s is not supported yet", where);
    }
  return 0;
}

/* ---- process.  */

typedef int (*process_step) (json_object *obj, const char *where, struct berth_process *p,
                             berth_error_t *err);

static int
check_process_unsupported (json_object *obj, const char *where, struct berth_process *p,
                           berth_error_t *err)
{
  (void) p;
  return check_unsupported (obj, where, process_unsupported, BERTH_ARRAY_SIZE (process_unsupported),
                            err);
}

static int
parse_terminal (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  json_object *size = cfg_member (obj, "consoleSize");
  cleanup_free char *w = NULL;
  int64_t height, width;
  int ret;

  ret = cfg_opt_bool (obj, where, "terminal", &p->terminal, err);
  if (ret < 0 || size == NULL)
    return ret;
  w = cfg_field_path (where, "consoleSize");
  ret = cfg_require_object (size, w, err);
  if (ret < 0)
    return ret;
  ret = cfg_req_int (size, w, "height", 0, UINT_MAX, &height, err);
  if (ret < 0)
    return ret;
  ret = cfg_req_int (size, w, "width", 0, UINT_MAX, &width, err);
  if (ret < 0)
    return ret;
  p->console_height = (unsigned) height;
  p->console_width = (unsigned) width;
  return 0;
}

/* uid_t/gid_t: (uid_t) -1 means "unchanged" to the kernel, so it is not a valid id.  */
#define MAX_ID ((int64_t) UINT32_MAX - 1)

static int
parse_additional_gids (json_object *user, const char *where, struct berth_process *p,
                       berth_error_t *err)
{
  json_object *gids = cfg_member (user, "additionalGids");
  cleanup_free char *w = NULL;
  size_t i, n;
  int64_t gid = 0;

  if (gids == NULL)
    return 0;
  w = cfg_field_path (where, "additionalGids");
  if (cfg_require_array (gids, w, err) < 0)
    return -1;
  n = json_object_array_length (gids);
  if (n == 0)
    return 0;
  p->additional_gids = xmalloc0 (n * sizeof (gid_t));
  p->n_additional_gids = n;
  for (i = 0; i < n; i++)
    {
      cleanup_free char *e = cfg_element_path (w, i);
      if (cfg_get_int (json_object_array_get_idx (gids, i), e, 0, MAX_ID, &gid, err) < 0)
        return -1;
      p->additional_gids[i] = (gid_t) gid;
    }
  return 0;
}

/* process.user.  Missing uid/gid default to 0, as runc and crun do.  */
static int
parse_user (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  json_object *user = cfg_member (obj, "user");
  cleanup_free char *w = NULL;
  int64_t v = 0;
  bool present;

  if (user == NULL)
    return 0;
  w = cfg_field_path (where, "user");
  if (cfg_require_object (user, w, err) < 0)
    return -1;
  if (cfg_opt_int (user, w, "uid", 0, MAX_ID, &v, &present, err) < 0)
    return -1;
  p->uid = present ? (uid_t) v : 0;
  if (cfg_opt_int (user, w, "gid", 0, MAX_ID, &v, &present, err) < 0)
    return -1;
  p->gid = present ? (gid_t) v : 0;
  if (cfg_opt_int (user, w, "umask", 0, 0777, &v, &p->has_umask, err) < 0)
    return -1;
  if (p->has_umask)
    p->umask = (mode_t) v;
  return parse_additional_gids (user, w, p, err);
}

static int
parse_args (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  json_object *args = cfg_member (obj, "args");
  cleanup_free char *w = cfg_field_path (where, "args");

  if (args == NULL)
    return cfg_error (err, "%s must be a non-empty array of strings", w);
  return cfg_get_strv (args, w, true, &p->args, err);
}

static int
parse_env (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  cleanup_free char *w = cfg_field_path (where, "env");
  char **e;

  if (cfg_opt_strv (obj, where, "env", &p->env, err) < 0)
    return -1;
  if (p->env == NULL)
    {
      p->env = xmalloc0 (sizeof (char *));
      return 0;
    }
  for (e = p->env; *e; e++)
    if (**e == '=' || strchr (*e, '=') == NULL)
      return cfg_error (err, "%s[%zu] \"%s\" must be KEY=VALUE with a non-empty KEY", w,
                           (size_t) (e - p->env), *e);
  return 0;
}

static int
parse_cwd (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  cleanup_free char *w = cfg_field_path (where, "cwd");

  if (cfg_opt_string (obj, where, "cwd", &p->cwd, err) < 0)
    return -1;
  if (p->cwd == NULL)
    return cfg_error (err, "%s is required (an absolute path)", w);
  if (p->cwd[0] != '/')
    return cfg_error (err, "%s \"%s\" must be an absolute path", w, p->cwd);
  return 0;
}

struct rlimit_name
{
  const char *name;
  int resource;
};

#define RLIMIT_NAME(r) { #r, r }
static const struct rlimit_name rlimit_names[] = {
  RLIMIT_NAME (RLIMIT_AS),      RLIMIT_NAME (RLIMIT_CORE),   RLIMIT_NAME (RLIMIT_CPU),
  RLIMIT_NAME (RLIMIT_DATA),    RLIMIT_NAME (RLIMIT_FSIZE),  RLIMIT_NAME (RLIMIT_LOCKS),
  RLIMIT_NAME (RLIMIT_MEMLOCK), RLIMIT_NAME (RLIMIT_MSGQUEUE), RLIMIT_NAME (RLIMIT_NICE),
  RLIMIT_NAME (RLIMIT_NOFILE),  RLIMIT_NAME (RLIMIT_NPROC),  RLIMIT_NAME (RLIMIT_RSS),
  RLIMIT_NAME (RLIMIT_RTPRIO),  RLIMIT_NAME (RLIMIT_RTTIME), RLIMIT_NAME (RLIMIT_SIGPENDING),
  RLIMIT_NAME (RLIMIT_STACK),
};

static int
rlimit_resource (const char *name)
{
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (rlimit_names); i++)
    if (strcmp (rlimit_names[i].name, name) == 0)
      return rlimit_names[i].resource;
  return -1;
}

static int
req_uint64 (json_object *obj, const char *where, const char *key, uint64_t *out, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);
  cleanup_free char *w = cfg_field_path (where, key);

  if (v == NULL)
    return cfg_error (err, "%s is required", w);
  return cfg_get_uint64 (v, w, out, err);
}

static int
parse_rlimit (json_object *v, const char *where, struct berth_rlimit *r, berth_error_t *err)
{
  cleanup_free char *w = cfg_field_path (where, "type");

  if (cfg_require_object (v, where, err) < 0 || cfg_opt_string (v, where, "type", &r->type, err) < 0)
    return -1;
  if (r->type == NULL)
    return cfg_error (err, "%s is required", w);
  r->resource = rlimit_resource (r->type);
  if (r->resource < 0)
    return cfg_error (err, "%s \"%s\" is not a known rlimit", w, r->type);
  if (req_uint64 (v, where, "soft", &r->soft, err) < 0 || req_uint64 (v, where, "hard", &r->hard, err) < 0)
    return -1;
  if (r->soft > r->hard)
    return cfg_error (err, "%s.soft %" PRIu64 " is greater than %s.hard %" PRIu64, where, r->soft,
                         where, r->hard);
  return 0;
}

static int
parse_rlimits (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  json_object *arr = cfg_member (obj, "rlimits");
  cleanup_free char *w = NULL;
  size_t i, j, n;

  if (arr == NULL)
    return 0;
  w = cfg_field_path (where, "rlimits");
  if (cfg_require_array (arr, w, err) < 0)
    return -1;
  n = json_object_array_length (arr);
  if (n == 0)
    return 0;
  p->rlimits = xmalloc0 (n * sizeof (struct berth_rlimit));
  p->n_rlimits = n;
  for (i = 0; i < n; i++)
    {
      cleanup_free char *e = cfg_element_path (w, i);

      if (parse_rlimit (json_object_array_get_idx (arr, i), e, &p->rlimits[i], err) < 0)
        return -1;
      for (j = 0; j < i; j++)
        if (p->rlimits[j].resource == p->rlimits[i].resource)
          return cfg_error (err, "%s.type \"%s\" is given twice (also in %s[%zu])", e,
                               p->rlimits[i].type, w, j);
    }
  return 0;
}

static int
parse_process_flags (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  int64_t v;

  if (cfg_opt_bool (obj, where, "noNewPrivileges", &p->no_new_privileges, err) < 0)
    return -1;
  if (cfg_opt_int (obj, where, "oomScoreAdj", -1000, 1000, &v, &p->has_oom_score_adj, err) < 0)
    return -1;
  if (p->has_oom_score_adj)
    p->oom_score_adj = (int) v;
  return 0;
}

static int
parse_capabilities (json_object *obj, const char *where, struct berth_process *p, berth_error_t *err)
{
  json_object *caps;
  cleanup_free char *field = xasprintf ("%s%scapabilities", where, *where ? "." : "");

  if (! json_object_object_get_ex (obj, "capabilities", &caps) || caps == NULL)
    return 0;
  if (berth_caps_parse (caps, field, &p->capabilities, err) < 0)
    return -1;
  p->has_capabilities = true;
  return 0;
}

static const process_step process_steps[] = {
  check_process_unsupported, parse_terminal, parse_user,   parse_args,
  parse_env,                 parse_cwd,          parse_rlimits, parse_process_flags,
  parse_capabilities,
};

/* A process object found at `where` ("process", or "" for a process.json).  */
static int
process_from_json (json_object *obj, const char *where, struct berth_process **out,
                   berth_error_t *err)
{
  cleanup_process struct berth_process *p = NULL;
  size_t i;

  if (cfg_require_object (obj, *where ? where : "the process", err) < 0)
    return -1;
  p = xmalloc0 (sizeof (*p));
  for (i = 0; i < BERTH_ARRAY_SIZE (process_steps); i++)
    if (process_steps[i](obj, where, p, err) < 0)
      return -1;
  *out = steal_pointer (&p);
  return 0;
}

/* ---- mounts.  */

enum mount_option_kind
{
  MOUNT_FLAG_SET,
  MOUNT_FLAG_CLEAR,
  MOUNT_PROPAGATION,
};

struct mount_option
{
  const char *name;
  enum mount_option_kind kind;
  unsigned long flags;
};

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

static const struct mount_option mount_options[] = {
  { "defaults", MOUNT_FLAG_SET, 0 },
  { "ro", MOUNT_FLAG_SET, MS_RDONLY },                 { "rw", MOUNT_FLAG_CLEAR, MS_RDONLY },
  { "nosuid", MOUNT_FLAG_SET, MS_NOSUID },             { "suid", MOUNT_FLAG_CLEAR, MS_NOSUID },
  { "nodev", MOUNT_FLAG_SET, MS_NODEV },               { "dev", MOUNT_FLAG_CLEAR, MS_NODEV },
  { "noexec", MOUNT_FLAG_SET, MS_NOEXEC },             { "exec", MOUNT_FLAG_CLEAR, MS_NOEXEC },
  { "sync", MOUNT_FLAG_SET, MS_SYNCHRONOUS },          { "async", MOUNT_FLAG_CLEAR, MS_SYNCHRONOUS },
  { "mand", MOUNT_FLAG_SET, MS_MANDLOCK },             { "nomand", MOUNT_FLAG_CLEAR, MS_MANDLOCK },
  { "noatime", MOUNT_FLAG_SET, MS_NOATIME },           { "atime", MOUNT_FLAG_CLEAR, MS_NOATIME },
  { "nodiratime", MOUNT_FLAG_SET, MS_NODIRATIME },     { "diratime", MOUNT_FLAG_CLEAR, MS_NODIRATIME },
  { "relatime", MOUNT_FLAG_SET, MS_RELATIME },         { "norelatime", MOUNT_FLAG_CLEAR, MS_RELATIME },
  { "strictatime", MOUNT_FLAG_SET, MS_STRICTATIME },   { "nostrictatime", MOUNT_FLAG_CLEAR, MS_STRICTATIME },
  { "dirsync", MOUNT_FLAG_SET, MS_DIRSYNC },           { "remount", MOUNT_FLAG_SET, MS_REMOUNT },
  { "lazytime", MOUNT_FLAG_SET, MS_LAZYTIME },         { "nolazytime", MOUNT_FLAG_CLEAR, MS_LAZYTIME },
  { "iversion", MOUNT_FLAG_SET, MS_I_VERSION },        { "noiversion", MOUNT_FLAG_CLEAR, MS_I_VERSION },
  { "silent", MOUNT_FLAG_SET, MS_SILENT },             { "loud", MOUNT_FLAG_CLEAR, MS_SILENT },
  { "nosymfollow", MOUNT_FLAG_SET, MS_NOSYMFOLLOW },   { "symfollow", MOUNT_FLAG_CLEAR, MS_NOSYMFOLLOW },
  { "bind", MOUNT_FLAG_SET, MS_BIND },                 { "rbind", MOUNT_FLAG_SET, MS_BIND | MS_REC },
  { "private", MOUNT_PROPAGATION, MS_PRIVATE },        { "rprivate", MOUNT_PROPAGATION, MS_PRIVATE | MS_REC },
  { "shared", MOUNT_PROPAGATION, MS_SHARED },          { "rshared", MOUNT_PROPAGATION, MS_SHARED | MS_REC },
  { "slave", MOUNT_PROPAGATION, MS_SLAVE },            { "rslave", MOUNT_PROPAGATION, MS_SLAVE | MS_REC },
  { "unbindable", MOUNT_PROPAGATION, MS_UNBINDABLE },  { "runbindable", MOUNT_PROPAGATION, MS_UNBINDABLE | MS_REC },
};

static const struct mount_option *
find_mount_option (const char *name)
{
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (mount_options); i++)
    if (strcmp (mount_options[i].name, name) == 0)
      return &mount_options[i];
  return NULL;
}

static void
append_data (char **data, const char *opt)
{
  char *d = *data ? xasprintf ("%s,%s", *data, opt) : xstrdup (opt);

  free (*data);
  *data = d;
}

/* The spec's recursive attributes (mount_setattr with AT_RECURSIVE) and idmapped mounts:
   not implemented, so refused rather than passed to the kernel as filesystem data.  */
static const char *const unsupported_mount_options[] = {
  "rro",   "rrw",     "rnosuid",     "rsuid",     "rnodev",      "rdev",        "rnoexec",
  "rexec", "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime",    "ratime",
  "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow", "idmap", "ridmap",
};

/* m->options into flags, propagation (the last one given wins) and data.  */
static int
parse_mount_options (struct berth_mount *m, const char *where, berth_error_t *err)
{
  char **o;
  size_t k;

  for (o = m->options; o && *o; o++)
    {
      const struct mount_option *opt = find_mount_option (*o);

      if (**o == '\0')
        return cfg_error (err, "%s.options[%zu] must not be empty", where, (size_t) (o - m->options));
      for (k = 0; k < BERTH_ARRAY_SIZE (unsupported_mount_options); k++)
        if (strcmp (*o, unsupported_mount_options[k]) == 0)
          return cfg_error (err, "%s.options[%zu] \"%s\" is not supported by berth-runtime yet", where,
                            (size_t) (o - m->options), *o);
      if (opt == NULL)
        append_data (&m->data, *o);
      else if (opt->kind == MOUNT_FLAG_SET)
        m->flags |= opt->flags;
      else if (opt->kind == MOUNT_FLAG_CLEAR)
        m->flags &= ~opt->flags;
      else
        m->propagation = opt->flags;
    }
  return 0;
}

/* An absolute path as is; a relative one resolved against the bundle directory.  */
static int
resolve_in_bundle (const char *bundle, const char *path, const char *where, char **out,
                   berth_error_t *err)
{
  size_t len;

  if (path[0] == '/')
    {
      *out = xstrdup (path);
      return 0;
    }
  if (bundle == NULL || bundle[0] != '/')
    return berth_make_error_op (err, EINVAL, CONFIG_OP,
                                "%s \"%s\" is relative and the bundle directory `%s` is not absolute",
                                where, path, bundle ? bundle : "");
  while (path[0] == '.' && path[1] == '/')
    for (path++; *path == '/'; path++)
      ;
  len = strlen (bundle);
  while (len > 1 && bundle[len - 1] == '/')
    len--;
  if (*path == '\0')
    *out = strndup (bundle, len);
  else
    *out = xasprintf ("%.*s/%s", len == 1 ? 0 : (int) len, bundle, path);
  if (*out == NULL)
    abort ();
  return 0;
}

/* A bind mount needs a source; a relative one is relative to the bundle (config.md "Mounts").  */
static int
resolve_bind_source (struct berth_mount *m, const char *where, const char *bundle,
                     berth_error_t *err)
{
  cleanup_free char *source = steal_pointer (&m->source);
  cleanup_free char *w = cfg_field_path (where, "source");

  if (source == NULL || *source == '\0')
    return cfg_error (err, "%s is required for a bind mount", w);
  return resolve_in_bundle (bundle, source, w, &m->source, err);
}

static int
parse_mount (json_object *v, const char *where, const char *bundle, struct berth_mount *m,
             berth_error_t *err)
{
  cleanup_free char *dest = cfg_field_path (where, "destination");

  if (cfg_require_object (v, where, err) < 0 || cfg_opt_string (v, where, "destination", &m->destination, err) < 0)
    return -1;
  if (m->destination == NULL)
    return cfg_error (err, "%s is required", dest);
  if (m->destination[0] != '/')
    return cfg_error (err, "%s \"%s\" must be an absolute path", dest, m->destination);
  if (cfg_opt_string (v, where, "type", &m->type, err) < 0 || cfg_opt_string (v, where, "source", &m->source, err) < 0
      || cfg_opt_strv (v, where, "options", &m->options, err) < 0)
    return -1;
  if (check_unsupported (v, where, mount_unsupported, BERTH_ARRAY_SIZE (mount_unsupported), err) < 0)
    return -1;
  if (parse_mount_options (m, where, err) < 0)
    return -1;
  if (m->type && strcmp (m->type, "bind") == 0)
    m->flags |= MS_BIND;
  /* A bind mount takes no filesystem data: the kernel ignores it ("mode=755" from a tmpfs
     entry turned into a bind).  Kept apart so create can say it is ignored.  */
  if (m->flags & MS_BIND)
    {
      m->bind_data = steal_pointer (&m->data);
      return resolve_bind_source (m, where, bundle, err);
    }
  return 0;
}

static int
parse_mounts (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  json_object *arr = cfg_member (root, "mounts");
  size_t i, n;

  if (arr == NULL)
    return 0;
  if (cfg_require_array (arr, "mounts", err) < 0)
    return -1;
  n = json_object_array_length (arr);
  if (n == 0)
    return 0;
  c->mounts = xmalloc0 (n * sizeof (struct berth_mount));
  c->n_mounts = n;
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = cfg_element_path ("mounts", i);

      if (parse_mount (json_object_array_get_idx (arr, i), w, bundle, &c->mounts[i], err) < 0)
        return -1;
    }
  return 0;
}

/* ---- linux.  */

struct namespace_name
{
  const char *name;
  int type; /* 0: a namespace Berth does not support yet */
};

static const struct namespace_name namespace_names[] = {
  { "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
  { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },     { "cgroup", CLONE_NEWCGROUP },
  { "user", CLONE_NEWUSER }, { "time", 0 },
};

static int
parse_namespace (json_object *v, const char *where, struct berth_config *c, size_t i,
                 berth_error_t *err)
{
  struct berth_namespace *ns = &c->namespaces[i];
  cleanup_free char *type = NULL;
  cleanup_free char *w = cfg_field_path (where, "type");
  size_t k;

  if (cfg_require_object (v, where, err) < 0 || cfg_opt_string (v, where, "type", &type, err) < 0
      || cfg_opt_string (v, where, "path", &ns->path, err) < 0)
    return -1;
  if (type == NULL)
    return cfg_error (err, "%s is required", w);
  for (k = 0; k < BERTH_ARRAY_SIZE (namespace_names); k++)
    if (strcmp (namespace_names[k].name, type) == 0)
      break;
  if (k == BERTH_ARRAY_SIZE (namespace_names))
    return cfg_error (err, "%s \"%s\" is not a namespace type", w, type);
  if (namespace_names[k].type == 0)
    return cfg_error (err, "%s \"%s\" is not supported", w, type);
  ns->type = namespace_names[k].type;
  if (ns->path && *ns->path == '\0')
    free (steal_pointer (&ns->path));
  if (ns->path && ns->path[0] != '/')
    return cfg_error (err, "%s.path \"%s\" must be an absolute path", where, ns->path);
  for (k = 0; k < i; k++)
    if (c->namespaces[k].type == ns->type)
      return cfg_error (err, "%s \"%s\" is given twice (also in linux.namespaces[%zu])", w, type, k);
  return 0;
}

static int
parse_namespaces (json_object *linux_, struct berth_config *c, berth_error_t *err)
{
  json_object *arr = cfg_member (linux_, "namespaces");
  size_t i, n;

  if (arr == NULL)
    return 0;
  if (cfg_require_array (arr, "linux.namespaces", err) < 0)
    return -1;
  n = json_object_array_length (arr);
  if (n == 0)
    return 0;
  c->namespaces = xmalloc0 (n * sizeof (struct berth_namespace));
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = cfg_element_path ("linux.namespaces", i);

      c->n_namespaces = i + 1;
      if (parse_namespace (json_object_array_get_idx (arr, i), w, c, i, err) < 0)
        return -1;
    }
  return 0;
}

static const struct mount_option *
find_propagation (const char *name)
{
  const struct mount_option *opt = find_mount_option (name);

  return opt && opt->kind == MOUNT_PROPAGATION ? opt : NULL;
}

static int
parse_rootfs_propagation (json_object *linux_, struct berth_config *c, berth_error_t *err)
{
  json_object *v = cfg_member (linux_, "rootfsPropagation");
  const struct mount_option *opt;
  const char *s;

  if (v == NULL)
    return 0;
  if (cfg_get_string (v, "linux.rootfsPropagation", &s, err) < 0)
    return -1;
  if (*s == '\0')
    return 0;
  opt = find_propagation (s);
  if (opt == NULL)
    return cfg_error (err,
                         "linux.rootfsPropagation \"%s\" must be one of private, rprivate, slave, "
                         "rslave, shared, rshared, unbindable, runbindable",
                         s);
  c->rootfs_propagation = opt->flags;
  return 0;
}

/* ---- linux.maskedPaths, linux.readonlyPaths, linux.devices (applied by rootfs.c).  */

/* An array of absolute paths; an empty array leaves *out NULL.  */
static int
parse_path_list (json_object *linux_, const char *key, char ***out, berth_error_t *err)
{
  json_object *v = cfg_member (linux_, key);
  cleanup_free char *where = NULL;
  size_t i;

  if (v == NULL)
    return 0;
  where = cfg_field_path ("linux", key);
  if (cfg_get_strv (v, where, false, out, err) < 0)
    return -1;
  if ((*out)[0] == NULL)
    {
      free (steal_pointer (out));
      return 0;
    }
  for (i = 0; (*out)[i]; i++)
    if ((*out)[i][0] != '/')
      return cfg_error (err, "%s[%zu] \"%s\" must be an absolute path", where, i, (*out)[i]);
  return 0;
}

/* The kernel's dev_t: 12 bits of major, 20 of minor.  */
#define MAX_DEV_MAJOR 4095
#define MAX_DEV_MINOR 1048575

static int
parse_device (json_object *v, const char *where, struct berth_config *c, size_t i, berth_error_t *err)
{
  struct berth_device *d = &c->devices[i];
  cleanup_free char *type = NULL;
  int64_t n = 0;
  size_t k;

  if (cfg_require_object (v, where, err) < 0 || cfg_opt_string (v, where, "path", &d->path, err) < 0
      || cfg_opt_string (v, where, "type", &type, err) < 0)
    return -1;
  if (d->path == NULL)
    return cfg_error (err, "%s.path is required", where);
  if (d->path[0] != '/')
    return cfg_error (err, "%s.path \"%s\" must be an absolute path", where, d->path);
  if (type == NULL)
    return cfg_error (err, "%s.type is required", where);
  if (strlen (type) != 1 || strchr ("cbup", type[0]) == NULL)
    return cfg_error (err, "%s.type \"%s\" must be one of c, b, u, p", where, type);
  d->type = type[0];
  /* A FIFO has no device numbers: major and minor are ignored.  */
  if (d->type != 'p')
    {
      if (cfg_req_int (v, where, "major", 0, MAX_DEV_MAJOR, &n, err) < 0)
        return -1;
      d->major = n;
      if (cfg_req_int (v, where, "minor", 0, MAX_DEV_MINOR, &n, err) < 0)
        return -1;
      d->minor = n;
    }
  if (cfg_opt_int (v, where, "fileMode", 0, 07777, &n, &d->has_file_mode, err) < 0)
    return -1;
  if (d->has_file_mode)
    d->file_mode = (mode_t) n;
  if (cfg_opt_int (v, where, "uid", 0, MAX_ID, &n, &d->has_uid, err) < 0)
    return -1;
  if (d->has_uid)
    d->uid = (uid_t) n;
  if (cfg_opt_int (v, where, "gid", 0, MAX_ID, &n, &d->has_gid, err) < 0)
    return -1;
  if (d->has_gid)
    d->gid = (gid_t) n;
  for (k = 0; k < i; k++)
    if (strcmp (c->devices[k].path, d->path) == 0)
      return cfg_error (err, "%s.path \"%s\" is given twice (also in linux.devices[%zu])", where, d->path,
                           k);
  return 0;
}

static int
parse_devices (json_object *linux_, struct berth_config *c, berth_error_t *err)
{
  json_object *arr = cfg_member (linux_, "devices");
  size_t i, n;

  if (arr == NULL)
    return 0;
  if (cfg_require_array (arr, "linux.devices", err) < 0)
    return -1;
  n = json_object_array_length (arr);
  if (n == 0)
    return 0;
  c->devices = xmalloc0 (n * sizeof (struct berth_device));
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = cfg_element_path ("linux.devices", i);

      c->n_devices = i + 1;
      if (parse_device (json_object_array_get_idx (arr, i), w, c, i, err) < 0)
        return -1;
    }
  return 0;
}

/* Each linux.devices entry is allowed in the device cgroup (after its rules), as runc and
   crun do: a config that lists a device means the container to use it.  A FIFO needs no
   rule.  */
static void
allow_config_devices (struct berth_config *c)
{
  struct berth_cgroup_resources *r = &c->resources;
  size_t i;

  if (! r->has_devices || c->n_devices == 0)
    return;
  r->config_devices = xmalloc0 (c->n_devices * sizeof (*r->config_devices));
  for (i = 0; i < c->n_devices; i++)
    {
      const struct berth_device *d = &c->devices[i];
      struct berth_cgroup_device_rule *rule = &r->config_devices[r->n_config_devices];

      if (d->type == 'p')
        continue;
      rule->allow = true;
      rule->type = d->type == 'b' ? 'b' : 'c'; /* 'u' (unbuffered) is a character device */
      rule->major = d->major;
      rule->minor = d->minor;
      strcpy (rule->access, "rwm");
      r->n_config_devices++;
    }
}

static int
parse_linux (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  json_object *linux_ = cfg_member (root, "linux");
  json_object *sysctl, *seccomp, *resources;

  (void) bundle;
  if (linux_ == NULL)
    return 0;
  if (cfg_require_object (linux_, "linux", err) < 0)
    return -1;
  if (check_unsupported (linux_, "linux", linux_unsupported, BERTH_ARRAY_SIZE (linux_unsupported), err) < 0)
    return -1;
  if (parse_namespaces (linux_, c, err) < 0)
    return -1;
  if (cfg_opt_string (linux_, "linux", "cgroupsPath", &c->cgroups_path, err) < 0)
    return -1;
  if (c->cgroups_path && *c->cgroups_path == '\0')
    free (steal_pointer (&c->cgroups_path));
  sysctl = cfg_member (linux_, "sysctl");
  if (sysctl
      && cfg_get_string_map (sysctl, "linux.sysctl", &c->sysctl_keys, &c->sysctl_values, &c->n_sysctl, err) < 0)
    return -1;
  if (parse_path_list (linux_, "maskedPaths", &c->masked_paths, err) < 0
      || parse_path_list (linux_, "readonlyPaths", &c->readonly_paths, err) < 0
      || parse_devices (linux_, c, err) < 0)
    return -1;
  if (berth_idmap_parse (linux_, "uidMappings", &c->uid_map, err) < 0
      || berth_idmap_parse (linux_, "gidMappings", &c->gid_map, err) < 0)
    return -1;
  resources = cfg_member (linux_, "resources");
  if (resources && berth_resources_parse (resources, &c->resources, err) < 0)
    return -1;
  allow_config_devices (c);
  seccomp = cfg_member (linux_, "seccomp");
  if (seccomp && berth_seccomp_parse (seccomp, "linux.seccomp", &c->seccomp, err) < 0)
    return -1;
  return parse_rootfs_propagation (linux_, c, err);
}

/* ---- hooks.  */

struct hook_kind
{
  const char *name;
  size_t offset; /* of the list in struct berth_hooks */
};

static const struct hook_kind hook_kinds[] = {
  { "prestart", offsetof (struct berth_hooks, prestart) },
  { "createRuntime", offsetof (struct berth_hooks, create_runtime) },
  { "createContainer", offsetof (struct berth_hooks, create_container) },
  { "startContainer", offsetof (struct berth_hooks, start_container) },
  { "poststart", offsetof (struct berth_hooks, poststart) },
  { "poststop", offsetof (struct berth_hooks, poststop) },
};

static int
parse_hook (json_object *v, const char *where, struct berth_hook *h, berth_error_t *err)
{
  cleanup_free char *w = cfg_field_path (where, "path");
  json_object *timeout;

  if (cfg_require_object (v, where, err) < 0 || cfg_opt_string (v, where, "path", &h->path, err) < 0)
    return -1;
  if (h->path == NULL)
    return cfg_error (err, "%s is required", w);
  if (h->path[0] != '/')
    return cfg_error (err, "%s \"%s\" must be an absolute path", w, h->path);
  if (cfg_opt_strv (v, where, "args", &h->args, err) < 0 || cfg_opt_strv (v, where, "env", &h->env, err) < 0)
    return -1;
  timeout = cfg_member (v, "timeout");
  if (timeout == NULL)
    return 0;
  if (!json_object_is_type (timeout, json_type_int) || json_object_get_int64 (timeout) <= 0
      || json_object_get_int64 (timeout) > INT_MAX)
    return cfg_error (err, "%s.timeout must be a positive integer (seconds)", where);
  h->timeout = (int) json_object_get_int64 (timeout);
  return 0;
}

static int
parse_hook_list (json_object *arr, const char *where, struct berth_hook_list *list,
                 berth_error_t *err)
{
  size_t i, n;

  if (cfg_require_array (arr, where, err) < 0)
    return -1;
  n = json_object_array_length (arr);
  if (n == 0)
    return 0;
  list->hooks = xmalloc0 (n * sizeof (struct berth_hook));
  list->n = n;
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = cfg_element_path (where, i);

      if (parse_hook (json_object_array_get_idx (arr, i), w, &list->hooks[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
parse_hooks (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  json_object *hooks = cfg_member (root, "hooks");
  size_t i;

  (void) bundle;
  if (hooks == NULL)
    return 0;
  if (cfg_require_object (hooks, "hooks", err) < 0)
    return -1;
  for (i = 0; i < BERTH_ARRAY_SIZE (hook_kinds); i++)
    {
      json_object *arr = cfg_member (hooks, hook_kinds[i].name);
      struct berth_hook_list *list = (struct berth_hook_list *) ((char *) &c->hooks + hook_kinds[i].offset);
      cleanup_free char *w = NULL;

      if (arr == NULL)
        continue;
      w = cfg_field_path ("hooks", hook_kinds[i].name);
      if (parse_hook_list (arr, w, list, err) < 0)
        return -1;
    }
  return 0;
}

/* ---- annotations (Berth's own are read by oci-annotations.c).  */

static int
parse_annotations (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  (void) bundle;
  return berth_annotations_parse (cfg_member (root, "annotations"), c, err);
}

/* ---- the top level.  */

typedef int (*config_step) (json_object *root, const char *bundle, struct berth_config *c,
                            berth_error_t *err);

static int
check_platforms (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  static const char *const platforms[] = { "windows", "solaris", "vm", "zos" };
  size_t i;

  (void) bundle;
  (void) c;
  for (i = 0; i < BERTH_ARRAY_SIZE (platforms); i++)
    if (cfg_member (root, platforms[i]))
      return cfg_error (err, "%s is not supported: Berth runs Linux containers", platforms[i]);
  return 0;
}

/* 1.0.x, 1.1.x or 1.2.x, with an optional "-pre.release" or "+build" suffix.  */
static bool
oci_version_supported (const char *v)
{
  const char *p = v + 4;

  if (strncmp (v, "1.", 2) != 0 || v[2] < '0' || v[2] > '2' || v[3] != '.')
    return false;
  if (*p < '0' || *p > '9')
    return false;
  p += strspn (p, "0123456789");
  return *p == '\0' || ((*p == '-' || *p == '+') && p[1] != '\0');
}

static int
parse_oci_version (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  (void) bundle;
  if (cfg_opt_string (root, "", "ociVersion", &c->oci_version, err) < 0)
    return -1;
  if (c->oci_version == NULL)
    return cfg_error (err, "ociVersion is required");
  if (!oci_version_supported (c->oci_version))
    return cfg_error (err, "ociVersion \"%s\" is not supported (use 1.0.x, 1.1.x or 1.2.x)",
                         c->oci_version);
  return 0;
}

static int
parse_root (json_object *json, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  json_object *root = cfg_member (json, "root");
  json_object *path;
  const char *s;

  if (root == NULL)
    return cfg_error (err, "root.path is required");
  if (cfg_require_object (root, "root", err) < 0)
    return -1;
  path = cfg_member (root, "path");
  if (path == NULL)
    return cfg_error (err, "root.path is required");
  if (cfg_get_string (path, "root.path", &s, err) < 0)
    return -1;
  if (*s == '\0')
    return cfg_error (err, "root.path must not be empty");
  if (resolve_in_bundle (bundle, s, "root.path", &c->root_path, err) < 0)
    return -1;
  return cfg_opt_bool (root, "root", "readonly", &c->root_readonly, err);
}

static int
parse_process_member (json_object *root, const char *bundle, struct berth_config *c,
                      berth_error_t *err)
{
  json_object *process = cfg_member (root, "process");

  (void) bundle;
  if (process == NULL)
    return 0;
  return process_from_json (process, "process", &c->process, err);
}

static int
parse_names (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  (void) bundle;
  if (cfg_opt_string (root, "", "hostname", &c->hostname, err) < 0
      || cfg_opt_string (root, "", "domainname", &c->domainname, err) < 0)
    return -1;
  /* An empty name means "not set".  */
  if (c->hostname && *c->hostname == '\0')
    free (steal_pointer (&c->hostname));
  if (c->domainname && *c->domainname == '\0')
    free (steal_pointer (&c->domainname));
  return 0;
}

struct sysctl_rule
{
  const char *prefix;
  bool exact;
  int ns;
  const char *ns_name;
};

/* The namespaced sysctls, as runc allows them.  */
static const struct sysctl_rule sysctl_rules[] = {
  { "kernel.msg", false, CLONE_NEWIPC, "ipc" },
  { "kernel.sem", true, CLONE_NEWIPC, "ipc" },
  { "kernel.shm", false, CLONE_NEWIPC, "ipc" },
  { "fs.mqueue.", false, CLONE_NEWIPC, "ipc" },
  { "net.", false, CLONE_NEWNET, "network" },
  { "kernel.hostname", true, CLONE_NEWUTS, "uts" },
  { "kernel.domainname", true, CLONE_NEWUTS, "uts" },
};

static int
check_sysctl (const struct berth_config *c, const char *key, berth_error_t *err)
{
  size_t i, len;

  for (i = 0; i < BERTH_ARRAY_SIZE (sysctl_rules); i++)
    {
      const struct sysctl_rule *r = &sysctl_rules[i];

      len = strlen (r->prefix);
      if (r->exact ? strcmp (key, r->prefix) != 0 : (strncmp (key, r->prefix, len) != 0 || key[len] == '\0'))
        continue;
      if (!berth_config_has_namespace (c, r->ns))
        return cfg_error (err, "linux.sysctl \"%s\" needs a new %s namespace in linux.namespaces", key,
                             r->ns_name);
      return 0;
    }
  return cfg_error (err, "linux.sysctl \"%s\" is not a namespaced sysctl and cannot be set for a container",
                       key);
}

/* What the spec asks runtimes to refuse once all fields are read.  */
/* A new user namespace needs both maps, and the process's ids must be in them; maps
   without one mean nothing.  */
static int
check_user_namespace (const struct berth_config *c, berth_error_t *err)
{
  const struct berth_namespace *user = berth_config_namespace (c, CLONE_NEWUSER);
  const struct berth_process *p = c->process;
  size_t i;

  if (user == NULL)
    {
      if (c->uid_map.n || c->gid_map.n)
        return cfg_error (err, "linux.uidMappings and linux.gidMappings need a user namespace in linux.namespaces");
      return 0;
    }
  if (user->path)
    return cfg_error (err, "joining a user namespace (linux.namespaces user path) is not supported yet");
  if (c->uid_map.n == 0 || c->gid_map.n == 0)
    return cfg_error (err, "a new user namespace needs linux.uidMappings and linux.gidMappings");
  if (p == NULL)
    return 0;
  if (berth_idmap_to_host (&c->uid_map, p->uid) < 0)
    return cfg_error (err, "process.user.uid %u is not in linux.uidMappings", (unsigned) p->uid);
  if (berth_idmap_to_host (&c->gid_map, p->gid) < 0)
    return cfg_error (err, "process.user.gid %u is not in linux.gidMappings", (unsigned) p->gid);
  for (i = 0; i < p->n_additional_gids; i++)
    if (berth_idmap_to_host (&c->gid_map, p->additional_gids[i]) < 0)
      return cfg_error (err, "process.user.additionalGids[%zu] %u is not in linux.gidMappings", i,
                        (unsigned) p->additional_gids[i]);
  return 0;
}

static int
check_semantics (json_object *root, const char *bundle, struct berth_config *c, berth_error_t *err)
{
  size_t i;

  (void) root;
  (void) bundle;
  if (c->hostname && !berth_config_has_namespace (c, CLONE_NEWUTS))
    return cfg_error (err, "hostname needs a new uts namespace in linux.namespaces");
  if (c->domainname && !berth_config_has_namespace (c, CLONE_NEWUTS))
    return cfg_error (err, "domainname needs a new uts namespace in linux.namespaces");
  for (i = 0; i < c->n_sysctl; i++)
    if (check_sysctl (c, c->sysctl_keys[i], err) < 0)
      return -1;
  return check_user_namespace (c, err);
}

static const config_step config_steps[] = {
  check_platforms, parse_oci_version, parse_root,        parse_process_member, parse_names,
  parse_mounts,    parse_linux,       parse_hooks,       parse_annotations,    check_semantics,
};

/* Line and column (1-based) of byte offset `off` in json.  */
static void
line_column (const char *json, size_t off, size_t *line, size_t *column)
{
  size_t i, start = 0;

  *line = 1;
  for (i = 0; i < off; i++)
    if (json[i] == '\n')
      {
        (*line)++;
        start = i + 1;
      }
  *column = off - start + 1;
}

static void
cleanup_tokenerp (struct json_tokener **tok)
{
  if (*tok)
    json_tokener_free (*tok);
}

static int
parse_json (const char *json, size_t len, json_object **out, berth_error_t *err)
{
  __attribute__ ((cleanup (cleanup_tokenerp))) struct json_tokener *tok = NULL;
  enum json_tokener_error jerr;
  size_t line, column, end;

  if (len > INT_MAX - 1)
    return cfg_error (err, "the file is too large (%zu bytes)", len);
  tok = json_tokener_new ();
  if (tok == NULL)
    abort ();
  json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  *out = json_tokener_parse_ex (tok, json, (int) len);
  jerr = json_tokener_get_error (tok);
  if (jerr == json_tokener_continue)
    {
      /* End of input: a NUL byte finishes a top-level number, or shows truncation.  */
      *out = json_tokener_parse_ex (tok, "", 1);
      jerr = json_tokener_get_error (tok);
      if (jerr != json_tokener_success)
        return cfg_error (err, "invalid JSON: unexpected end of input");
      return 0;
    }
  end = json_tokener_get_parse_end (tok);
  if (jerr == json_tokener_success && end >= len)
    return 0;
  line_column (json, end < len ? end : len, &line, &column);
  return cfg_error (err, "invalid JSON at line %zu, column %zu: %s", line, column,
                       jerr == json_tokener_success ? "unexpected data after the JSON value"
                                                    : json_tokener_error_desc (jerr));
}

static int
config_from_json (json_object *root, const char *bundle, struct berth_config **out, berth_error_t *err)
{
  cleanup_config struct berth_config *c = NULL;
  size_t i;

  if (!json_object_is_type (root, json_type_object))
    return cfg_error (err, "the top level must be a JSON object");
  c = xmalloc0 (sizeof (*c));
  berth_cgroup_resources_init (&c->resources);
  c->log_max_size = DEFAULT_LOG_MAX_SIZE;
  c->log_max_files = DEFAULT_LOG_MAX_FILES;
  for (i = 0; i < BERTH_ARRAY_SIZE (config_steps); i++)
    if (config_steps[i](root, bundle, c, err) < 0)
      return -1;
  *out = steal_pointer (&c);
  return 0;
}

int
berth_config_parse (const char *json, size_t len, const char *bundle, struct berth_config **out,
                    berth_error_t *err)
{
  cleanup_json json_object *root = NULL;
  int ret;

  ret = parse_json (json, len, &root, err);
  if (ret == 0)
    ret = config_from_json (root, bundle, out, err);
  if (ret < 0)
    return berth_error_wrap (err, "config.json");
  return 0;
}

int
berth_config_load (const char *bundle, struct berth_config **out, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  size_t len = 0;
  int ret;

  if (bundle == NULL || bundle[0] != '/')
    return berth_make_error_op (err, EINVAL, CONFIG_OP, "bundle `%s` must be an absolute path",
                                bundle ? bundle : "");
  path = xasprintf ("%s/config.json", bundle);
  ret = berth_read_file (path, &data, &len, err);
  if (ret < 0)
    return ret;
  return berth_config_parse (data, len, bundle, out, err);
}

int
berth_process_parse (const char *json, size_t len, struct berth_process **out, berth_error_t *err)
{
  cleanup_json json_object *root = NULL;
  int ret;

  ret = parse_json (json, len, &root, err);
  if (ret == 0)
    ret = process_from_json (root, "", out, err);
  if (ret < 0)
    return berth_error_wrap (err, "process.json");
  return 0;
}

/* ---- lookups.  */

const struct berth_namespace *
berth_config_namespace (const struct berth_config *c, int type)
{
  size_t i;

  for (i = 0; i < c->n_namespaces; i++)
    if (c->namespaces[i].type == type)
      return &c->namespaces[i];
  return NULL;
}

bool
berth_config_has_namespace (const struct berth_config *c, int type)
{
  return berth_config_namespace (c, type) != NULL;
}

/* ---- freeing.  */

void
berth_process_free (struct berth_process *p)
{
  size_t i;

  if (p == NULL)
    return;
  free (p->additional_gids);
  cfg_free_strv (p->args);
  cfg_free_strv (p->env);
  free (p->cwd);
  for (i = 0; i < p->n_rlimits; i++)
    free (p->rlimits[i].type);
  free (p->rlimits);
  free (p);
}

static void
free_mounts (struct berth_mount *mounts, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      free (mounts[i].destination);
      free (mounts[i].type);
      free (mounts[i].source);
      cfg_free_strv (mounts[i].options);
      free (mounts[i].data);
      free (mounts[i].bind_data);
    }
  free (mounts);
}

static void
free_hook_list (struct berth_hook_list *list)
{
  size_t i;

  for (i = 0; i < list->n; i++)
    {
      free (list->hooks[i].path);
      cfg_free_strv (list->hooks[i].args);
      cfg_free_strv (list->hooks[i].env);
    }
  free (list->hooks);
}

static void
free_string_map (char **keys, char **values, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      free (keys ? keys[i] : NULL);
      free (values ? values[i] : NULL);
    }
  free (keys);
  free (values);
}

void
berth_config_free (struct berth_config *c)
{
  size_t i;

  if (c == NULL)
    return;
  free (c->oci_version);
  berth_process_free (c->process);
  free (c->root_path);
  free (c->hostname);
  free (c->domainname);
  free_mounts (c->mounts, c->n_mounts);
  for (i = 0; i < c->n_namespaces; i++)
    free (c->namespaces[i].path);
  free (c->namespaces);
  free (c->cgroups_path);
  free_string_map (c->sysctl_keys, c->sysctl_values, c->n_sysctl);
  for (i = 0; i < BERTH_ARRAY_SIZE (hook_kinds); i++)
    free_hook_list ((struct berth_hook_list *) ((char *) &c->hooks + hook_kinds[i].offset));
  free_string_map (c->annotation_keys, c->annotation_values, c->n_annotations);
  cfg_free_strv (c->masked_paths);
  cfg_free_strv (c->readonly_paths);
  for (i = 0; i < c->n_devices; i++)
    free (c->devices[i].path);
  free (c->devices);
  cfg_free_strv (c->overlay_lower);
  free (c->overlay_writable);
  free (c->log_path);
  berth_seccomp_free (c->seccomp);
  berth_cgroup_resources_release (&c->resources);
  berth_idmap_release (&c->uid_map);
  berth_idmap_release (&c->gid_map);
  free (c);
}
