/*
 * Unit tests for src/error.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "tap.h"
#include "utils.h"

/* Render err with berth_error_write into a string owned by the caller.  */
static char *
render (berth_error_t err, enum berth_log_format format)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  if (f == NULL)
    return NULL;
  if (berth_error_write (err, f, format) < 0)
    {
      fclose (f);
      free (buf);
      return NULL;
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return NULL;
    }
  return buf;
}

/* Split a JSON line at ,"time":" and check the timestamp: RFC 3339 UTC with
   milliseconds, within a minute of now.  Returns the part before it.  */
static bool
split_json_time (char *line, const char **head)
{
  const char *key = ",\"time\":\"";
  char *t = strstr (line, key);
  struct tm tm;
  char *end;
  time_t when;

  if (t == NULL)
    return false;
  *t = '\0';
  *head = line;
  t += strlen (key);

  memset (&tm, 0, sizeof (tm));
  end = strptime (t, "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == NULL || strlen (end) != strlen (".123Z\"}\n"))
    return false;
  if (end[0] != '.' || end[1] < '0' || end[1] > '9' || end[2] < '0' || end[2] > '9'
      || end[3] < '0' || end[3] > '9' || strcmp (end + 4, "Z\"}\n") != 0)
    return false;

  when = timegm (&tm);
  return labs ((long) (when - time (NULL))) < 60;
}

static int
test_make_error_appends_strerror (void)
{
  berth_error_t err = NULL;
  int ret = berth_make_error (&err, EINVAL, "mount overlay on %s", "/x/rootfs");

  TAP_CHECK_INT_EQ (ret, -EINVAL - 1);
  TAP_CHECK (err != NULL);
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  TAP_CHECK_STR_EQ (err->msg, "mount overlay on /x/rootfs: Invalid argument");
  TAP_CHECK (err->op == NULL);
  berth_error_release (&err);
  TAP_CHECK (err == NULL);
  return 0;
}

static int
test_make_error_without_errno (void)
{
  berth_error_t err = NULL;
  int ret = berth_make_error (&err, 0, "bad config: %d mounts", 3);

  TAP_CHECK (ret < 0);
  TAP_CHECK_INT_EQ (ret, -1);
  TAP_CHECK_INT_EQ (err->status, 0);
  TAP_CHECK_STR_EQ (err->msg, "bad config: 3 mounts");
  berth_error_release (&err);
  return 0;
}

static int
test_make_error_op (void)
{
  berth_error_t err = NULL;
  int ret = berth_make_error_op (&err, ENOENT, "mount", "mount `%s`", "/proc");

  TAP_CHECK_INT_EQ (ret, -ENOENT - 1);
  TAP_CHECK_STR_EQ (err->op, "mount");
  TAP_CHECK_STR_EQ (err->msg, "mount `/proc`: No such file or directory");
  berth_error_release (&err);
  return 0;
}

static int
test_make_error_replaces_previous (void)
{
  berth_error_t err = NULL;

  berth_make_error_op (&err, EPERM, "first", "first");
  /* The new message may use the old one: it is formatted before the release.  */
  berth_make_error (&err, EIO, "second after %s", err->msg);
  TAP_CHECK_INT_EQ (err->status, EIO);
  TAP_CHECK (err->op == NULL);
  TAP_CHECK_STR_EQ (err->msg, "second after first: Operation not permitted: Input/output error");
  berth_error_release (&err);
  return 0;
}

static int
test_wrap_prepends_context (void)
{
  berth_error_t err = NULL;
  int ret;

  berth_make_error_op (&err, EINVAL, "mount", "mount overlay on %s", "/x/rootfs");
  ret = berth_error_wrap (&err, "create container `%s`", "abc");
  TAP_CHECK_INT_EQ (ret, -EINVAL - 1);
  TAP_CHECK_STR_EQ (err->msg, "create container `abc`: mount overlay on /x/rootfs: Invalid argument");
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  TAP_CHECK_STR_EQ (err->op, "mount");

  ret = berth_error_wrap (&err, "run");
  TAP_CHECK_INT_EQ (ret, -EINVAL - 1);
  TAP_CHECK_STR_EQ (err->msg,
                    "run: create container `abc`: mount overlay on /x/rootfs: Invalid argument");
  berth_error_release (&err);
  return 0;
}

static int
test_wrap_without_error (void)
{
  berth_error_t err = NULL;

  TAP_CHECK (berth_error_wrap (&err, "context") < 0);
  TAP_CHECK (err == NULL);
  TAP_CHECK (berth_error_wrap (NULL, "context") < 0);
  return 0;
}

