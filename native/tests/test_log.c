/*
 * Unit tests for src/log.c: Docker json-file entries, line splitting, escaping, rotation.
 * Every line written is parsed back with json-c.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "fixtures.h"
#include "tap.h"
#include "utils.h"

/* ---- fixtures.  */

static void
cleanup_errp (berth_error_t *err)
{
  berth_error_release (err);
}
#define cleanup_err __attribute__ ((cleanup (cleanup_errp)))

static void
cleanup_logp (struct berth_log **log)
{
  berth_error_t err = NULL;

  berth_log_close (*log, &err);
  berth_error_release (&err);
}
#define cleanup_log __attribute__ ((cleanup (cleanup_logp)))


/* One entry of a log file, parsed back.  */
struct entry
{
  char *log;
  size_t log_len;
  char *stream;
  char *time;
  size_t line_len; /* bytes of the line in the file, newline included */
};

struct entries
{
  struct entry *e;
  size_t n;
};

static void
entries_free (struct entries *es)
{
  size_t i;

  for (i = 0; i < es->n; i++)
    {
      free (es->e[i].log);
      free (es->e[i].stream);
      free (es->e[i].time);
    }
  free (es->e);
  es->e = NULL;
  es->n = 0;
}
#define cleanup_entries __attribute__ ((cleanup (entries_free)))

/* Parse one line strictly: exactly "log", "stream", "time", all strings, nothing after.  */
static int
parse_line (const char *line, size_t len, struct entry *out)
{
  json_tokener *tok = json_tokener_new ();
  json_object *o, *log, *stream, *time_;
  int ok = -1;

  if (tok == NULL)
    return -1;
  json_tokener_set_flags (tok, JSON_TOKENER_STRICT);
  o = json_tokener_parse_ex (tok, line, (int) len);
  if (o != NULL && json_tokener_get_error (tok) == json_tokener_success
      && (size_t) json_tokener_get_parse_end (tok) == len && json_object_is_type (o, json_type_object)
      && json_object_object_length (o) == 3 && json_object_object_get_ex (o, "log", &log)
      && json_object_object_get_ex (o, "stream", &stream)
      && json_object_object_get_ex (o, "time", &time_) && json_object_is_type (log, json_type_string)
      && json_object_is_type (stream, json_type_string)
      && json_object_is_type (time_, json_type_string))
    {
      out->log_len = (size_t) json_object_get_string_len (log);
      out->log = xmalloc0 (out->log_len + 1);
      memcpy (out->log, json_object_get_string (log), out->log_len);
      out->stream = xstrdup (json_object_get_string (stream));
      out->time = xstrdup (json_object_get_string (time_));
      out->line_len = len + 1;
      ok = 0;
    }
  json_object_put (o);
  json_tokener_free (tok);
  return ok;
}

/* Read every entry of path (appended to es).  A line that is not a valid entry fails.  */
static int
read_entries (const char *path, struct entries *es)
{
  cleanup_free char *text = NULL;
  berth_error_t err = NULL;
  size_t len = 0;
  char *p, *nl;

  if (berth_read_file (path, &text, &len, &err) < 0)
    {
      tap_diag ("%s", err->msg);
      berth_error_release (&err);
      return -1;
    }
  if (len > 0 && text[len - 1] != '\n')
    {
      tap_diag ("%s does not end with a newline", path);
      return -1;
    }
  for (p = text; p < text + len; p = nl + 1)
    {
      struct entry e;

      nl = memchr (p, '\n', (size_t) (text + len - p));
      if (parse_line (p, (size_t) (nl - p), &e) < 0)
        {
          tap_diag ("%s: not a valid entry: %.*s", path, (int) (nl - p > 300 ? 300 : nl - p), p);
          return -1;
        }
      es->e = xrealloc (es->e, (es->n + 1) * sizeof (*es->e));
      es->e[es->n++] = e;
    }
  return 0;
}

