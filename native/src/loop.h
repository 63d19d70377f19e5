/*
 * Berth runtime: the supervision loop shared by the monitor, a foreground `run` and
 * `exec`: copy output (to a log or a terminal), forward signals, wait for the process.
 */
#ifndef BERTH_LOOP_H
#define BERTH_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "attach.h"
#include "error.h"
#include "log.h"

#define BERTH_LOOP_MAX_PUMPS 3

struct berth_pump
{
  int from;
  int to;             /* a file descriptor, or -1 to write to the log (and the attach clients) */
  const char *stream; /* "stdout"/"stderr", for the log */
  bool veof_at_eof;   /* `to` is a terminal's master: end of `from` writes its EOF character (^D) */
};

struct berth_loop
{
  pid_t child; /* the process to wait for */
  struct berth_pump pumps[BERTH_LOOP_MAX_PUMPS];
  size_t n_pumps;
  struct berth_log *log;
  bool forward_signals; /* forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 to child */
  int winch_from, winch_to; /* on SIGWINCH copy the window size from → to; -1: none */
  struct berth_attach *attach; /* output also goes to its clients, which feed stdin; or NULL */
  int resize_from, resize_to;  /* lines "ROWS COLS\n" read from resize_from resize the terminal
                                  resize_to; -1: none (zero-initialized loops must set them) */
};

/* The signals the loop handles; block them (berth_loop_block) before the child is created,
   so none is lost, and unblock them in the child (berth_loop_unblock).  */
void berth_loop_block (sigset_t *old);
void berth_loop_unblock (const sigset_t *old);

/* Run until the child has exited and its output is drained; *wait_status as waitpid's.  */
int berth_loop_run (struct berth_loop *l, int *wait_status, berth_error_t *err);

#endif
