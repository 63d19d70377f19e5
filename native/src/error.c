/*
 * Berth runtime: error values, crun style.  See error.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "utils.h"

static int
make_error_v (berth_error_t *err, int errno_, const char *op, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 4, 0)));

static int
make_error_v (berth_error_t *err, int errno_, const char *op, const char *fmt, va_list ap)
{
  cleanup_free char *msg = xvasprintf (fmt, ap);
  berth_error_t e;

  berth_error_release (err);

  e = xmalloc0 (sizeof (*e));
  e->status = errno_;
  e->op = op ? xstrdup (op) : NULL;
  if (errno_ != 0)
    e->msg = xasprintf ("%s: %s", msg, strerror (errno_));
  else
    e->msg = steal_pointer (&msg);

  *err = e;
  return -errno_ - 1;
}

int
berth_make_error (berth_error_t *err, int errno_, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = make_error_v (err, errno_, NULL, fmt, ap);
  va_end (ap);
  return ret;
}

int
berth_make_error_op (berth_error_t *err, int errno_, const char *op, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = make_error_v (err, errno_, op, fmt, ap);
  va_end (ap);
  return ret;
}

int
berth_error_wrap (berth_error_t *err, const char *fmt, ...)
{
  cleanup_free char *context = NULL;
  va_list ap;
  char *msg;

  if (err == NULL || *err == NULL)
    {
      /* A caller bug: wrapping nothing.  Still return a failure value.  */
      return -EINVAL - 1;
    }

  va_start (ap, fmt);
  context = xvasprintf (fmt, ap);
  va_end (ap);

  msg = xasprintf ("%s: %s", context, (*err)->msg);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -(*err)->status - 1;
}

int
berth_error_release (berth_error_t *err)
{
  if (err == NULL || *err == NULL)
    return 0;

  free ((*err)->msg);
  free ((*err)->op);
  free (*err);
  *err = NULL;
  return 0;
}

/* Length of the valid UTF-8 sequence starting at s, or 0 if it is invalid.  */
static size_t
utf8_sequence_length (const unsigned char *s)
{
  unsigned int cp;
  size_t len, i;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, cp = s[0] & 0x07;
  else
    return 0;

  for (i = 1; i < len; i++)
    {
      if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }

  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff
      || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* Write s as a JSON string literal.  Invalid UTF-8 becomes U+FFFD so the
   output is always valid JSON.  */
static void
write_json_string (FILE *out, const char *str)
{
  const unsigned char *s = (const unsigned char *) (str ? str : "");

  fputc ('"', out);
  while (*s)
    {
      size_t len;

      switch (*s)
        {
        case '"':
          fputs ("\\\"", out);
          break;
        case '\\':
          fputs ("\\\\", out);
          break;
        case '\b':
          fputs ("\\b", out);
          break;
        case '\f':
          fputs ("\\f", out);
          break;
        case '\n':
          fputs ("\\n", out);
          break;
        case '\r':
          fputs ("\\r", out);
          break;
        case '\t':
          fputs ("\\t", out);
          break;
        default:
          if (*s < 0x20 || *s == 0x7f)
            {
              fprintf (out, "\\u%04x", *s);
              break;
            }
          len = utf8_sequence_length (s);
          if (len == 0)
            {
              fputs ("\\ufffd", out);
              break;
            }
          fwrite (s, 1, len, out);
          s += len;
          continue;
        }
      s++;
    }
  fputc ('"', out);
}

/* RFC 3339 UTC timestamp with milliseconds: 2024-05-01T12:34:56.789Z.  */
static void
format_time_now (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  size_t n;

  if (clock_gettime (CLOCK_REALTIME, &ts) < 0 || gmtime_r (&ts.tv_sec, &tm) == NULL)
    {
      snprintf (buf, size, "1970-01-01T00:00:00.000Z");
      return;
    }

  n = strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

int
berth_error_write (berth_error_t err, FILE *out, enum berth_log_format format)
{
  const char *msg = err && err->msg ? err->msg : "unknown error";
  char time_buf[64];

  if (format == BERTH_LOG_FORMAT_JSON)
    {
      fputs ("{\"level\":\"error\",\"msg\":", out);
      write_json_string (out, msg);
      if (err && err->status != 0)
        fprintf (out, ",\"errno\":%d", err->status);
      if (err && err->op)
        {
          fputs (",\"op\":", out);
          write_json_string (out, err->op);
        }
      format_time_now (time_buf, sizeof (time_buf));
      fprintf (out, ",\"time\":\"%s\"}\n", time_buf);
    }
  else
    fprintf (out, "berth-runtime: %s\n", msg);

  if (fflush (out) == EOF || ferror (out))
    return -1;
  return 0;
}

static enum berth_log_format warn_format = BERTH_LOG_FORMAT_TEXT;

void
berth_warn_set_format (enum berth_log_format format)
{
  warn_format = format;
}

void
berth_warn (const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  char time_buf[64];
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  if (warn_format == BERTH_LOG_FORMAT_JSON)
    {
      fputs ("{\"level\":\"warning\",\"msg\":", stderr);
      write_json_string (stderr, msg);
      format_time_now (time_buf, sizeof (time_buf));
      fprintf (stderr, ",\"time\":\"%s\"}\n", time_buf);
    }
  else
    fprintf (stderr, "berth-runtime: warning: %s\n", msg);
  fflush (stderr);
}

int
berth_log_format_parse (const char *name, enum berth_log_format *format, berth_error_t *err)
{
  if (strcmp (name, "text") == 0)
    *format = BERTH_LOG_FORMAT_TEXT;
  else if (strcmp (name, "json") == 0)
    *format = BERTH_LOG_FORMAT_JSON;
  else
    return berth_make_error (err, 0, "unknown log format `%s` (use `text` or `json`)", name);
  return 0;
}
