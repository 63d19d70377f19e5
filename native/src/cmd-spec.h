/*
 * Berth runtime: `berth-runtime spec [--bundle DIR] [--force]`.
 */
#ifndef BERTH_CMD_SPEC_H
#define BERTH_CMD_SPEC_H

#include "error.h"
#include "main.h"

/* Write Berth's default config.json (berth_config_default_json) to DIR/config.json
   (default: the current directory), atomically, mode 0644.  An existing config.json
   is an error unless --force.  Bad arguments are errors with op BERTH_OP_USAGE.  */
int berth_cmd_spec (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);

#endif