static bool
entry_is (const struct entry *e, const char *stream, const char *log, size_t log_len)
{
  if (strcmp (e->stream, stream) != 0 || e->log_len != log_len || memcmp (e->log, log, log_len) != 0)
    {
      tap_diag ("entry: stream %s log (%zu bytes) \"%.200s\"; expected stream %s log (%zu bytes) "
                "\"%.200s\"",
                e->stream, e->log_len, e->log, stream, log_len, log);
      return false;
    }
  return true;
}
#define ENTRY_IS(e, stream, lit) entry_is ((e), (stream), (lit), sizeof (lit) - 1)

#define LOG_OPEN(path, max_size, max_files, logp)                         \
  do                                                                      \
    {                                                                     \
      berth_error_t open_err_ = NULL;                                     \
      if (berth_log_open ((path), (max_size), (max_files), (logp), &open_err_) < 0) \
        {                                                                 \
          tap_diag ("berth_log_open: %s", open_err_->msg);               \
          berth_error_release (&open_err_);                               \
          return -1;                                                      \
        }                                                                 \
    }                                                                     \
  while (0)

#define LOG_WRITE(log, stream, data, len)                                  \
  do                                                                       \
    {                                                                      \
      berth_error_t write_err_ = NULL;                                     \
      if (berth_log_write ((log), (stream), (data), (len), &write_err_) < 0) \
        {                                                                  \
          tap_diag ("berth_log_write: %s", write_err_->msg);               \
          berth_error_release (&write_err_);                               \
          return -1;                                                       \
        }                                                                  \
    }                                                                      \
  while (0)
#define LOG_WRITE_STR(log, stream, s) LOG_WRITE ((log), (stream), (s), strlen (s))

#define LOG_CLOSE(logp)                                                 \
  do                                                                    \
    {                                                                   \
      berth_error_t close_err_ = NULL;                                  \
      int close_ret_ = berth_log_close (*(logp), &close_err_);          \
      *(logp) = NULL;                                                   \
      if (close_ret_ < 0)                                               \
        {                                                               \
          tap_diag ("berth_log_close: %s", close_err_->msg);            \
          berth_error_release (&close_err_);                            \
          return -1;                                                    \
        }                                                               \
    }                                                                   \
  while (0)

static off_t
file_size (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? st.st_size : -1;
}

/* ---- lines and streams.  */

static int
test_lines_split_across_chunks (void)
{
  static const char input[] = "hello\nworld, this is a line\n\nlast one\n";
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  size_t i, step;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  LOG_OPEN (path, 0, 1, &log);

  /* The same input in chunks of 1, 2, 3, ... bytes and in one piece: same entries.  */
  for (step = 1; step <= sizeof (input); step++)
    for (i = 0; i < sizeof (input) - 1; i += step)
      LOG_WRITE (log, "stdout", input + i,
                 step < sizeof (input) - 1 - i ? step : sizeof (input) - 1 - i);

  /* A line whose end comes later stays buffered.  */
  LOG_WRITE_STR (log, "stdout", "hel");
  LOG_WRITE_STR (log, "stdout", "");
  LOG_WRITE_STR (log, "stdout", "lo");
  LOG_CLOSE (&log);

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, sizeof (input) * 4 + 1);
  for (i = 0; i + 4 < es.n; i += 4)
    {
      TAP_CHECK (ENTRY_IS (&es.e[i], "stdout", "hello\n"));
      TAP_CHECK (ENTRY_IS (&es.e[i + 1], "stdout", "world, this is a line\n"));
      TAP_CHECK (ENTRY_IS (&es.e[i + 2], "stdout", "\n"));
      TAP_CHECK (ENTRY_IS (&es.e[i + 3], "stdout", "last one\n"));
    }
  /* Written at close, as a partial entry: no newline.  */
  TAP_CHECK (ENTRY_IS (&es.e[es.n - 1], "stdout", "hello"));
  return 0;
}

