/*
 * Berth runtime: every subcommand handler (one file each, cmd-NAME.c), as main.h describes,
 * and the helpers they share (cmd-common.c).
 */
#ifndef BERTH_COMMANDS_H
#define BERTH_COMMANDS_H

#include "main.h"

int berth_cmd_create (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_start (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_run (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_state (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_kill (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_delete (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_list (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_ps (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_exec (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);
int berth_cmd_stats (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);

/* `network ...`: container networks (docs/networking.md).  */
int berth_cmd_network (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);

/* `spec [--bundle DIR] [--force]`: write Berth's default config.json
   (berth_config_default_json) to DIR/config.json (default: the current directory),
   atomically, mode 0644.  An existing config.json is an error unless --force.  */
int berth_cmd_spec (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);

/* Shared by the handlers: a usage error naming what is wrong (exit 2).  */
int berth_cmd_usage (berth_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The one ID operand, and nothing else (unless more are allowed by max_extra).  */
int berth_cmd_id (int argc, char **argv, int max_extra, const char **id, berth_error_t *err);

/* getopt_long's report for a bad option, as a usage error.  */
int berth_cmd_bad_option (const char *cmd, int argc, char **argv, berth_error_t *err);

#endif