static int
test_release_is_idempotent (void)
{
  berth_error_t err = NULL;

  TAP_CHECK_INT_EQ (berth_error_release (&err), 0);
  TAP_CHECK_INT_EQ (berth_error_release (NULL), 0);
  berth_make_error (&err, 0, "x");
  TAP_CHECK_INT_EQ (berth_error_release (&err), 0);
  TAP_CHECK (err == NULL);
  TAP_CHECK_INT_EQ (berth_error_release (&err), 0);
  return 0;
}

static int
test_write_text (void)
{
  berth_error_t err = NULL;
  cleanup_free char *out = NULL;

  berth_make_error (&err, ENOENT, "open `%s`", "/etc/nope");
  out = render (err, BERTH_LOG_FORMAT_TEXT);
  berth_error_release (&err);
  TAP_CHECK_STR_EQ (out, "berth-runtime: open `/etc/nope`: No such file or directory\n");
  return 0;
}

static int
test_write_json (void)
{
  berth_error_t err = NULL;
  cleanup_free char *out = NULL;
  const char *head = NULL;

  berth_make_error_op (&err, EINVAL, "mount", "mount overlay on %s", "/x/rootfs");
  out = render (err, BERTH_LOG_FORMAT_JSON);
  berth_error_release (&err);
  TAP_CHECK (out != NULL);
  if (!split_json_time (out, &head))
    TAP_FAIL ("bad or missing RFC 3339 time in: %s", out);
  TAP_CHECK_STR_EQ (head, "{\"level\":\"error\",\"msg\":\"mount overlay on /x/rootfs: Invalid "
                          "argument\",\"errno\":22,\"op\":\"mount\"");
  return 0;
}

static int
test_write_json_omits_absent_fields (void)
{
  berth_error_t err = NULL;
  cleanup_free char *out = NULL;
  const char *head = NULL;

  berth_make_error (&err, 0, "no errno, no op");
  out = render (err, BERTH_LOG_FORMAT_JSON);
  berth_error_release (&err);
  TAP_CHECK (out != NULL);
  if (!split_json_time (out, &head))
    TAP_FAIL ("bad or missing RFC 3339 time in: %s", out);
  TAP_CHECK_STR_EQ (head, "{\"level\":\"error\",\"msg\":\"no errno, no op\"");
  return 0;
}

static int
test_write_json_escapes (void)
{
  berth_error_t err = NULL;
  cleanup_free char *out = NULL;
  const char *head = NULL;

  berth_make_error_op (&err, 0, "op\"x", "q\" b\\ n\n r\r t\t b\b f\f c\001 d\177 e\xc3\xa9 "
                                         "bad\xff trunc\xe2\x82 end");
  out = render (err, BERTH_LOG_FORMAT_JSON);
  berth_error_release (&err);
  TAP_CHECK (out != NULL);
  if (!split_json_time (out, &head))
    TAP_FAIL ("bad or missing RFC 3339 time in: %s", out);
  TAP_CHECK_STR_EQ (head, "{\"level\":\"error\",\"msg\":\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f "
                          "c\\u0001 d\\u007f e\xc3\xa9 bad\\ufffd trunc\\ufffd\\ufffd end\","
                          "\"op\":\"op\\\"x\"");
  TAP_CHECK (strchr (head, '\n') == NULL);
  return 0;
}

static int
test_log_format_parse (void)
{
  enum berth_log_format format = BERTH_LOG_FORMAT_TEXT;
  berth_error_t err = NULL;

  TAP_CHECK_INT_EQ (berth_log_format_parse ("json", &format, &err), 0);
  TAP_CHECK_INT_EQ (format, BERTH_LOG_FORMAT_JSON);
  TAP_CHECK_INT_EQ (berth_log_format_parse ("text", &format, &err), 0);
  TAP_CHECK_INT_EQ (format, BERTH_LOG_FORMAT_TEXT);
  TAP_CHECK (err == NULL);
  TAP_CHECK (berth_log_format_parse ("yaml", &format, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "unknown log format `yaml` (use `text` or `json`)");
  berth_error_release (&err);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_make_error_appends_strerror),
  TAP_TEST (test_make_error_without_errno),
  TAP_TEST (test_make_error_op),
  TAP_TEST (test_make_error_replaces_previous),
  TAP_TEST (test_wrap_prepends_context),
  TAP_TEST (test_wrap_without_error),
  TAP_TEST (test_release_is_idempotent),
  TAP_TEST (test_write_text),
  TAP_TEST (test_write_json),
  TAP_TEST (test_write_json_omits_absent_fields),
  TAP_TEST (test_write_json_escapes),
  TAP_TEST (test_log_format_parse),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