static int
test_two_streams_interleaved (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  LOG_OPEN (path, 0, 1, &log);

  LOG_WRITE_STR (log, "stdout", "out-1 start ");
  LOG_WRITE_STR (log, "stderr", "err-1 start ");
  LOG_WRITE_STR (log, "stdout", "out-1 end\nout-2 ");
  LOG_WRITE_STR (log, "stderr", "err-1 end\n");
  LOG_WRITE_STR (log, "stderr", "err-2\nerr-3 unfinished");
  LOG_WRITE_STR (log, "stdout", "end\n");
  LOG_CLOSE (&log);

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 5);
  TAP_CHECK (ENTRY_IS (&es.e[0], "stdout", "out-1 start out-1 end\n"));
  TAP_CHECK (ENTRY_IS (&es.e[1], "stderr", "err-1 start err-1 end\n"));
  TAP_CHECK (ENTRY_IS (&es.e[2], "stderr", "err-2\n"));
  TAP_CHECK (ENTRY_IS (&es.e[3], "stdout", "out-2 end\n"));
  TAP_CHECK (ENTRY_IS (&es.e[4], "stderr", "err-3 unfinished"));
  return 0;
}

/* ---- escaping.  */

static int
test_escaping (void)
{
  /* quotes, backslash, tab, CR, control characters, DEL, valid 2- and 4-byte UTF-8,
     a lone continuation byte, a bad lead byte, a truncated 3-byte sequence, an overlong
     '/', a surrogate, a code point past U+10FFFF.  */
  static const char input[] = "say \"hi\" \\o/\tx\r\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80"
                              " [\x80] [\xff] [\xe2\x82] [\xc0\xaf] [\xed\xa0\x80] [\xf4\x90\x80\x80]\n";
  static const char raw[] = "{\"log\":\"say \\\"hi\\\" \\\\o/\\tx\\r\\u0001\\u001f\x7f caf\xc3\xa9 "
                            "\xf0\x9f\x98\x80 [\xef\xbf\xbd] [\xef\xbf\xbd] [\xef\xbf\xbd\xef\xbf\xbd] "
                            "[\xef\xbf\xbd\xef\xbf\xbd] [\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd] "
                            "[\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd]\\n\",\"stream\":\"stdout\","
                            "\"time\":\"";
  static const char decoded[] = "say \"hi\" \\o/\tx\r\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80"
                                " [\xef\xbf\xbd] [\xef\xbf\xbd] [\xef\xbf\xbd\xef\xbf\xbd] "
                                "[\xef\xbf\xbd\xef\xbf\xbd] [\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd] "
                                "[\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd]\n";
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  LOG_OPEN (path, 0, 1, &log);
  LOG_WRITE (log, "stdout", input, sizeof (input) - 1);
  /* A NUL byte is data too; the newline inside the chunk ends the line.  */
  LOG_WRITE (log, "stdout", "a\0b\nc\n", 6);
  LOG_CLOSE (&log);

  TAP_CHECK_INT_EQ (berth_read_file (path, &text, NULL, &err), 0);
  if (strncmp (text, raw, sizeof (raw) - 1) != 0)
    TAP_FAIL ("first line:\n%.400s\nexpected it to start with:\n%s", text, raw);
  TAP_CHECK (strstr (text, "{\"log\":\"a\\u0000b\\n\",\"stream\":\"stdout\",\"time\":\"") != NULL);

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 3);
  TAP_CHECK (ENTRY_IS (&es.e[0], "stdout", decoded));
  TAP_CHECK (entry_is (&es.e[1], "stdout", "a\0b\n", 4));
  TAP_CHECK (ENTRY_IS (&es.e[2], "stdout", "c\n"));
  return 0;
}

/* ---- the 16 KiB cap.  */

