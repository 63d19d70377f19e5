/*
 * Berth runtime: the state directory.  See status.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "oci-config.h"
#include "status.h"
#include "utils.h"

const char *
berth_status_name (enum berth_status s)
{
  switch (s)
    {
    case BERTH_STATUS_CREATING:
      return "creating";
    case BERTH_STATUS_CREATED:
      return "created";
    case BERTH_STATUS_RUNNING:
      return "running";
    case BERTH_STATUS_STOPPED:
      return "stopped";
    }
  return "unknown";
}

char *
berth_state_dir (const char *root, const char *id)
{
  return xasprintf ("%s/%s", root, id);
}

int
berth_state_dir_create (const char *root, const char *id, char **dir, berth_error_t *err)
{
  cleanup_free char *d = berth_state_dir (root, id);

  if (berth_mkdir_p (root, 0700, err) < 0)
    return berth_error_wrap (err, "create state root");
  if (mkdir (d, 0700) < 0)
    {
      if (errno == EEXIST)
        return berth_make_error_op (err, EEXIST, "create", "container `%s` already exists (state in %s); delete it first",
                                    id, d);
      return berth_make_error_op (err, errno, "mkdir", "mkdir %s", d);
    }
  *dir = steal_pointer (&d);
  return 0;
}

static void
add_string (json_object *o, const char *key, const char *value)
{
  json_object_object_add (o, key, value ? json_object_new_string (value) : NULL);
}

static json_object *
annotations_json (char **keys, char **values, size_t n)
{
  json_object *a = json_object_new_object ();
  size_t i;

  for (i = 0; i < n; i++)
    json_object_object_add (a, keys[i], json_object_new_string (values[i]));
  return a;
}

int
berth_state_save (const struct berth_state *s, berth_error_t *err)
{
  json_object *o = json_object_new_object ();
  cleanup_free char *path = xasprintf ("%s/state.json", s->dir);
  const char *text;
  int ret;

  add_string (o, "id", s->id);
  add_string (o, "bundle", s->bundle);
  add_string (o, "rootfs", s->rootfs);
  json_object_object_add (o, "pid", json_object_new_int (s->pid));
  json_object_object_add (o, "pidStart", json_object_new_uint64 (s->pid_start));
  json_object_object_add (o, "monitorPid", json_object_new_int (s->monitor_pid));
  add_string (o, "cgroup", s->cgroup);
  add_string (o, "created", s->created);
  add_string (o, "writable", s->writable);
  json_object_object_add (o, "detached", json_object_new_boolean (s->detached));
  if (s->passthrough)
    json_object_object_add (o, "passthrough", json_object_new_boolean (true));
  json_object_object_add (o, "annotations", annotations_json (s->annotation_keys, s->annotation_values, s->n_annotations));
  text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN);
  ret = berth_write_file_replace (path, text, strlen (text), 0600, err);
  json_object_put (o);
  return ret;
}

static char *
dup_field (json_object *o, const char *key)
{
  json_object *v;
  if (! json_object_object_get_ex (o, key, &v) || ! json_object_is_type (v, json_type_string))
    return NULL;
  return xstrdup (json_object_get_string (v));
}

static int64_t
int_field (json_object *o, const char *key)
{
  json_object *v;
  if (! json_object_object_get_ex (o, key, &v))
    return 0;
  return json_object_get_int64 (v);
}

static int
parse_state (struct berth_state *s, const char *text, const char *path, berth_error_t *err)
{
  json_object *o = json_tokener_parse (text);
  json_object *a, *v;

  if (o == NULL || ! json_object_is_type (o, json_type_object))
    {
      json_object_put (o);
      return berth_make_error_op (err, 0, "state", "%s is not valid JSON", path);
    }
  s->bundle = dup_field (o, "bundle");
  s->rootfs = dup_field (o, "rootfs");
  s->pid = (pid_t) int_field (o, "pid");
  if (json_object_object_get_ex (o, "pidStart", &v))
    s->pid_start = json_object_get_uint64 (v);
  s->monitor_pid = (pid_t) int_field (o, "monitorPid");
  s->cgroup = dup_field (o, "cgroup");
  s->created = dup_field (o, "created");
  s->writable = dup_field (o, "writable");
  s->detached = json_object_object_get_ex (o, "detached", &v) && json_object_get_boolean (v);
  s->passthrough = json_object_object_get_ex (o, "passthrough", &v) && json_object_get_boolean (v);
  if (json_object_object_get_ex (o, "annotations", &a) && json_object_is_type (a, json_type_object))
    {
      size_t n = (size_t) json_object_object_length (a), i = 0;
      s->annotation_keys = xmalloc0 (sizeof (char *) * (n + 1));
      s->annotation_values = xmalloc0 (sizeof (char *) * (n + 1));
      json_object_object_foreach (a, key, val)
      {
        s->annotation_keys[i] = xstrdup (key);
        s->annotation_values[i] = xstrdup (json_object_get_string (val));
        i++;
      }
      s->n_annotations = i;
    }
  json_object_put (o);
  return 0;
}

static void
load_exit (struct berth_state *s)
{
  cleanup_free char *path = xasprintf ("%s/exit.json", s->dir);
  cleanup_free char *text = NULL;
  berth_error_t err = NULL;
  json_object *o, *v;

  if (berth_read_file (path, &text, NULL, &err) < 0)
    {
      berth_error_release (&err);
      return;
    }
  o = json_tokener_parse (text);
  if (o)
    {
      s->has_exit = true;
      s->exit_code = (int) int_field (o, "exitCode");
      s->finished = dup_field (o, "finishedAt");
      s->oom_killed = json_object_object_get_ex (o, "oomKilled", &v) && json_object_get_boolean (v);
    }
  json_object_put (o);
}

int
berth_state_load (const char *root, const char *id, struct berth_state **out, berth_error_t *err)
{
  struct berth_state *s;
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *fifo = NULL;
  struct stat st;

  if (berth_validate_id (id, err) < 0)
    return -1;
  s = xmalloc0 (sizeof (*s));
  s->id = xstrdup (id);
  s->dir = berth_state_dir (root, id);
  if (stat (s->dir, &st) < 0)
    {
      int e = errno;
      berth_state_free (s);
      if (e == ENOENT)
        return berth_make_error_op (err, ENOENT, "state", "container `%s` does not exist", id);
      return berth_make_error_op (err, e, "stat", "stat %s/%s", root, id);
    }
  path = xasprintf ("%s/state.json", s->dir);
  if (berth_read_file_optional (path, &text, NULL, err) < 0)
    {
      berth_state_free (s);
      return -1;
    }
  if (text == NULL)
    {
      s->status = BERTH_STATUS_CREATING;
      *out = s;
      return 0;
    }
  if (parse_state (s, text, path, err) < 0)
    {
      berth_state_free (s);
      return -1;
    }
  fifo = xasprintf ("%s/exec.fifo", s->dir);
  if (s->pid > 0 && berth_pid_start_time (s->pid) == s->pid_start && s->pid_start != 0)
    s->status = access (fifo, F_OK) == 0 ? BERTH_STATUS_CREATED : BERTH_STATUS_RUNNING;
  else
    s->status = BERTH_STATUS_STOPPED;
  if (s->status == BERTH_STATUS_STOPPED)
    load_exit (s);
  *out = s;
  return 0;
}

int
berth_exit_code (int wait_status)
{
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  if (WIFSIGNALED (wait_status))
    return 128 + WTERMSIG (wait_status);
  return 255;
}

int
berth_state_write_exit (const char *dir, int wait_status, bool oom_killed, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/exit.json", dir);
  json_object *o = json_object_new_object ();
  char now[64];
  const char *text;
  int ret;

  berth_time_now_rfc3339 (now, sizeof (now));
  json_object_object_add (o, "exitCode", json_object_new_int (berth_exit_code (wait_status)));
  if (WIFSIGNALED (wait_status))
    json_object_object_add (o, "signal", json_object_new_string (strsignal (WTERMSIG (wait_status))));
  json_object_object_add (o, "finishedAt", json_object_new_string (now));
  json_object_object_add (o, "oomKilled", json_object_new_boolean (oom_killed));
  text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN);
  ret = berth_write_file_replace (path, text, strlen (text), 0600, err);
  json_object_put (o);
  return ret;
}

char *
berth_state_to_json (const struct berth_state *s, bool pretty)
{
  json_object *o = json_object_new_object ();
  char *text;

  json_object_object_add (o, "ociVersion", json_object_new_string (BERTH_OCI_VERSION));
  add_string (o, "id", s->id);
  json_object_object_add (o, "status", json_object_new_string (berth_status_name (s->status)));
  /* The pid while there is a process: created and running, and for createRuntime hooks
     also creating.  */
  json_object_object_add (o, "pid", json_object_new_int (s->status == BERTH_STATUS_STOPPED ? 0 : s->pid));
  add_string (o, "bundle", s->bundle ? s->bundle : "");
  json_object_object_add (o, "annotations", annotations_json (s->annotation_keys, s->annotation_values, s->n_annotations));
  if (s->rootfs)
    add_string (o, "rootfs", s->rootfs);
  if (s->created)
    add_string (o, "created", s->created);
  if (s->has_exit)
    {
      json_object_object_add (o, "exitCode", json_object_new_int (s->exit_code));
      if (s->finished)
        add_string (o, "finishedAt", s->finished);
      json_object_object_add (o, "oomKilled", json_object_new_boolean (s->oom_killed));
    }
  text = xstrdup (json_object_to_json_string_ext (o, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE
                                                            : JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
  return text;
}

void
berth_state_free (struct berth_state *s)
{
  size_t i;

  if (s == NULL)
    return;
  for (i = 0; i < s->n_annotations; i++)
    {
      free (s->annotation_keys[i]);
      free (s->annotation_values[i]);
    }
  free (s->annotation_keys);
  free (s->annotation_values);
  free (s->id);
  free (s->dir);
  free (s->bundle);
  free (s->rootfs);
  free (s->cgroup);
  free (s->created);
  free (s->writable);
  free (s->finished);
  free (s);
}
