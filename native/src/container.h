/*
 * Berth runtime: the container lifecycle (runtime-spec runtime.md "Operations"):
 * create, start, run, state, kill, delete, list, ps, exec.
 */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <stdbool.h>

#include "error.h"
#include "oci-config.h"

struct berth_create_options
{
  const char *bundle;         /* default: the current directory */
  const char *pid_file;       /* or NULL */
  const char *console_socket; /* or NULL */
};

/* create: a detached monitor owns the container, which waits for start.  */
int berth_container_create (const char *root, const char *id, const struct berth_create_options *o,
                            berth_error_t *err);

/* start: let a created container run its program; poststart hooks after.  */
int berth_container_start (const char *root, const char *id, berth_error_t *err);

struct berth_run_options
{
  struct berth_create_options create;
  bool detach; /* -d: create + start, the monitor owns it */
  bool tty;    /* -t: terminal: true */
};

/* run: create and start; in the foreground, wait, delete, and return the exit code in
   *exit_code (0..255; 128+N for a signal; 127 when the program does not exist).  */
int berth_container_run (const char *root, const char *id, const struct berth_run_options *o, int *exit_code,
                         berth_error_t *err);

/* state: the OCI state JSON on stdout.  */
int berth_container_state (const char *root, const char *id, berth_error_t *err);

int berth_container_kill (const char *root, const char *id, int sig, bool all, berth_error_t *err);

int berth_container_delete (const char *root, const char *id, bool force, berth_error_t *err);

int berth_container_list (const char *root, bool json, bool quiet, berth_error_t *err);

int berth_container_ps (const char *root, const char *id, bool json, berth_error_t *err);

struct berth_exec_options
{
  char **args;          /* NULL-terminated; or NULL with process_file */
  const char *process_file;
  char **env;           /* K=V added to (or replacing in) the container's env */
  const char *cwd;
  bool tty;
  unsigned tty_rows, tty_cols; /* --tty-size: the terminal's size at start; 0: as configured */
  int resize_fd;               /* --resize-fd: "ROWS COLS\n" lines resize the terminal; -1: none */
  bool has_user;               /* --user UID:GID */
  uid_t uid;
  gid_t gid;
  bool detach;
  const char *pid_file;
  const char *console_socket; /* with a terminal: its master goes there (runc's), no copying */
  enum berth_log_format log_format; /* how the process reports that it could not start */
};

int berth_container_exec (const char *root, const char *id, const struct berth_exec_options *o, int *exit_code,
                          berth_error_t *err);

/* Parse "TERM", "SIGTERM", "15" into a signal number.  */
int berth_parse_signal (const char *name, int *sig, berth_error_t *err);

#endif