static int
test_long_line_partial_entries (void)
{
  const size_t total = 40 * 1024;
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *line = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  cleanup_entries struct entries es2 = { NULL, 0 };
  size_t i;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  line = xmalloc0 (total);
  for (i = 0; i < total; i++)
    line[i] = (char) ('a' + i % 26);

  LOG_OPEN (path, 0, 1, &log);
  LOG_WRITE (log, "stdout", line, total);
  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 2); /* 8 KiB still buffered */
  entries_free (&es);
  LOG_CLOSE (&log);

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 3);
  TAP_CHECK_INT_EQ (es.e[0].log_len, 16384);
  TAP_CHECK_INT_EQ (es.e[1].log_len, 16384);
  TAP_CHECK_INT_EQ (es.e[2].log_len, 8192);
  TAP_CHECK (memcmp (es.e[0].log, line, 16384) == 0);
  TAP_CHECK (memcmp (es.e[1].log, line + 16384, 16384) == 0);
  TAP_CHECK (memcmp (es.e[2].log, line + 32768, 8192) == 0);

  /* The same in 1000-byte chunks: the cuts do not depend on the chunks.  */
  TAP_CHECK_INT_EQ (unlink (path), 0);
  LOG_OPEN (path, 0, 1, &log);
  for (i = 0; i < total; i += 1000)
    LOG_WRITE (log, "stdout", line + i, total - i < 1000 ? total - i : 1000);
  LOG_CLOSE (&log);
  TAP_CHECK_INT_EQ (read_entries (path, &es2), 0);
  TAP_CHECK_INT_EQ (es2.n, 3);
  for (i = 0; i < 3; i++)
    TAP_CHECK (entry_is (&es2.e[i], "stdout", es.e[i].log, es.e[i].log_len));
  return 0;
}

static int
test_cap_boundaries (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *buf = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  buf = xmalloc0 (16400);
  LOG_OPEN (path, 0, 1, &log);

  /* Exactly 16 KiB of text and its newline, the newline in a later chunk: one entry.  */
  memset (buf, 'x', 16384);
  LOG_WRITE (log, "stdout", buf, 16384);
  LOG_WRITE_STR (log, "stdout", "\n");

  /* One byte more: a 16 KiB partial entry, then "x\n".  */
  LOG_WRITE (log, "stdout", buf, 16384);
  LOG_WRITE_STR (log, "stdout", "x\n");

  /* A 2-byte character across the 16 KiB mark is not cut: 16383 bytes, then "é\n".  */
  memset (buf, 'y', 16383);
  memcpy (buf + 16383, "\xc3\xa9\n", 3);
  LOG_WRITE (log, "stdout", buf, 16386);
  LOG_CLOSE (&log);

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 5);
  TAP_CHECK_INT_EQ (es.e[0].log_len, 16385);
  TAP_CHECK (es.e[0].log[16384] == '\n');
  TAP_CHECK_INT_EQ (es.e[1].log_len, 16384);
  TAP_CHECK (es.e[1].log[16383] == 'x');
  TAP_CHECK (ENTRY_IS (&es.e[2], "stdout", "x\n"));
  TAP_CHECK_INT_EQ (es.e[3].log_len, 16383);
  TAP_CHECK (es.e[3].log[16382] == 'y');
  TAP_CHECK (ENTRY_IS (&es.e[4], "stdout", "\xc3\xa9\n"));
  return 0;
}

/* ---- rotation.  */

static int
test_rotation (void)
{
  const uint64_t max_size = 1000;
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  const char *files[3];
  size_t start[3];
  cleanup_free char *p1 = NULL;
  cleanup_free char *p2 = NULL;
  cleanup_free char *p3 = NULL;
  int i, first = -1;
  size_t k;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  p1 = xasprintf ("%s.1", path);
  p2 = xasprintf ("%s.2", path);
  p3 = xasprintf ("%s.3", path);

  LOG_OPEN (path, max_size, 3, &log);
  for (i = 0; i < 200; i++)
    {
      char line[64];
      snprintf (line, sizeof (line), "line %03d of the rotation test\n", i);
      LOG_WRITE_STR (log, i % 2 ? "stderr" : "stdout", line);
    }
  LOG_CLOSE (&log);

  /* Exactly 3 files, each within max_size.  */
  TAP_CHECK (file_size (path) > 0 && file_size (path) <= (off_t) max_size);
  TAP_CHECK (file_size (p1) > 0 && file_size (p1) <= (off_t) max_size);
  TAP_CHECK (file_size (p2) > 0 && file_size (p2) <= (off_t) max_size);
  TAP_CHECK_INT_EQ (file_size (p3), -1);

  /* Oldest first, the entries are the last ones written, in order, without a gap; each
     file was rotated only when the next entry would not fit.  */
  files[0] = p2;
  files[1] = p1;
  files[2] = path;
  for (i = 0; i < 3; i++)
    {
      start[i] = es.n;
      TAP_CHECK_INT_EQ (read_entries (files[i], &es), 0);
      TAP_CHECK (es.n > start[i]);
    }
  for (i = 0; i < 2; i++)
    TAP_CHECK ((uint64_t) file_size (files[i]) + es.e[start[i + 1]].line_len > max_size);
  for (k = 0; k < es.n; k++)
    {
      int n;
      if (sscanf (es.e[k].log, "line %d", &n) != 1)
        TAP_FAIL ("bad entry %s", es.e[k].log);
      if (first < 0)
        first = n;
      TAP_CHECK_INT_EQ (n, first + (int) k);
      TAP_CHECK_STR_EQ (es.e[k].stream, n % 2 ? "stderr" : "stdout");
    }
  TAP_CHECK_INT_EQ (first + (int) es.n, 200);
  return 0;
}

