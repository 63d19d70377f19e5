/*
 * Berth runtime: the container log in Docker's json-file shape.  See log.h.
 *
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-23T18:20:01.123456789Z"}
 *
 * Each stream keeps its own partial line.  An entry holds at most BERTH_LOG_LINE_MAX bytes
 * of text plus its newline; a longer line is cut into partial entries (no trailing
 * newline), never in the middle of a UTF-8 character when the cut can move back to one.
 * Where the cut falls does not depend on how the input was split into chunks.
 *
 * The "log" string is valid JSON whatever the bytes: '"' and '\' are escaped, \n \r \t
 * use their short forms, other control characters \u00XX, and each byte that is not part
 * of a valid UTF-8 sequence becomes U+FFFD (as Go's encoding/json does).
 *
 * Every entry goes out in one write(2) on an O_APPEND descriptor, so a reader tailing the
 * file sees whole lines.  Before an entry that would take a non-empty file past max_size,
 * the files are rotated: path.(n-2) -> path.(n-1), ..., path -> path.1 (the oldest is
 * replaced), and path is opened anew; with max_files == 1 the file is truncated instead.
 * max_size 0 means no limit.
 *
 * When writing an entry fails, berth_log_write returns the error at once and the rest of
 * that chunk is dropped (the stream's partial line stays consistent); berth_log_close
 * always closes and frees, and reports the first error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "utils.h"

#define BERTH_LOG_LINE_MAX 16384
#define LOG_FILE_MODE 0640

struct log_partial
{
  char *stream;
  char *buf; /* BERTH_LOG_LINE_MAX + 1 bytes: a full line and its newline */
  size_t len;
};

struct berth_log
{
  char *path;
  int fd;
  uint64_t max_size;
  unsigned max_files;
  uint64_t size; /* bytes in the current file */
  struct log_partial *partials;
  size_t n_partials;
  char *entry; /* scratch buffer for one entry */
  size_t entry_alloc;
};

/* ---- JSON.  */

static bool
is_cont (unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when s[0] does not start one.
   Overlong forms, surrogates and code points past U+10FFFF are invalid.  */
static size_t
utf8_sequence (const unsigned char *s, size_t len)
{
  unsigned char c = s[0];

  if (c < 0x80)
    return 1;
  if (c < 0xC2)
    return 0;
  if (c < 0xE0)
    return len >= 2 && is_cont (s[1]) ? 2 : 0;
  if (c < 0xF0)
    {
      if (len < 3 || ! is_cont (s[1]) || ! is_cont (s[2]))
        return 0;
      if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
        return 0;
      return 3;
    }
  if (c < 0xF5)
    {
      if (len < 4 || ! is_cont (s[1]) || ! is_cont (s[2]) || ! is_cont (s[3]))
        return 0;
      if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
        return 0;
      return 4;
    }
  return 0;
}

/* Write the JSON string body for s (no quotes) at out, which has room for 6 * len bytes.
   Returns the bytes written.  */
static size_t
json_escape (char *out, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *) s;
  char *o = out;
  size_t i = 0;

  while (i < len)
    {
      unsigned char c = p[i];
      size_t n;

      switch (c)
        {
        case '"':
          *o++ = '\\';
          *o++ = '"';
          i++;
          continue;
        case '\\':
          *o++ = '\\';
          *o++ = '\\';
          i++;
          continue;
        case '\n':
          *o++ = '\\';
          *o++ = 'n';
          i++;
          continue;
        case '\r':
          *o++ = '\\';
          *o++ = 'r';
          i++;
          continue;
        case '\t':
          *o++ = '\\';
          *o++ = 't';
          i++;
          continue;
        default:
          break;
        }

      if (c < 0x20)
        {
          memcpy (o, "\\u00", 4);
          o[4] = hex[c >> 4];
          o[5] = hex[c & 0xF];
          o += 6;
          i++;
          continue;
        }

      n = utf8_sequence (p + i, len - i);
      if (n == 0)
        {
          memcpy (o, "\xEF\xBF\xBD", 3); /* U+FFFD for this one byte */
          o += 3;
          i++;
          continue;
        }
      memcpy (o, p + i, n);
      o += n;
      i += n;
    }
  return (size_t) (o - out);
}

/* How many bytes at the end of buf[0..len) are the start of a UTF-8 character that is not
   complete yet (0 to 3): a cut there would split the character.  */
