/*
 * Berth runtime: typed access to a json-c tree for config.json and the objects in it
 * (process, linux.seccomp, linux.resources, capabilities).  See config-json.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "config-json.h"
#include "utils.h"

/* ---- errors and JSON paths.  */

/* A validation error (not a system error): op "config", status 0.  */
int
cfg_error (berth_error_t *err, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  return berth_make_error_op (err, 0, CONFIG_OP, "%s", msg);
}

/* "parent.key", or "key" at the top level (parent "").  */
char *
cfg_field_path (const char *parent, const char *key)
{
  return *parent ? xasprintf ("%s.%s", parent, key) : xstrdup (key);
}

/* "parent[i]".  */
char *
cfg_element_path (const char *parent, size_t i)
{
  return xasprintf ("%s[%zu]", parent, i);
}

void
cfg_free_strv (char **v)
{
  char **p;

  if (v == NULL)
    return;
  for (p = v; *p; p++)
    free (*p);
  free (v);
}

void
cleanup_jsonp (json_object **o)
{
  json_object_put (*o);
}


/* ---- typed access to the JSON tree.  */

/* The member `key` of obj, or NULL when it is absent or null.  */
json_object *
cfg_member (json_object *obj, const char *key)
{
  json_object *v = NULL;

  if (!json_object_object_get_ex (obj, key, &v))
    return NULL;
  return v;
}

bool
cfg_is_string (json_object *v)
{
  return json_object_is_type (v, json_type_string)
         && strlen (json_object_get_string (v)) == (size_t) json_object_get_string_len (v);
}

int
cfg_require_object (json_object *v, const char *where, berth_error_t *err)
{
  if (!json_object_is_type (v, json_type_object))
    return cfg_error (err, "%s must be an object", where);
  return 0;
}

int
cfg_require_array (json_object *v, const char *where, berth_error_t *err)
{
  if (!json_object_is_type (v, json_type_array))
    return cfg_error (err, "%s must be an array", where);
  return 0;
}

/* A string without NUL characters, borrowed from v.  */
int
cfg_get_string (json_object *v, const char *where, const char **out, berth_error_t *err)
{
  if (!json_object_is_type (v, json_type_string))
    return cfg_error (err, "%s must be a string", where);
  if (!cfg_is_string (v))
    return cfg_error (err, "%s must not contain a NUL character", where);
  *out = json_object_get_string (v);
  return 0;
}

int
cfg_get_int (json_object *v, const char *where, int64_t min, int64_t max, int64_t *out,
         berth_error_t *err)
{
  int64_t n;

  if (!json_object_is_type (v, json_type_int))
    return cfg_error (err, "%s must be an integer from %" PRId64 " to %" PRId64, where, min, max);
  n = json_object_get_int64 (v); /* clamped to INT64_MAX above it */
  if (n < min || n > max)
    return cfg_error (err, "%s must be an integer from %" PRId64 " to %" PRId64, where, min, max);
  *out = n;
  return 0;
}

int
cfg_get_uint64 (json_object *v, const char *where, uint64_t *out, berth_error_t *err)
{
  if (!json_object_is_type (v, json_type_int) || json_object_get_int64 (v) < 0)
    return cfg_error (err, "%s must be a non-negative integer", where);
  *out = json_object_get_uint64 (v);
  return 0;
}

/* An array of strings, copied into a new NULL-terminated vector.  */
int
cfg_get_strv (json_object *v, const char *where, bool non_empty, char ***out, berth_error_t *err)
{
  size_t i, n;
  char **strv;

  if (!json_object_is_type (v, json_type_array)
      || (non_empty && json_object_array_length (v) == 0))
    return cfg_error (err, "%s must be %s array of strings", where, non_empty ? "a non-empty" : "an");

  n = json_object_array_length (v);
  for (i = 0; i < n; i++)
    {
      json_object *e = json_object_array_get_idx (v, i);
      if (!cfg_is_string (e))
        return cfg_error (err, "%s[%zu] must be a string", where, i);
    }

  strv = xmalloc0 ((n + 1) * sizeof (char *));
  for (i = 0; i < n; i++)
    strv[i] = xstrdup (json_object_get_string (json_object_array_get_idx (v, i)));
  *out = strv;
  return 0;
}

/* Optional members: absent (or null) leaves *out alone and sets *present (when given) to false.  */

int
cfg_opt_string (json_object *obj, const char *parent, const char *key, char **out, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);
  cleanup_free char *where = NULL;
  const char *s;
  int ret;

  if (v == NULL)
    return 0;
  where = cfg_field_path (parent, key);
  ret = cfg_get_string (v, where, &s, err);
  if (ret < 0)
    return ret;
  *out = xstrdup (s);
  return 0;
}

int
cfg_opt_bool (json_object *obj, const char *parent, const char *key, bool *out, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);
  cleanup_free char *where = NULL;

  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_boolean))
    {
      where = cfg_field_path (parent, key);
      return cfg_error (err, "%s must be a boolean", where);
    }
  *out = json_object_get_boolean (v);
  return 0;
}

int
cfg_opt_int (json_object *obj, const char *parent, const char *key, int64_t min, int64_t max,
         int64_t *out, bool *present, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);
  cleanup_free char *where = NULL;

  *present = v != NULL;
  if (v == NULL)
    return 0;
  where = cfg_field_path (parent, key);
  return cfg_get_int (v, where, min, max, out, err);
}

int
cfg_req_int (json_object *obj, const char *parent, const char *key, int64_t min, int64_t max,
         int64_t *out, berth_error_t *err)
{
  cleanup_free char *where = NULL;
  bool present;
  int ret;

  ret = cfg_opt_int (obj, parent, key, min, max, out, &present, err);
  if (ret < 0 || present)
    return ret;
  where = cfg_field_path (parent, key);
  return cfg_error (err, "%s is required", where);
}

int
cfg_opt_strv (json_object *obj, const char *parent, const char *key, char ***out, berth_error_t *err)
{
  json_object *v = cfg_member (obj, key);
  cleanup_free char *where = NULL;

  if (v == NULL)
    return 0;
  where = cfg_field_path (parent, key);
  return cfg_get_strv (v, where, false, out, err);
}

/* An object of strings (linux.sysctl, annotations) into two parallel arrays, in file order.  */
int
cfg_get_string_map (json_object *v, const char *where, char ***keys, char ***values, size_t *n,
                berth_error_t *err)
{
  struct json_object_iterator it, end;
  size_t i;

  if (cfg_require_object (v, where, err) < 0)
    return -1;
  *n = (size_t) json_object_object_length (v);
  if (*n == 0)
    return 0;
  *keys = xmalloc0 (*n * sizeof (char *));
  *values = xmalloc0 (*n * sizeof (char *));

  it = json_object_iter_begin (v);
  end = json_object_iter_end (v);
  for (i = 0; !json_object_iter_equal (&it, &end); json_object_iter_next (&it), i++)
    {
      const char *key = json_object_iter_peek_name (&it);
      json_object *value = json_object_iter_peek_value (&it);

      if (*key == '\0')
        return cfg_error (err, "%s keys must not be empty", where);
      if (!cfg_is_string (value))
        return cfg_error (err, "%s[\"%s\"] must be a string", where, key);
      (*keys)[i] = xstrdup (key);
      (*values)[i] = xstrdup (json_object_get_string (value));
    }
  return 0;
}