static int
test_rotation_big_entry_and_reopen (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *p1 = NULL;
  cleanup_free char *big = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  p1 = xasprintf ("%s.1", path);
  big = xmalloc0 (502);
  memset (big, 'b', 500);
  big[500] = '\n';

  /* A single entry larger than max_size goes into an empty file as it is.  */
  LOG_OPEN (path, 100, 2, &log);
  LOG_WRITE (log, "stdout", big, 501);
  TAP_CHECK (file_size (path) > 500);
  TAP_CHECK_INT_EQ (file_size (p1), -1);
  LOG_CLOSE (&log);

  /* Opening again appends and counts what is there: the next entry rotates first.  */
  LOG_OPEN (path, 100, 2, &log);
  LOG_WRITE_STR (log, "stdout", "small\n");
  LOG_CLOSE (&log);
  TAP_CHECK (file_size (p1) > 500);
  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 1);
  TAP_CHECK (ENTRY_IS (&es.e[0], "stdout", "small\n"));
  entries_free (&es);

  /* More small ones: they share a file until it is full.  */
  LOG_OPEN (path, 250, 2, &log);
  LOG_WRITE_STR (log, "stdout", "second\n");
  LOG_CLOSE (&log);
  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 2);
  return 0;
}

static int
test_max_files_one_truncates (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *p1 = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  int i;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  p1 = xasprintf ("%s.1", path);

  LOG_OPEN (path, 300, 1, &log);
  for (i = 0; i < 20; i++)
    {
      char line[32];
      snprintf (line, sizeof (line), "entry %d\n", i);
      LOG_WRITE_STR (log, "stdout", line);
    }
  LOG_CLOSE (&log);

  TAP_CHECK (file_size (path) > 0 && file_size (path) <= 300);
  TAP_CHECK_INT_EQ (file_size (p1), -1);
  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK (es.n >= 1);
  TAP_CHECK (ENTRY_IS (&es.e[es.n - 1], "stdout", "entry 19\n"));
  return 0;
}

/* ---- time.  */

static time_t
realtime_seconds (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_REALTIME, &ts) < 0)
    return (time_t) -1;
  return ts.tv_sec;
}

