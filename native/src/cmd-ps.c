/*
 * berth-runtime ps [--format table|json] ID: the processes in the container's cgroup.
 */
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_ps (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool json = false;
  const char *id;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+f:", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "table") != 0)
          return berth_cmd_usage (err, "ps: --format must be table or json, not `%s`", optarg);
        json = strcmp (optarg, "json") == 0;
        break;
      default:
        return berth_cmd_bad_option ("ps", argc, argv, err);
      }
  if (berth_cmd_id (argc, argv, 0, &id, err) < 0)
    return -1;
  return berth_container_ps (global->root, id, json, err);
}
