/*
 * Berth runtime: config.json's annotations, and Berth's own settings carried in them
 * (berth.*, listed in oci-config.h).  See oci-annotations.h.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-json.h"
#include "oci-annotations.h"
#include "utils.h"

#define MAX_LOG_MAX_FILES 100

static int annotation_error (berth_error_t *err, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* "annotations["<key>"] <message>".  */
static int
annotation_error (berth_error_t *err, const char *key, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  return cfg_error (err, "annotations[\"%s\"] %s", key, msg);
}

/* berth.rootfs.lower: ":"-separated absolute directories, top layer first.  */
static int
parse_lower (const char *value, char ***out, berth_error_t *err)
{
  const char *key = BERTH_ANNOTATION_LOWER;
  const char *p, *end;
  size_t i, n = 1;
  char **layers;

  for (p = value; *p; p++)
    n += *p == ':';
  for (p = value; p; p = end ? end + 1 : NULL)
    {
      end = strchr (p, ':');
      if (p == end || *p == '\0')
        return annotation_error (err, key, "\"%s\" has an empty layer path", value);
      if (*p != '/')
        return annotation_error (err, key, "layer \"%.*s\" must be an absolute path",
                                 end ? (int) (end - p) : (int) strlen (p), p);
    }
  layers = xmalloc0 ((n + 1) * sizeof (char *));
  for (i = 0, p = value; i < n; i++, p = end + 1)
    {
      end = strchrnul (p, ':');
      layers[i] = strndup (p, (size_t) (end - p));
      if (layers[i] == NULL)
        abort ();
    }
  *out = layers;
  return 0;
}

static int
parse_rootfs_annotations (struct berth_config *c, berth_error_t *err)
{
  const char *lower = berth_config_annotation (c, BERTH_ANNOTATION_LOWER);
  const char *writable = berth_config_annotation (c, BERTH_ANNOTATION_WRITABLE);

  if (lower && writable == NULL)
    return annotation_error (err, BERTH_ANNOTATION_LOWER, "needs annotations[\"%s\"]", BERTH_ANNOTATION_WRITABLE);
  if (writable && lower == NULL)
    return annotation_error (err, BERTH_ANNOTATION_WRITABLE, "needs annotations[\"%s\"]", BERTH_ANNOTATION_LOWER);
  if (lower == NULL)
    return 0;
  if (writable[0] != '/')
    return annotation_error (err, BERTH_ANNOTATION_WRITABLE, "\"%s\" must be an absolute path", writable);
  if (parse_lower (lower, &c->overlay_lower, err) < 0)
    return -1;
  c->overlay_writable = xstrdup (writable);
  return 0;
}

/* Leading decimal digits of s into *out.  Returns the first byte after them, or NULL when
   there are none or they overflow.  */
