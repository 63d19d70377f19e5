/*
 * berth-runtime kill [--all] ID [SIGNAL]   (SIGNAL: TERM, SIGTERM or 15; default TERM)
 */
#include <getopt.h>
#include <signal.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_kill (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
  bool all = false;
  const char *id;
  int sig = SIGTERM, c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+a", options, NULL)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      default:
        return berth_cmd_bad_option ("kill", argc, argv, err);
      }
  if (berth_cmd_id (argc, argv, 1, &id, err) < 0)
    return -1;
  if (optind + 1 < argc && berth_parse_signal (argv[optind + 1], &sig, err) < 0)
    return -1;
  return berth_container_kill (global->root, id, sig, all, err);
}
