/*
 * berth-runtime network ...: container networks (docs/networking.md).
 */
#ifndef BERTH_CMD_NETWORK_H
#define BERTH_CMD_NETWORK_H

#include "main.h"

int berth_cmd_network (struct berth_global_args *global, int argc, char **argv, berth_error_t *err);

#endif
