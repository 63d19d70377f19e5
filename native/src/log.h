/*
 * Berth runtime: the container log, in Docker's json-file shape: one JSON object per
 * line, {"log":"<text with its newline>","stream":"stdout|stderr","time":"RFC3339Nano"},
 * with size-based rotation (container.log, container.log.1, ... container.log.<max-1>).
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct berth_log;

/* Open (append) path; rotate when a write would take it past max_size bytes, keeping
   max_files files in all (max_files >= 1; 1 means truncate instead of rotating).  */
int berth_log_open (const char *path, uint64_t max_size, unsigned max_files, struct berth_log **out,
                    berth_error_t *err);

/* Feed raw bytes read from a stream ("stdout"/"stderr"); complete lines are written as
   entries, a partial line is kept until its newline or until 16 KiB (then written as a
   partial entry without newline, as Docker does).  */
int berth_log_write (struct berth_log *log, const char *stream, const char *data, size_t len,
                     berth_error_t *err);

/* Write out any partial lines (at EOF) and close.  log may be NULL.  */
int berth_log_close (struct berth_log *log, berth_error_t *err);

#endif