static int
test_time_format (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  regex_t re;
  struct tm tm;
  time_t before, after, t;
  size_t i;
  int rc;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/container.log", dir);
  /* The log stamps with CLOCK_REALTIME; time () reads the coarse clock, which can still show
     the previous second just after a second begins, so the bounds use the same clock.  */
  before = realtime_seconds ();
  LOG_OPEN (path, 0, 1, &log);
  LOG_WRITE_STR (log, "stdout", "one\ntwo\n");
  LOG_WRITE_STR (log, "stderr", "three\n");
  LOG_CLOSE (&log);
  after = realtime_seconds ();

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 3);
  TAP_CHECK_INT_EQ (regcomp (&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$",
                             REG_EXTENDED | REG_NOSUB),
                    0);
  for (i = 0; i < es.n; i++)
    {
      rc = regexec (&re, es.e[i].time, 0, NULL, 0);
      if (rc != 0)
        {
          regfree (&re);
          TAP_FAIL ("time `%s` is not RFC 3339 UTC with nanoseconds", es.e[i].time);
        }
      /* UTC and now.  */
      memset (&tm, 0, sizeof (tm));
      if (strptime (es.e[i].time, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        {
          regfree (&re);
          TAP_FAIL ("strptime `%s`", es.e[i].time);
        }
      t = timegm (&tm);
      if (t < before || t > after)
        {
          regfree (&re);
          TAP_FAIL ("time `%s` is not between %lld and %lld", es.e[i].time, (long long) before,
                    (long long) after);
        }
    }
  regfree (&re);
  /* Non-decreasing (CLOCK_REALTIME; the strings compare as times).  */
  TAP_CHECK (strcmp (es.e[0].time, es.e[1].time) <= 0);
  TAP_CHECK (strcmp (es.e[1].time, es.e[2].time) <= 0);
  return 0;
}

/* ---- errors.  */

static int
test_errors (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *p1 = NULL;
  cleanup_free char *blocker = NULL;
  cleanup_free char *expected = NULL;
  cleanup_log struct berth_log *log = NULL;
  cleanup_err berth_error_t err = NULL;
  cleanup_entries struct entries es = { NULL, 0 };
  int ret;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/missing/container.log", dir);
  TAP_CHECK (berth_log_open (path, 0, 1, &log, &err) < 0);
  TAP_CHECK (log == NULL);
  expected = xasprintf ("open %s: No such file or directory", path);
  TAP_CHECK_STR_EQ (err->msg, expected);
  TAP_CHECK_STR_EQ (err->op, "open");
  TAP_CHECK_INT_EQ (err->status, ENOENT);
  berth_error_release (&err);

  free (path);
  path = xasprintf ("%s/container.log", dir);
  TAP_CHECK (berth_log_open (path, 0, 0, &log, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  berth_error_release (&err);

  TAP_CHECK_INT_EQ (berth_log_close (NULL, &err), 0);
  TAP_CHECK (err == NULL);

  /* Rotation that cannot rename (container.log.1 is a non-empty directory): the write
     fails naming the rename, and close still frees everything (ASan checks).  */
  p1 = xasprintf ("%s.1", path);
  blocker = xasprintf ("%s/x", p1);
  TAP_CHECK_INT_EQ (mkdir (p1, 0700), 0);
  TAP_CHECK_INT_EQ (mkdir (blocker, 0700), 0);
  LOG_OPEN (path, 50, 2, &log);
  LOG_WRITE_STR (log, "stdout", "first entry goes into the empty file\n");
  TAP_CHECK (berth_log_write (log, "stdout", "second\n", 7, &err) < 0);
  TAP_CHECK_STR_EQ (err->op, "rename");
  TAP_CHECK (strstr (err->msg, "rotate ") == err->msg);
  TAP_CHECK (strstr (err->msg, ".1: Is a directory") != NULL);
  berth_error_release (&err);
  LOG_WRITE_STR (log, "stdout", "partial");
  ret = berth_log_close (log, &err); /* the partial line cannot be written either */
  log = NULL;
  TAP_CHECK (ret < 0);
  TAP_CHECK_STR_EQ (err->op, "rename");
  berth_error_release (&err);

  TAP_CHECK_INT_EQ (read_entries (path, &es), 0);
  TAP_CHECK_INT_EQ (es.n, 1);

  TAP_CHECK (berth_log_write (NULL, "stdout", "x", 1, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_lines_split_across_chunks),
  TAP_TEST (test_two_streams_interleaved),
  TAP_TEST (test_escaping),
  TAP_TEST (test_long_line_partial_entries),
  TAP_TEST (test_cap_boundaries),
  TAP_TEST (test_rotation),
  TAP_TEST (test_rotation_big_entry_and_reopen),
  TAP_TEST (test_max_files_one_truncates),
  TAP_TEST (test_time_format),
  TAP_TEST (test_errors),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
