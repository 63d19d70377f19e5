/*
 * berth-runtime delete [--force] ID
 */
#include <getopt.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_delete (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool force = false;
  const char *id;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+f", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      default:
        return berth_cmd_bad_option ("delete", argc, argv, err);
      }
  if (berth_cmd_id (argc, argv, 0, &id, err) < 0)
    return -1;
  return berth_container_delete (global->root, id, force, err);
}
