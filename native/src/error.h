/*
 * Berth runtime: error values, crun style.
 *
 * Every fallible function takes `berth_error_t *err` as its last argument and
 * returns a negative int (or NULL) on failure; *err then holds an errno-style
 * status and an allocated message naming the failing call and its object.
 * Callers add context on the way up with berth_error_wrap() and whoever
 * handles the error finally calls berth_error_release().
 */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

#include <stdio.h>

struct berth_error_s
{
  int status; /* errno value, 0 when the failure is not a system error */
  char *msg;  /* full message, ": strerror(status)" already appended */
  char *op;   /* optional machine-readable operation ("mount", "open"), or NULL */
};
typedef struct berth_error_s *berth_error_t;

enum berth_log_format
{
  BERTH_LOG_FORMAT_TEXT = 0,
  BERTH_LOG_FORMAT_JSON,
};

/* Build a new error in *err.  When errno_ != 0, ": strerror(errno_)" is appended
   to the formatted message.  Returns -errno_ - 1, which is negative even when
   errno_ is 0.  An error already held in *err is released first.  */
int berth_make_error (berth_error_t *err, int errno_, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Same as berth_make_error, and records `op` (copied; NULL allowed).  */
int berth_make_error_op (berth_error_t *err, int errno_, const char *op, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Prepend "<context>: " to the message of *err.  Returns -status - 1.
   Status and op are kept.  *err must hold an error.  */
int berth_error_wrap (berth_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Free *err (if any) and set it to NULL.  Always returns 0.  */
int berth_error_release (berth_error_t *err);

/* Write one line describing err to out:
     text: "berth-runtime: <msg>\n"
     json: {"level":"error","msg":"...","errno":N,"op":"...","time":"..."}
   "errno" is omitted when status is 0 and "op" when it is NULL; time is
   RFC 3339 UTC with milliseconds.  Returns 0, or -1 if writing failed.  */
int berth_error_write (berth_error_t err, FILE *out, enum berth_log_format format);

/* Parse "text" / "json".  Returns 0 and sets *format, or a negative error.  */
/* A warning on stderr, in the --log-format of the command (text by default):
   "berth-runtime: warning: MSG" or {"level":"warning","msg":...,"time":...}.  */
void berth_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void berth_warn_set_format (enum berth_log_format format);

int berth_log_format_parse (const char *name, enum berth_log_format *format, berth_error_t *err);

#endif