static size_t
incomplete_utf8_tail (const char *buf, size_t len)
{
  const unsigned char *p = (const unsigned char *) buf;
  size_t j;

  for (j = 1; j <= 3 && j <= len; j++)
    {
      unsigned char c = p[len - j];
      size_t need;

      if (is_cont (c))
        continue;
      if (c < 0xC2 || c >= 0xF5)
        return 0;
      need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      return need > j ? j : 0;
    }
  return 0;
}

/* ---- files.  */

static int
open_log_file (const char *path, int *fd, uint64_t *size, berth_error_t *err)
{
  cleanup_close int f = -1;
  struct stat st;

  f = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, LOG_FILE_MODE);
  if (f < 0)
    return berth_make_error_op (err, errno, "open", "open %s", path);
  if (fstat (f, &st) < 0)
    return berth_make_error_op (err, errno, "fstat", "fstat %s", path);
  *size = (uint64_t) st.st_size;
  *fd = steal_fd (&f);
  return 0;
}

static int
rotate (struct berth_log *log, berth_error_t *err)
{
  cleanup_free char *first = NULL;
  uint64_t size = 0;
  unsigned i, top;
  int fd = -1, ret;

  if (log->max_files <= 1)
    {
      if (ftruncate (log->fd, 0) < 0)
        return berth_make_error_op (err, errno, "ftruncate", "truncate %s", log->path);
      log->size = 0;
      return 0;
    }

  /* Only the files that exist need to move: path.1 ... path.(top-1) shift up by one.  */
  top = 1;
  while (top < log->max_files - 1)
    {
      cleanup_free char *name = xasprintf ("%s.%u", log->path, top);
      struct stat st;

      if (lstat (name, &st) < 0)
        {
          if (errno != ENOENT)
            return berth_make_error_op (err, errno, "lstat", "lstat %s", name);
          break;
        }
      top++;
    }

  for (i = top; i >= 2; i--)
    {
      cleanup_free char *from = xasprintf ("%s.%u", log->path, i - 1);
      cleanup_free char *to = xasprintf ("%s.%u", log->path, i);

      if (rename (from, to) < 0 && errno != ENOENT)
        return berth_make_error_op (err, errno, "rename", "rename %s to %s", from, to);
    }

  first = xasprintf ("%s.1", log->path);
  if (rename (log->path, first) < 0)
    return berth_make_error_op (err, errno, "rename", "rename %s to %s", log->path, first);

  ret = open_log_file (log->path, &fd, &size, err);
  if (ret < 0)
    return ret;

  if (close (log->fd) < 0)
    {
      int saved_errno = errno;

      log->fd = fd;
      log->size = size;
      return berth_make_error_op (err, saved_errno, "close", "close %s", first);
    }
  log->fd = fd;
  log->size = size;
  return 0;
}

/* Write one entry for text[0..len) (a line with its newline, or a partial one).  */
static int
emit (struct berth_log *log, const char *stream, const char *text, size_t len, berth_error_t *err)
{
  static const char head[] = "{\"log\":\"";
  static const char mid[] = "\",\"stream\":\"";
  static const char time_key[] = "\",\"time\":\"";
  static const char tail[] = "\"}\n";
  size_t stream_len = strlen (stream);
  size_t need, n = 0;
  char now[64];
  int ret;

  berth_time_now_rfc3339 (now, sizeof (now));

  need = sizeof (head) + 6 * len + sizeof (mid) + 6 * stream_len + sizeof (time_key) + strlen (now)
         + sizeof (tail);
  if (need > log->entry_alloc)
    {
      log->entry = xrealloc (log->entry, need);
      log->entry_alloc = need;
    }

  memcpy (log->entry + n, head, sizeof (head) - 1);
  n += sizeof (head) - 1;
  n += json_escape (log->entry + n, text, len);
  memcpy (log->entry + n, mid, sizeof (mid) - 1);
  n += sizeof (mid) - 1;
  n += json_escape (log->entry + n, stream, stream_len);
  memcpy (log->entry + n, time_key, sizeof (time_key) - 1);
  n += sizeof (time_key) - 1;
  memcpy (log->entry + n, now, strlen (now));
  n += strlen (now);
  memcpy (log->entry + n, tail, sizeof (tail) - 1);
  n += sizeof (tail) - 1;

  if (log->max_size > 0 && log->size > 0 && log->size + n > log->max_size)
    {
      ret = rotate (log, err);
      if (ret < 0)
        return berth_error_wrap (err, "rotate %s", log->path);
    }

  if (berth_write_all (log->fd, log->entry, n) < 0)
    {
      int saved_errno = errno;
      struct stat st;

      if (fstat (log->fd, &st) == 0) /* part of it may be written */
        log->size = (uint64_t) st.st_size;
      return berth_make_error_op (err, saved_errno, "write", "write %s", log->path);
    }
  log->size += n;
  return 0;
}

