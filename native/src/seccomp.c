/*
 * Berth runtime: linux.seccomp (runtime-spec config-linux.md "Seccomp") with libseccomp.
 * See seccomp.h.
 *
 * berth_seccomp_parse checks every field and resolves the syscall names, so that the
 * container process, which calls berth_seccomp_load as its last step before execve, only
 * builds and loads the filter.  Parse errors are validation errors (op "config", status 0)
 * naming the field's JSON path below `where` and the offending value; the caller prefixes
 * "config.json: ".  Load errors name the libseccomp call and its object (the syscall, the
 * architecture) with the errno it returned.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config-json.h"
#include "seccomp.h"
#include "utils.h"

#define MAX_ARGS 6          /* syscall arguments, and libseccomp's limit of comparisons per rule */
#define MAX_ERRNO_RET 65535 /* SECCOMP_RET_DATA is 16 bits */

struct seccomp_rule
{
  char *name; /* as written in the profile, for errors */
  int nr;     /* seccomp_syscall_resolve_name: native or pseudo (__PNR_*) number */
  uint32_t action;
  unsigned int n_args;
  struct scmp_arg_cmp args[MAX_ARGS];
};

struct berth_seccomp
{
  uint32_t default_action;
  const char *default_action_name; /* static */
  uint32_t *arches;
  char **arch_names;               /* as written, for errors */
  size_t n_arches;
  unsigned int flags;              /* bit i: seccomp_flags[i] */
  struct seccomp_rule *rules;
  size_t n_rules;
  char *source;  /* linux.seccomp as parsed (plain JSON): the cache key's content */
  void *bpf;     /* the compiled program, once berth_seccomp_compile ran */
  size_t bpf_len;
};

struct seccomp_action
{
  const char *name;
  uint32_t action; /* without the errno/trace data */
  bool takes_data; /* SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry errnoRet */
};

