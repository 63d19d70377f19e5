/*
 * berth-runtime stats ID: the container's resource usage from its cgroup, as JSON (runc's
 * `events --stats`, in a shape for ps-style reports):
 *
 *   {"id":"web.1","memory":{"usage":N,"limit":N|null},"cpu":{"usageNanoseconds":N},
 *    "pids":{"current":N,"limit":N|null},"oomKills":N}
 *
 * A figure the host cannot give (controller not mounted) is null; a limit of "max" is null.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "cgroup.h"
#include "commands.h"
#include "status.h"
#include "utils.h"

static json_object *
figure (uint64_t v)
{
  if (v == BERTH_CGROUP_STAT_UNKNOWN || v == BERTH_CGROUP_STAT_NONE)
    return NULL;
  return json_object_new_int64 ((int64_t) v);
}

static json_object *
pair (const char *k1, uint64_t v1, const char *k2, uint64_t v2)
{
  json_object *o = json_object_new_object ();

  json_object_object_add (o, k1, figure (v1));
  if (k2)
    json_object_object_add (o, k2, figure (v2));
  return o;
}

int
berth_cmd_stats (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { NULL, 0, NULL, 0 } };
  cleanup_state struct berth_state *s = NULL;
  struct berth_cgroup_stats st;
  json_object *o;
  const char *id;

  optind = 0;
  opterr = 0;
  if (getopt_long (argc, argv, "+", options, NULL) != -1)
    return berth_cmd_bad_option ("stats", argc, argv, err);
  if (berth_cmd_id (argc, argv, 0, &id, err) < 0 || berth_state_load (global->root, id, &s, err) < 0)
    return -1;
  if (s->cgroup == NULL)
    return berth_make_error_op (err, 0, "stats", "container `%s` has no cgroup yet (it is %s)", id,
                                berth_status_name (s->status));
  if (berth_cgroup_stats (s->cgroup, &st, err) < 0)
    return -1;
  o = json_object_new_object ();
  json_object_object_add (o, "id", json_object_new_string (id));
  json_object_object_add (o, "memory", pair ("usage", st.memory_bytes, "limit", st.memory_limit));
  json_object_object_add (o, "cpu", pair ("usageNanoseconds", st.cpu_usage_ns, NULL, 0));
  json_object_object_add (o, "pids", pair ("current", st.pids, "limit", st.pids_limit));
  json_object_object_add (o, "oomKills", figure (st.oom_kills));
  printf ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
  json_object_put (o);
  return 0;
}
