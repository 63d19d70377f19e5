/*
 * berth-runtime exec [-t] [-d] [-e K=V]... [--cwd DIR] [--pid-file FILE] ID CMD [ARG...]
 * berth-runtime exec [-t] [-d] --process FILE ID
 */
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "container.h"
#include "utils.h"

int
berth_cmd_exec (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = {
    { "tty", no_argument, NULL, 't' },
    { "detach", no_argument, NULL, 'd' },
    { "env", required_argument, NULL, 'e' },
    { "cwd", required_argument, NULL, 'w' },
    { "process", required_argument, NULL, 'p' },
    { "pid-file", required_argument, NULL, 'P' },
    { "interactive", no_argument, NULL, 'i' },
    { NULL, 0, NULL, 0 },
  };
  struct berth_exec_options o = { 0 };
  cleanup_free char **env = xmalloc0 (sizeof (char *) * (size_t) (argc + 1));
  size_t n_env = 0;
  const char *id;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+tdie:w:", options, NULL)) != -1)
    switch (c)
      {
      case 't':
        o.tty = true;
        break;
      case 'd':
        o.detach = true;
        break;
      case 'i':
        break; /* stdin is always passed through */
      case 'e':
        if (strchr (optarg, '=') == NULL || optarg[0] == '=')
          return berth_cmd_usage (err, "exec: --env needs KEY=VALUE, not `%s`", optarg);
        env[n_env++] = optarg;
        break;
      case 'w':
        if (optarg[0] != '/')
          return berth_cmd_usage (err, "exec: --cwd must be an absolute path, not `%s`", optarg);
        o.cwd = optarg;
        break;
      case 'p':
        o.process_file = optarg;
        break;
      case 'P':
        o.pid_file = optarg;
        break;
      default:
        return berth_cmd_bad_option ("exec", argc, argv, err);
      }
  if (optind >= argc)
    return berth_cmd_usage (err, "exec: a container ID is required");
  id = argv[optind];
  if (berth_validate_id (id, err) < 0)
    return -1;
  if (o.process_file && optind + 1 < argc)
    return berth_cmd_usage (err, "exec: give either --process FILE or a command, not both");
  if (! o.process_file && optind + 1 >= argc)
    return berth_cmd_usage (err, "exec: a command to run is required");
  if (o.tty && o.detach)
    return berth_cmd_usage (err, "exec: -t and -d together are not supported");
  o.args = argv + optind + 1;
  o.log_format = global->log_format;
  o.env = env;
  return berth_container_exec (global->root, id, &o, &global->exit_code, err);
}