/* ---- API.  */

int
berth_log_open (const char *path, uint64_t max_size, unsigned max_files, struct berth_log **out,
                berth_error_t *err)
{
  struct berth_log *log;
  uint64_t size = 0;
  int fd = -1, ret;

  if (path == NULL || *path == '\0')
    return berth_make_error_op (err, EINVAL, "open", "open log: empty path");
  if (max_files < 1)
    return berth_make_error_op (err, EINVAL, "open", "open log %s: max_files must be at least 1",
                                path);

  ret = open_log_file (path, &fd, &size, err);
  if (ret < 0)
    return ret;

  log = xmalloc0 (sizeof (*log));
  log->path = xstrdup (path);
  log->fd = fd;
  log->max_size = max_size;
  log->max_files = max_files;
  log->size = size;
  *out = log;
  return 0;
}

static struct log_partial *
partial_for (struct berth_log *log, const char *stream)
{
  struct log_partial *p;
  size_t i;

  for (i = 0; i < log->n_partials; i++)
    if (strcmp (log->partials[i].stream, stream) == 0)
      return &log->partials[i];

  log->partials = xrealloc (log->partials, (log->n_partials + 1) * sizeof (*log->partials));
  p = &log->partials[log->n_partials++];
  p->stream = xstrdup (stream);
  p->buf = xmalloc0 (BERTH_LOG_LINE_MAX + 1);
  p->len = 0;
  return p;
}

/* The buffer is full and the line goes on: write it as a partial entry, keeping back an
   unfinished UTF-8 character for the next one.  */
static int
flush_full (struct berth_log *log, struct log_partial *p, berth_error_t *err)
{
  size_t keep = incomplete_utf8_tail (p->buf, p->len);
  int ret;

  ret = emit (log, p->stream, p->buf, p->len - keep, err);
  memmove (p->buf, p->buf + p->len - keep, keep);
  p->len = keep;
  return ret;
}

int
berth_log_write (struct berth_log *log, const char *stream, const char *data, size_t len,
                 berth_error_t *err)
{
  struct log_partial *p;
  int ret;

  if (log == NULL || stream == NULL || (data == NULL && len > 0))
    return berth_make_error_op (err, EINVAL, "write", "write log: bad arguments");

  p = partial_for (log, stream);

  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t text = nl ? (size_t) (nl - data) : len; /* bytes before the newline */
      size_t room = BERTH_LOG_LINE_MAX - p->len;

      if (text > room)
        {
          /* The line does not fit: fill the buffer and write it as a partial entry.  */
          memcpy (p->buf + p->len, data, room);
          p->len += room;
          data += room;
          len -= room;
          ret = flush_full (log, p, err);
          if (ret < 0)
            return ret;
          continue;
        }

      if (nl == NULL)
        {
          memcpy (p->buf + p->len, data, len);
          p->len += len;
          break;
        }

      if (p->len == 0)
        ret = emit (log, p->stream, data, text + 1, err);
      else
        {
          memcpy (p->buf + p->len, data, text + 1); /* fits: buf has room for the newline */
          ret = emit (log, p->stream, p->buf, p->len + text + 1, err);
          p->len = 0;
        }
      data += text + 1;
      len -= text + 1;
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
berth_log_close (struct berth_log *log, berth_error_t *err)
{
  size_t i;
  int ret = 0;

  if (log == NULL)
    return 0;

  for (i = 0; i < log->n_partials; i++)
    {
      struct log_partial *p = &log->partials[i];

      if (p->len > 0 && ret == 0)
        ret = emit (log, p->stream, p->buf, p->len, err);
      free (p->stream);
      free (p->buf);
    }
  free (log->partials);

  if (close (log->fd) < 0 && ret == 0)
    ret = berth_make_error_op (err, errno, "close", "close %s", log->path);

  free (log->entry);
  free (log->path);
  free (log);
  return ret;
}
