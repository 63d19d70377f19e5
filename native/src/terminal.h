/*
 * Berth runtime: pseudo-terminals for interactive containers (runtime-spec runtime.md:
 * terminal and --console-socket).
 */
#ifndef BERTH_TERMINAL_H
#define BERTH_TERMINAL_H

#include <stdbool.h>
#include <termios.h>

#include "error.h"

/* A new pty pair; the size is set when width and height are not 0.  */
int berth_terminal_open (int *master, int *slave, unsigned width, unsigned height, berth_error_t *err);

/* Send `fd` over the unix socket at `path` (SCM_RIGHTS), as runc and crun do.  */
int berth_terminal_send (const char *path, int fd, berth_error_t *err);

/* Make `fd` the calling process's controlling terminal and its stdin/stdout/stderr.  */
int berth_terminal_become (int fd, berth_error_t *err);

/* Put the terminal `fd` in raw mode, saving the old mode in *saved.  */
int berth_terminal_raw (int fd, struct termios *saved, berth_error_t *err);

/* Copy the window size of `from` to `to` (SIGWINCH forwarding).  */
void berth_terminal_copy_size (int from, int to);

#endif
