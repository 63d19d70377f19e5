/*
 * berth-runtime state ID: the OCI state as JSON on stdout.
 */
#include <getopt.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_state (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { NULL, 0, NULL, 0 } };
  const char *id;

  optind = 0;
  opterr = 0;
  if (getopt_long (argc, argv, "+", options, NULL) != -1)
    return berth_cmd_bad_option ("state", argc, argv, err);
  if (berth_cmd_id (argc, argv, 0, &id, err) < 0)
    return -1;
  return berth_container_state (global->root, id, err);
}
