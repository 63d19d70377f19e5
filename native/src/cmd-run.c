/*
 * berth-runtime run [-d] [-t] [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID
 *
 * In the foreground, run exits with the container's exit status.
 */
#include <getopt.h>

#include "commands.h"
#include "container.h"

int
berth_cmd_run (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "detach", no_argument, NULL, 'd' },
    { "tty", no_argument, NULL, 't' },
    { "pid-file", required_argument, NULL, 'p' },
    { "console-socket", required_argument, NULL, 'c' },
    { NULL, 0, NULL, 0 },
  };
  struct berth_run_options o = { 0 };
  const char *id;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+b:dt", options, NULL)) != -1)
    switch (c)
      {
      case 'b':
        o.create.bundle = optarg;
        break;
      case 'd':
        o.detach = true;
        break;
      case 't':
        o.tty = true;
        break;
      case 'p':
        o.create.pid_file = optarg;
        break;
      case 'c':
        o.create.console_socket = optarg;
        break;
      default:
        return berth_cmd_bad_option ("run", argc, argv, err);
      }
  if (berth_cmd_id (argc, argv, 0, &id, err) < 0)
    return -1;
  if (o.detach && o.tty && o.create.console_socket == NULL)
    return berth_cmd_usage (err, "run: -d with -t needs --console-socket to hand the terminal to");
  return berth_container_run (global->root, id, &o, &global->exit_code, err);
}
