/*
 * Berth runtime: global options and the subcommand interface.
 *
 * A subcommand lives in its own file (cmd-create.c, cmd-state.c, ...) with one
 * handler, declared in commands.h with the others:
 *
 *   int berth_cmd_create (struct berth_global_args *global, int argc, char **argv,
 *                         berth_error_t *err);
 *
 * and one line in the `commands` table of main.c.  argv[0] is the subcommand
 * name and argv[argc] is NULL, so a handler can run getopt_long itself
 * (after setting optind = 0).  A handler returns 0 on success, a negative
 * value with *err set on failure: main prints the error in the --log-format
 * and exits 1, or 2 when the error's op is BERTH_OP_USAGE (bad arguments).
 */
#ifndef BERTH_MAIN_H
#define BERTH_MAIN_H

#include <stdbool.h>

#include "error.h"

#define BERTH_EXIT_FAILURE 1
#define BERTH_EXIT_USAGE 2

#define BERTH_OP_USAGE "usage"

#define BERTH_DEFAULT_ROOT "/run/berth"

struct berth_global_args
{
  const char *root;                 /* --root: state directory */
  enum berth_log_format log_format; /* --log-format: how errors go to stderr */
  const char *log_file;             /* --log: errors are also appended there */
  bool debug;                       /* --debug */
  int exit_code;                    /* set by a handler to exit with it (run: the container's status) */
};

typedef int (*berth_command_handler) (struct berth_global_args *global, int argc, char **argv,
                                      berth_error_t *err);

struct berth_command
{
  const char *name;
  berth_command_handler handler;
  const char *summary; /* one line for --help */
};

#endif
