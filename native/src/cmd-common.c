/*
 * Berth runtime: what the subcommand handlers share.
 */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "commands.h"
#include "utils.h"

int
berth_cmd_usage (berth_error_t *err, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  return berth_make_error_op (err, 0, BERTH_OP_USAGE, "%s", msg);
}

int
berth_cmd_id (int argc, char **argv, int max_extra, const char **id, berth_error_t *err)
{
  if (optind >= argc)
    return berth_cmd_usage (err, "%s: a container ID is required", argv[0]);
  if (argc - optind - 1 > max_extra)
    return berth_cmd_usage (err, "%s: unexpected argument `%s`", argv[0], argv[optind + 1 + max_extra]);
  *id = argv[optind];
  return berth_validate_id (*id, err);
}

int
berth_cmd_bad_option (const char *cmd, int argc, char **argv, berth_error_t *err)
{
  const char *arg = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";
  if (optopt && optopt < 256 && strncmp (arg, "--", 2) != 0)
    return berth_cmd_usage (err, "%s: unrecognized or incomplete option `-%c`", cmd, optopt);
  return berth_cmd_usage (err, "%s: unrecognized or incomplete option `%s`", cmd, arg);
}
