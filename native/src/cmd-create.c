/*
 * berth-runtime create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] [--no-new-keyring] ID
 */
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_create (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "pid-file", required_argument, NULL, 'p' },
    { "console-socket", required_argument, NULL, 'c' },
    { "no-pivot", no_argument, NULL, 'n' },
    { "no-new-keyring", no_argument, NULL, 'k' },
    { "preserve-fds", required_argument, NULL, 'f' },
    { NULL, 0, NULL, 0 },
  };
  struct berth_create_options o = { 0 };
  const char *id;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+b:", options, NULL)) != -1)
    switch (c)
      {
      case 'b':
        o.bundle = optarg;
        break;
      case 'p':
        o.pid_file = optarg;
        break;
      case 'c':
        o.console_socket = optarg;
        break;
      case 'n':
        return berth_cmd_usage (err, "create: --no-pivot is not supported: Berth always uses pivot_root");
      case 'k':
        break; /* runc's and crun's: Berth never makes a session keyring */
      case 'f':
        if (strcmp (optarg, "0") != 0)
          return berth_cmd_usage (err, "create: --preserve-fds %s is not supported: the container gets stdio only", optarg);
        break;
      default:
        return berth_cmd_bad_option ("create", argc, argv, err);
      }
  if (berth_cmd_id (argc, argv, 0, &id, err) < 0)
    return -1;
  return berth_container_create (global->root, id, &o, err);
}
