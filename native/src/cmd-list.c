/*
 * berth-runtime list [--format table|json] [-q]
 */
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_list (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = {
    { "format", required_argument, NULL, 'f' },
    { "quiet", no_argument, NULL, 'q' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, quiet = false;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+f:q", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "table") != 0)
          return berth_cmd_usage (err, "list: --format must be table or json, not `%s`", optarg);
        json = strcmp (optarg, "json") == 0;
        break;
      case 'q':
        quiet = true;
        break;
      default:
        return berth_cmd_bad_option ("list", argc, argv, err);
      }
  if (optind < argc)
    return berth_cmd_usage (err, "list: unexpected argument `%s`", argv[optind]);
  return berth_container_list (global->root, json, quiet, err);
}