static const char *
parse_decimal (const char *s, uint64_t *out)
{
  uint64_t n = 0;
  const char *p;

  for (p = s; *p >= '0' && *p <= '9'; p++)
    {
      if (n > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
        return NULL;
      n = n * 10 + (uint64_t) (*p - '0');
    }
  *out = n;
  return p == s ? NULL : p;
}

/* A positive byte count with an optional k, m or g suffix (powers of 1024).  */
static bool
parse_size (const char *s, uint64_t *out)
{
  const char *p = parse_decimal (s, out);
  uint64_t unit = 1;

  if (p == NULL)
    return false;
  if (*p == 'k' || *p == 'K')
    unit = 1024;
  else if (*p == 'm' || *p == 'M')
    unit = 1024 * 1024;
  else if (*p == 'g' || *p == 'G')
    unit = 1024 * 1024 * 1024;
  if (unit != 1)
    p++;
  if (*p != '\0' || *out == 0 || *out > UINT64_MAX / unit)
    return false;
  *out *= unit;
  return true;
}

static int
parse_log_annotations (struct berth_config *c, berth_error_t *err)
{
  const char *size = berth_config_annotation (c, BERTH_ANNOTATION_LOG_MAX_SIZE);
  const char *files = berth_config_annotation (c, BERTH_ANNOTATION_LOG_MAX_FILES);
  const char *end;
  uint64_t n;

  if (size && !parse_size (size, &c->log_max_size))
    return annotation_error (err, BERTH_ANNOTATION_LOG_MAX_SIZE,
                             "\"%s\" must be a positive number of bytes with an optional k, m or g suffix",
                             size);
  if (files == NULL)
    return 0;
  end = parse_decimal (files, &n);
  if (end == NULL || *end != '\0' || n < 1 || n > MAX_LOG_MAX_FILES)
    return annotation_error (err, BERTH_ANNOTATION_LOG_MAX_FILES, "\"%s\" must be an integer from 1 to %d",
                             files, MAX_LOG_MAX_FILES);
  c->log_max_files = (unsigned) n;
  return 0;
}

/* An annotation that is "true" or "false"; absent is false.  */
static int
parse_bool_annotation (const struct berth_config *c, const char *key, bool *out, berth_error_t *err)
{
  const char *v = berth_config_annotation (c, key);

  if (v && strcmp (v, "true") != 0 && strcmp (v, "false") != 0)
    return annotation_error (err, key, "\"%s\" must be \"true\" or \"false\"", v);
  *out = v && strcmp (v, "true") == 0;
  return 0;
}

/* berth.attach, berth.stdin, berth.log.path, berth.rootfs.keep, berth.delete-on-exit.  Whether the log's
   directory exists is checked by create (berth_config_check_paths), not here: exec and
   delete re-read the config long after.  */
static int
parse_io_annotations (struct berth_config *c, berth_error_t *err)
{
  const char *log_path = berth_config_annotation (c, BERTH_ANNOTATION_LOG_PATH);

  if (parse_bool_annotation (c, BERTH_ANNOTATION_ATTACH, &c->attach, err) < 0
      || parse_bool_annotation (c, BERTH_ANNOTATION_STDIN, &c->attach_stdin, err) < 0
      || parse_bool_annotation (c, BERTH_ANNOTATION_ROOTFS_KEEP, &c->rootfs_keep, err) < 0
      || parse_bool_annotation (c, BERTH_ANNOTATION_DELETE_ON_EXIT, &c->delete_on_exit, err) < 0)
    return -1;
  if (c->attach_stdin && ! c->attach)
    return annotation_error (err, BERTH_ANNOTATION_STDIN,
                             "needs annotations[\"%s\"] = \"true\": only attach clients can write to stdin",
                             BERTH_ANNOTATION_ATTACH);
  if (c->rootfs_keep && c->overlay_writable == NULL)
    return annotation_error (err, BERTH_ANNOTATION_ROOTFS_KEEP, "needs annotations[\"%s\"]: there is no writable directory to keep",
                             BERTH_ANNOTATION_WRITABLE);
  if (log_path == NULL)
    return 0;
  if (log_path[0] != '/')
    return annotation_error (err, BERTH_ANNOTATION_LOG_PATH, "\"%s\" must be an absolute path", log_path);
  if (log_path[strlen (log_path) - 1] == '/')
    return annotation_error (err, BERTH_ANNOTATION_LOG_PATH, "\"%s\" must name a file, not a directory", log_path);
  c->log_path = xstrdup (log_path);
  return 0;
}

int
berth_config_check_host_paths (const struct berth_config *c, berth_error_t *err)
{
  cleanup_free char *dir = NULL;
  struct stat st;
  char *slash;

  if (c->log_path == NULL)
    return 0;
  dir = xstrdup (c->log_path);
  slash = strrchr (dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  if (stat (dir, &st) < 0)
    return berth_make_error_op (err, errno, "stat",
                                "annotations[\"%s\"] \"%s\": its directory %s cannot be used; create it first",
                                BERTH_ANNOTATION_LOG_PATH, c->log_path, dir);
  if (! S_ISDIR (st.st_mode))
    return berth_make_error_op (err, ENOTDIR, "stat", "annotations[\"%s\"] \"%s\": %s is not a directory",
                                BERTH_ANNOTATION_LOG_PATH, c->log_path, dir);
  return 0;
}

int
berth_annotations_parse (json_object *annotations, struct berth_config *c, berth_error_t *err)
{
  if (annotations
      && cfg_get_string_map (annotations, "annotations", &c->annotation_keys, &c->annotation_values,
                             &c->n_annotations, err)
             < 0)
    return -1;
  if (parse_rootfs_annotations (c, err) < 0 || parse_log_annotations (c, err) < 0)
    return -1;
  if (parse_bool_annotation (c, BERTH_ANNOTATION_INIT, &c->init, err) < 0)
    return -1;
  return parse_io_annotations (c, err);
}

const char *
berth_config_annotation (const struct berth_config *c, const char *key)
{
  size_t i;

  for (i = 0; i < c->n_annotations; i++)
    if (c->annotation_keys[i] && strcmp (c->annotation_keys[i], key) == 0)
      return c->annotation_values[i];
  return NULL;
}
