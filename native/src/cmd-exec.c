/*
 * berth-runtime exec [-t] [-d] [-e K=V]... [--cwd DIR] [--user UID:GID] [--pid-file FILE]
 *                    [--tty-size ROWSxCOLS] [--resize-fd N] ID CMD [ARG...]
 * berth-runtime exec [-t] [-d] [--console-socket SOCKET] --process FILE ID
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "container.h"
#include "utils.h"

/* "A<sep>B" of decimal numbers up to max each (sep '\0': one number, B is 0).  */
static int
parse_pair (const char *s, char sep, unsigned *a, unsigned *b, unsigned long max)
{
  unsigned long x, y = 0;
  char *end;

  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  x = strtoul (s, &end, 10);
  if (errno || x > max)
    return -1;
  if (sep)
    {
      if (*end != sep || end[1] < '0' || end[1] > '9')
        return -1;
      y = strtoul (end + 1, &end, 10);
      if (errno || y > max)
        return -1;
    }
  if (*end != '\0')
    return -1;
  *a = (unsigned) x;
  *b = (unsigned) y;
  return 0;
}

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
    { "tty-size", required_argument, NULL, 'S' },
    { "resize-fd", required_argument, NULL, 'R' },
    { "user", required_argument, NULL, 'u' },
    { "console-socket", required_argument, NULL, 'c' },
    { NULL, 0, NULL, 0 },
  };
  struct berth_exec_options o = { .resize_fd = -1 };
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
      case 'c':
        o.console_socket = optarg;
        break;
      case 'S':
        if (parse_pair (optarg, 'x', &o.tty_rows, &o.tty_cols, 65535) < 0 || o.tty_rows == 0 || o.tty_cols == 0)
          return berth_cmd_usage (err, "exec: --tty-size needs ROWSxCOLS (1 to 65535 each), not `%s`", optarg);
        break;
      case 'R':
        {
          unsigned fd, unused;
          if (parse_pair (optarg, '\0', &fd, &unused, 1023) < 0 || fd < 3)
            return berth_cmd_usage (err, "exec: --resize-fd needs an inherited descriptor from 3 to 1023, not `%s`", optarg);
          if (fcntl ((int) fd, F_GETFD) < 0)
            return berth_make_error_op (err, errno, "fcntl", "exec: --resize-fd %u is not an open descriptor", fd);
          o.resize_fd = (int) fd;
          break;
        }
      case 'u':
        {
          unsigned uid, gid;
          if (parse_pair (optarg, ':', &uid, &gid, 0xFFFFFFFEu) < 0)
            return berth_cmd_usage (err, "exec: --user needs UID:GID (numbers), not `%s`", optarg);
          o.has_user = true;
          o.uid = uid;
          o.gid = gid;
          break;
        }
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
  if (o.tty && o.detach && o.console_socket == NULL)
    return berth_cmd_usage (err, "exec: -t and -d together need --console-socket to hand the terminal to");
  if ((o.tty_rows || o.resize_fd >= 0) && ! o.tty)
    return berth_cmd_usage (err, "exec: --tty-size and --resize-fd need -t");
  o.args = argv + optind + 1;
  o.log_format = global->log_format;
  o.env = env;
  return berth_container_exec (global->root, id, &o, &global->exit_code, err);
}