static const struct seccomp_action seccomp_actions[] = {
  { "SCMP_ACT_KILL", SCMP_ACT_KILL, false },
  { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
  { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
  { "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
  { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO (0), true },
  { "SCMP_ACT_TRACE", SCMP_ACT_TRACE (0), true },
  { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
  { "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
};

struct seccomp_flag
{
  const char *name;
  enum scmp_filter_attr attr;
};

/* The runtime-spec flags libseccomp 2.5 can set.  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
   only matters with SCMP_ACT_NOTIFY (and needs libseccomp 2.6).  */
static const struct seccomp_flag seccomp_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC },
  { "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB },
};

struct seccomp_op
{
  const char *name;
  enum scmp_compare op;
};

static const struct seccomp_op seccomp_ops[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE },         { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ },         { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* ---- typed access to the JSON tree (the rest is in config-json.h).  */

/* An optional array member: *out is NULL when it is absent or null.  */
static int
opt_array (json_object *obj, const char *where, const char *key, json_object **out, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);

  *out = v;
  if (v != NULL && !json_object_is_type (v, json_type_array))
    return cfg_error (err, "%s.%s must be an array", where, key);
  return 0;
}

/* ---- actions.  */

static const struct seccomp_action *
find_action (const char *name)
{
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (seccomp_actions); i++)
    if (strcmp (seccomp_actions[i].name, name) == 0)
      return &seccomp_actions[i];
  return NULL;
}

/* The action obj[action_key], with the data of obj[errno_key] (EPERM when absent, as runc
   and crun) for SCMP_ACT_ERRNO and SCMP_ACT_TRACE.  */
static int
parse_action (json_object *obj, const char *where, const char *action_key, const char *errno_key,
              uint32_t *action, const char **action_name, berth_error_t *err)
{
  json_object *v = cfg_member (obj, action_key);
  json_object *e = cfg_member (obj, errno_key);
  cleanup_free char *w = xasprintf ("%s.%s", where, action_key);
  const struct seccomp_action *a;
  int64_t errno_ret = EPERM;
  const char *name;

  if (v == NULL)
    return cfg_error (err, "%s is required", w);
  if (cfg_get_string (v, w, &name, err) < 0)
    return -1;
  if (strcmp (name, "SCMP_ACT_NOTIFY") == 0)
    return cfg_error (err, "%s \"%s\" is not supported", w, name);
  a = find_action (name);
  if (a == NULL)
    return cfg_error (err, "%s \"%s\" is not a seccomp action", w, name);

  if (e != NULL)
    {
      cleanup_free char *we = xasprintf ("%s.%s", where, errno_key);

      if (!a->takes_data)
        return cfg_error (err, "%s is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", we,
                             name);
      if (cfg_get_int (e, we, 0, MAX_ERRNO_RET, &errno_ret, err) < 0)
        return -1;
    }

  *action = a->takes_data ? a->action | (uint32_t) errno_ret : a->action;
  if (action_name)
    *action_name = a->name;
  return 0;
}

/* ---- architectures and flags.  */

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64".  */
static uint32_t
resolve_arch (const char *name)
{
  static const char prefix[] = "SCMP_ARCH_";
  cleanup_free char *lower = NULL;
  char *p;

  if (strncmp (name, prefix, sizeof (prefix) - 1) != 0 || name[sizeof (prefix) - 1] == '\0')
    return 0;
  lower = xstrdup (name + sizeof (prefix) - 1);
  for (p = lower; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  return seccomp_arch_resolve_name (lower);
}

static int
parse_architectures (json_object *obj, const char *where, struct berth_seccomp *s, berth_error_t *err)
{
  json_object *arr;
  size_t i, n;

  if (opt_array (obj, where, "architectures", &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;

  n = json_object_array_length (arr);
  s->arches = xmalloc0 ((n + 1) * sizeof (*s->arches));
  s->arch_names = xmalloc0 ((n + 1) * sizeof (*s->arch_names));
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = xasprintf ("%s.architectures[%zu]", where, i);
      const char *name;
      uint32_t arch;

      if (cfg_get_string (json_object_array_get_idx (arr, i), w, &name, err) < 0)
        return -1;
      arch = resolve_arch (name);
      if (arch == 0)
        return cfg_error (err, "%s \"%s\" is not a seccomp architecture", w, name);
      s->arches[i] = arch;
      s->arch_names[i] = xstrdup (name);
      s->n_arches = i + 1;
    }
  return 0;
}

static int
parse_flags (json_object *obj, const char *where, struct berth_seccomp *s, berth_error_t *err)
{
  json_object *arr;
  size_t i, j, n;

  if (opt_array (obj, where, "flags", &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;

  n = json_object_array_length (arr);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = xasprintf ("%s.flags[%zu]", where, i);
      const char *name;

      if (cfg_get_string (json_object_array_get_idx (arr, i), w, &name, err) < 0)
        return -1;
      for (j = 0; j < BERTH_ARRAY_SIZE (seccomp_flags); j++)
        if (strcmp (seccomp_flags[j].name, name) == 0)
          break;
      if (j < BERTH_ARRAY_SIZE (seccomp_flags))
        s->flags |= 1U << j;
      else if (strcmp (name, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
        return cfg_error (err, "%s \"%s\" is not supported", w, name);
      else
        return cfg_error (err, "%s \"%s\" is not a seccomp filter flag", w, name);
    }
  return 0;
}

/* ---- syscalls.  */

static int
parse_arg (json_object *v, const char *where, struct scmp_arg_cmp *cmp, berth_error_t *err)
{
  cleanup_free char *w_index = xasprintf ("%s.index", where);
  cleanup_free char *w_value = xasprintf ("%s.value", where);
  cleanup_free char *w_value_two = xasprintf ("%s.valueTwo", where);
  cleanup_free char *w_op = xasprintf ("%s.op", where);
  json_object *index = cfg_member (v, "index"), *value = cfg_member (v, "value");
  json_object *value_two = cfg_member (v, "valueTwo"), *op = cfg_member (v, "op");
  uint64_t datum_a = 0, datum_b = 0;
  const char *op_name;
  int64_t arg;
  size_t i;

  if (!json_object_is_type (v, json_type_object))
    return cfg_error (err, "%s must be an object", where);
  if (index == NULL)
    return cfg_error (err, "%s is required", w_index);
  if (cfg_get_int (index, w_index, 0, MAX_ARGS - 1, &arg, err) < 0)
    return -1;
  if (value == NULL)
    return cfg_error (err, "%s is required", w_value);
  if (cfg_get_uint64 (value, w_value, &datum_a, err) < 0)
    return -1;
  if (value_two != NULL && cfg_get_uint64 (value_two, w_value_two, &datum_b, err) < 0)
    return -1;
  if (op == NULL)
    return cfg_error (err, "%s is required", w_op);
  if (cfg_get_string (op, w_op, &op_name, err) < 0)
    return -1;
  for (i = 0; i < BERTH_ARRAY_SIZE (seccomp_ops); i++)
    if (strcmp (seccomp_ops[i].name, op_name) == 0)
      break;
  if (i == BERTH_ARRAY_SIZE (seccomp_ops))
    return cfg_error (err, "%s \"%s\" is not a seccomp operator", w_op, op_name);

  /* For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the value: as libseccomp.  */
  cmp->arg = (unsigned int) arg;
  cmp->op = seccomp_ops[i].op;
  cmp->datum_a = datum_a;
  cmp->datum_b = datum_b;
  return 0;
}

/* One element of syscalls: appended to s->rules, one rule per name libseccomp knows.  */
static int
parse_syscall (json_object *v, const char *where, struct berth_seccomp *s, berth_error_t *err)
{
  cleanup_free char *w_names = xasprintf ("%s.names", where);
  struct scmp_arg_cmp args[MAX_ARGS];
  json_object *names, *arr;
  unsigned int n_args = 0;
  uint32_t action;
  size_t i, n;

  if (!json_object_is_type (v, json_type_object))
    return cfg_error (err, "%s must be an object", where);

  names = cfg_member (v, "names");
  if (names == NULL || !json_object_is_type (names, json_type_array) || json_object_array_length (names) == 0)
    return cfg_error (err, "%s must be a non-empty array of strings", w_names);
  n = json_object_array_length (names);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = xasprintf ("%s[%zu]", w_names, i);
      const char *name;

      if (cfg_get_string (json_object_array_get_idx (names, i), w, &name, err) < 0)
        return -1;
    }

  if (parse_action (v, where, "action", "errnoRet", &action, NULL, err) < 0)
    return -1;

  if (opt_array (v, where, "args", &arr, err) < 0)
    return -1;
  if (arr != NULL)
    {
      size_t n_arr = json_object_array_length (arr);

      if (n_arr > MAX_ARGS)
        return cfg_error (err, "%s.args has %zu entries: libseccomp allows at most %d", where, n_arr,
                             MAX_ARGS);
      for (i = 0; i < n_arr; i++)
        {
          cleanup_free char *w = xasprintf ("%s.args[%zu]", where, i);

          if (parse_arg (json_object_array_get_idx (arr, i), w, &args[i], err) < 0)
            return -1;
        }
      n_args = (unsigned int) n_arr;
    }

  /* libseccomp refuses a rule whose action is the default one; it would change nothing.  */
  if (action == s->default_action)
    return 0;

  for (i = 0; i < n; i++)
    {
      const char *name = json_object_get_string (json_object_array_get_idx (names, i));
      int nr = seccomp_syscall_resolve_name (name);
      struct seccomp_rule *r;

      /* Profiles list the syscalls of every architecture and of newer kernels.  */
      if (nr == __NR_SCMP_ERROR)
        continue;
      r = &s->rules[s->n_rules++];
      r->name = xstrdup (name);
      r->nr = nr;
      r->action = action;
      r->n_args = n_args;
      memcpy (r->args, args, n_args * sizeof (args[0]));
    }
  return 0;
}

static int
parse_syscalls (json_object *obj, const char *where, struct berth_seccomp *s, berth_error_t *err)
{
  size_t i, n, total = 0;
  json_object *arr;

  if (opt_array (obj, where, "syscalls", &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;

  /* Room for every name first, so that the rules array never moves.  */
  n = json_object_array_length (arr);
  for (i = 0; i < n; i++)
    {
      json_object *names = cfg_member (json_object_array_get_idx (arr, i), "names");

      if (names != NULL && json_object_is_type (names, json_type_array))
        total += json_object_array_length (names);
    }
  s->rules = xmalloc0 ((total + 1) * sizeof (*s->rules));

  for (i = 0; i < n; i++)
    {
      cleanup_free char *w = xasprintf ("%s.syscalls[%zu]", where, i);

      if (parse_syscall (json_object_array_get_idx (arr, i), w, s, err) < 0)
        return -1;
    }
  return 0;
}

static void
cleanup_seccompp (struct berth_seccomp **s)
{
  berth_seccomp_free (*s);
}
#define cleanup_seccomp __attribute__ ((cleanup (cleanup_seccompp)))

int
berth_seccomp_parse (json_object *obj, const char *where, struct berth_seccomp **out, berth_error_t *err)
{
  cleanup_seccomp struct berth_seccomp *s = NULL;
  json_object *listener;

  if (!json_object_is_type (obj, json_type_object))
    return cfg_error (err, "%s must be an object", where);

  s = xmalloc0 (sizeof (*s));
  if (parse_action (obj, where, "defaultAction", "defaultErrnoRet", &s->default_action,
                    &s->default_action_name, err) < 0)
    return -1;

  /* listenerPath only serves SCMP_ACT_NOTIFY, which is refused above.  */
  listener = cfg_member (obj, "listenerPath");
  if (listener != NULL)
    return cfg_error (err, "%s.listenerPath is not supported (no SCMP_ACT_NOTIFY)", where);

  if (parse_architectures (obj, where, s, err) < 0 || parse_flags (obj, where, s, err) < 0
      || parse_syscalls (obj, where, s, err) < 0)
    return -1;
  s->source = xstrdup (json_object_to_json_string_ext (obj, JSON_C_TO_STRING_PLAIN));

  *out = steal_pointer (&s);
  return 0;
}

void
berth_seccomp_free (struct berth_seccomp *s)
{
  size_t i;

  if (s == NULL)
    return;
  for (i = 0; i < s->n_rules; i++)
    free (s->rules[i].name);
  free (s->rules);
  for (i = 0; i < s->n_arches; i++)
    free (s->arch_names[i]);
  free (s->arch_names);
  free (s->arches);
  free (s->source);
  free (s->bpf);
  free (s);
}

/* ---- loading.  */

static void
cleanup_scmp_ctxp (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}
#define cleanup_scmp_ctx __attribute__ ((cleanup (cleanup_scmp_ctxp)))

static int
set_attr (scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value, const char *what,
          berth_error_t *err)
{
  int ret = seccomp_attr_set (ctx, attr, value);

  if (ret < 0)
    return berth_make_error_op (err, -ret, "seccomp_attr_set", "seccomp_attr_set %s", what);
  return 0;
}

/* The libseccomp context for s: default action, attributes, architectures, rules.  */
static int
build_ctx (const struct berth_seccomp *s, scmp_filter_ctx *out, berth_error_t *err)
{
  cleanup_scmp_ctx scmp_filter_ctx ctx = NULL;
  size_t i;
  int ret;

  /* The native architecture is in the filter from the start.  */
  ctx = seccomp_init (s->default_action);
  if (ctx == NULL)
    return berth_make_error_op (err, EINVAL, "seccomp_init", "seccomp_init with default action %s",
                                s->default_action_name);

  /* no_new_privs is process.noNewPrivileges' business, not libseccomp's; and seccomp_load
     should report the kernel's errno rather than ECANCELED.  */
  if (set_attr (ctx, SCMP_FLTATR_CTL_NNP, 0, "no_new_privs off", err) < 0
      || set_attr (ctx, SCMP_FLTATR_API_SYSRAWRC, 1, "raw return codes", err) < 0)
    return -1;
  for (i = 0; i < BERTH_ARRAY_SIZE (seccomp_flags); i++)
    if ((s->flags & (1U << i)) && set_attr (ctx, seccomp_flags[i].attr, 1, seccomp_flags[i].name, err) < 0)
      return -1;

  for (i = 0; i < s->n_arches; i++)
    {
      ret = seccomp_arch_add (ctx, s->arches[i]);
      if (ret < 0 && ret != -EEXIST)
        return berth_make_error_op (err, -ret, "seccomp_arch_add", "seccomp_arch_add %s", s->arch_names[i]);
    }

  for (i = 0; i < s->n_rules; i++)
    {
      const struct seccomp_rule *r = &s->rules[i];

      ret = seccomp_rule_add_array (ctx, r->action, r->nr, r->n_args, r->args);
      if (ret < 0)
        return berth_make_error_op (err, -ret, "seccomp_rule_add", "seccomp_rule_add `%s`", r->name);
    }
  *out = steal_pointer (&ctx);
  return 0;
}

/* ---- the compiled-filter cache.
   Turning Docker's profile (hundreds of rules, several architectures) into BPF costs libseccomp
   about 30 ms of CPU, more than the rest of a container start.  The program only depends on
   the profile, the libseccomp version and the architecture, so it is compiled once and kept
   in <cache_dir>/<hash>.bpf as: the key text, a NUL, then the program.  The key text is
   compared in full on every read, so a hash collision can only cost a recompile.  */

static char *
cache_key (const struct berth_seccomp *s)
{
  const struct scmp_version *v = seccomp_version ();
  return xasprintf ("libseccomp %u.%u.%u arch %u\n%s", v->major, v->minor, v->micro, seccomp_arch_native (), s->source);
}

static uint64_t
fnv1a (const char *text)
{
  uint64_t h = 14695981039346656037ULL;
  for (; *text; text++)
    h = (h ^ (unsigned char) *text) * 1099511628211ULL;
  return h;
}

static int
read_cache (struct berth_seccomp *s, const char *path, const char *key)
{
  cleanup_free char *data = NULL;
  berth_error_t ignored = NULL;
  size_t len, key_len = strlen (key);

  if (berth_read_file (path, &data, &len, &ignored) < 0)
    {
      berth_error_release (&ignored);
      return -1;
    }
  if (len <= key_len + 1 || memcmp (data, key, key_len + 1) != 0 || (len - key_len - 1) % sizeof (struct sock_filter) != 0)
    return -1;
  s->bpf_len = len - key_len - 1;
  s->bpf = xmalloc0 (s->bpf_len);
  memcpy (s->bpf, data + key_len + 1, s->bpf_len);
  return 0;
}

int
berth_seccomp_compile (struct berth_seccomp *s, const char *cache_dir, berth_error_t *err)
{
  cleanup_free char *key = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *file = NULL;
  cleanup_scmp_ctx scmp_filter_ctx ctx = NULL;
  size_t len = 0;
  int ret;

  if (s == NULL || s->bpf)
    return 0;
  key = cache_key (s);
  path = xasprintf ("%s/%016llx.bpf", cache_dir, (unsigned long long) fnv1a (key));
  if (read_cache (s, path, key) == 0)
    return 0;

  if (build_ctx (s, &ctx, err) < 0)
    return -1;
  /* libseccomp 2.5 exports to a file descriptor only: a memfd, read back.  */
  {
    cleanup_close int fd = memfd_create ("berth-seccomp", MFD_CLOEXEC);
    cleanup_free char *path_fd = NULL;
    cleanup_free char *data = NULL;

    if (fd < 0)
      return berth_make_error_op (err, errno, "memfd_create", "memfd for the seccomp program");
    ret = seccomp_export_bpf (ctx, fd);
    if (ret < 0)
      return berth_make_error_op (err, -ret, "seccomp_export_bpf", "export the seccomp program");
    path_fd = xasprintf ("/proc/self/fd/%d", fd);
    if (berth_read_file (path_fd, &data, &len, err) < 0)
      return berth_error_wrap (err, "read the exported seccomp program");
    s->bpf = steal_pointer (&data);
    s->bpf_len = len;
  }

  /* The cache is an optimisation: failing to write it is not an error.  */
  file = xmalloc0 (strlen (key) + 1 + len);
  memcpy (file, key, strlen (key) + 1);
  memcpy (file + strlen (key) + 1, s->bpf, len);
  {
    berth_error_t ignored = NULL;
    if (berth_mkdir_p (cache_dir, 0700, &ignored) < 0
        || berth_write_file_replace (path, file, strlen (key) + 1 + len, 0600, &ignored) < 0)
      berth_error_release (&ignored);
  }
  return 0;
}

int
berth_seccomp_load (const struct berth_seccomp *s, berth_error_t *err)
{
  cleanup_scmp_ctx scmp_filter_ctx ctx = NULL;
  int ret;

  if (s->bpf)
    {
      /* The program compiled (or read from the cache) before the container was made.  */
      static const unsigned int kernel_flags[] = { SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG,
                                                   SECCOMP_FILTER_FLAG_SPEC_ALLOW };
      struct sock_fprog prog = { .len = (unsigned short) (s->bpf_len / sizeof (struct sock_filter)), .filter = s->bpf };
      unsigned int flags = 0;
      size_t i;

      for (i = 0; i < BERTH_ARRAY_SIZE (kernel_flags); i++)
        if (s->flags & (1U << i))
          flags |= kernel_flags[i];
      if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0)
        {
          if (errno == EACCES)
            return berth_make_error_op (err, EACCES, "seccomp", "load the seccomp filter (needs no_new_privs or CAP_SYS_ADMIN)");
          return berth_make_error_op (err, errno, "seccomp", "load the seccomp filter");
        }
      return 0;
    }

  if (build_ctx (s, &ctx, err) < 0)
    return -1;
  ret = seccomp_load (ctx);
  if (ret == -EACCES)
    return berth_make_error_op (err, EACCES, "seccomp_load",
                                "seccomp_load (needs no_new_privs or CAP_SYS_ADMIN)");
  if (ret < 0)
    return berth_make_error_op (err, -ret, "seccomp_load", "seccomp_load");
  return 0;
}
