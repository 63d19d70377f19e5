/*
 * Berth runtime: allocation and file helpers.  See utils.h.
 */
#include <errno.h>
#include <ftw.h>
#include <time.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "utils.h"

/* ---- allocation.  */

static void __attribute__ ((noreturn))
oom (void)
{
  static const char msg[] = "berth-runtime: out of memory\n";
  ssize_t n __attribute__ ((unused)) = write (STDERR_FILENO, msg, sizeof (msg) - 1);
  abort ();
}

void *
xmalloc0 (size_t size)
{
  void *p = calloc (1, size ? size : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xrealloc (void *ptr, size_t size)
{
  void *p = realloc (ptr, size ? size : 1);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    oom ();
  return p;
}

char *
xvasprintf (const char *fmt, va_list ap)
{
  char *p;
  if (vasprintf (&p, fmt, ap) < 0)
    oom ();
  return p;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *p;

  va_start (ap, fmt);
  p = xvasprintf (fmt, ap);
  va_end (ap);
  return p;
}

/* ---- files.  */

int
berth_read_file (const char *path, char **out, size_t *len, berth_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  size_t size = 0, alloc;
  struct stat st;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open `%s`", path);

  if (fstat (fd, &st) < 0)
    return berth_make_error_op (err, errno, "fstat", "fstat `%s`", path);

  alloc = (S_ISREG (st.st_mode) && st.st_size > 0) ? (size_t) st.st_size + 1 : 4096;
  buf = xrealloc (NULL, alloc);

  for (;;)
    {
      ssize_t n;

      if (alloc - size < 2)
        {
          if (alloc > SIZE_MAX / 2)
            return berth_make_error_op (err, EFBIG, "read", "read `%s`", path);
          alloc *= 2;
          buf = xrealloc (buf, alloc);
        }

      n = read (fd, buf + size, alloc - size - 1);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return berth_make_error_op (err, errno, "read", "read `%s`", path);
        }
      if (n == 0)
        break;
      size += (size_t) n;
    }

  buf[size] = '\0';
  *out = steal_pointer (&buf);
  if (len)
    *len = size;
  return 0;
}

int
berth_read_file_optional (const char *path, char **out, size_t *len, berth_error_t *err)
{
  int ret;

  *out = NULL;
  if (len)
    *len = 0;
  ret = berth_read_file (path, out, len, err);
  if (ret == 0 || (*err)->status != ENOENT)
    return ret;
  return berth_error_release (err);
}

/* ---- passing a file descriptor.  */

ssize_t
berth_send_fd (int sock, const void *data, size_t len, int fd, int flags)
{
  struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof (control));
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof (control.buf);
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
    }
  return sendmsg (sock, &msg, flags);
}

ssize_t
berth_recv_fd (int sock, void *data, size_t len, int *fd)
{
  struct iovec iov = { .iov_base = data, .iov_len = len };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof (control.buf) };
  struct cmsghdr *cmsg;
  ssize_t n;

  if (fd)
    *fd = -1;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return n;
  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        int passed;

        memcpy (&passed, CMSG_DATA (cmsg), sizeof (int));
        if (fd && *fd < 0)
          *fd = passed;
        else
          close (passed);
      }
  return n;
}

int
berth_write_all (int fd, const void *data, size_t len)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

/* Write data to the already created temporary file and rename it over path.
   The caller unlinks tmp on failure.  */
static int
write_tmp_and_rename (int *fdp, const char *tmp, const char *path, const void *data, size_t len,
                      mode_t mode, bool durable, berth_error_t *err)
{
  if (fchmod (*fdp, mode) < 0)
    return berth_make_error_op (err, errno, "fchmod", "fchmod `%s`", tmp);

  if (berth_write_all (*fdp, data, len) < 0)
    return berth_make_error_op (err, errno, "write", "write `%s`", tmp);

  if (durable && fsync (*fdp) < 0)
    return berth_make_error_op (err, errno, "fsync", "fsync `%s`", tmp);

  if (close (steal_fd (fdp)) < 0)
    return berth_make_error_op (err, errno, "close", "close `%s`", tmp);

  if (rename (tmp, path) < 0)
    return berth_make_error_op (err, errno, "rename", "rename `%s` to `%s`", tmp, path);

  return 0;
}

static int
write_file_replace (const char *path, const void *data, size_t len, mode_t mode, bool durable,
                    berth_error_t *err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  cleanup_close int dir_fd = -1;
  const char *slash, *base;
  int ret;

  if (path == NULL || *path == '\0')
    return berth_make_error_op (err, EINVAL, "write", "write file: empty path");

  slash = strrchr (path, '/');
  base = slash ? slash + 1 : path;
  if (*base == '\0')
    return berth_make_error_op (err, EISDIR, "write", "write `%s`", path);

  if (slash == NULL)
    dir = xstrdup (".");
  else if (slash == path)
    dir = xstrdup ("/");
  else
    dir = strndup (path, (size_t) (slash - path));
  if (dir == NULL)
    return berth_make_error_op (err, ENOMEM, "write", "write `%s`", path);

  tmp = xasprintf ("%.*s.%s.tmp-XXXXXX", (int) (base - path), path, base);

  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    {
      berth_make_error_op (err, errno, "mkostemp", "create temporary file in `%s`", dir);
      return berth_error_wrap (err, "write `%s`", path);
    }

  ret = write_tmp_and_rename (&fd, tmp, path, data, len, mode, durable, err);
  if (ret < 0)
    {
      unlink (tmp); /* best effort: the error being reported is the one above */
      return berth_error_wrap (err, "write `%s`", path);
    }

  if (! durable)
    return 0;
  /* The new content is in place; make the rename itself durable.  */
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    {
      berth_make_error_op (err, errno, "open", "open directory `%s`", dir);
      return berth_error_wrap (err, "write `%s`", path);
    }
  if (fsync (dir_fd) < 0)
    {
      berth_make_error_op (err, errno, "fsync", "fsync directory `%s`", dir);
      return berth_error_wrap (err, "write `%s`", path);
    }

  return 0;
}

int
berth_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, berth_error_t *err)
{
  return write_file_replace (path, data, len, mode, true, err);
}

int
berth_write_file_replace (const char *path, const void *data, size_t len, mode_t mode, berth_error_t *err)
{
  return write_file_replace (path, data, len, mode, false, err);
}

/* Create one directory; an existing directory is fine.  */
static int
mkdir_one (const char *dir, mode_t mode, berth_error_t *err)
{
  struct stat st;
  int saved_errno;

  if (mkdir (dir, mode) == 0)
    return 0;

  saved_errno = errno;
  if (stat (dir, &st) == 0)
    {
      if (S_ISDIR (st.st_mode))
        return 0;
      return berth_make_error_op (err, ENOTDIR, "mkdir", "mkdir `%s`", dir);
    }
  return berth_make_error_op (err, saved_errno, "mkdir", "mkdir `%s`", dir);
}

int
berth_mkdir_p (const char *path, mode_t mode, berth_error_t *err)
{
  cleanup_free char *buf = NULL;
  char *p;
  int ret;

  if (path == NULL || *path == '\0')
    return berth_make_error_op (err, EINVAL, "mkdir", "mkdir: empty path");

  buf = xstrdup (path);
  for (p = buf + 1;; p++)
    {
      char saved = *p;

      if (saved != '/' && saved != '\0')
        continue;

      if (p[-1] != '/') /* skip the empty components of "a//b" and "a/" */
        {
          *p = '\0';
          ret = mkdir_one (buf, mode, err);
          if (ret < 0)
            {
              if (saved != '\0')
                return berth_error_wrap (err, "mkdir -p `%s`", path);
              return ret;
            }
          *p = saved;
        }

      if (saved == '\0')
        break;
    }

  return 0;
}

/* ---- validation.  */

static bool
is_ascii_alnum (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_ascii_print (unsigned char c)
{
  return c >= 0x20 && c < 0x7f;
}

/* A copy of s fit for a message: bytes that are not printable ASCII are
   written as \xNN, and at most max_len bytes of s are shown.  */
static char *
quote_for_message (const char *s, size_t max_len)
{
  size_t n = strnlen (s, max_len + 1);
  size_t shown = n > max_len ? max_len : n;
  char *out = xmalloc0 (shown * 4 + 4);
  char *o = out;
  size_t i;

  for (i = 0; i < shown; i++)
    {
      unsigned char c = (unsigned char) s[i];
      if (is_ascii_print (c))
        *o++ = (char) c;
      else
        o += sprintf (o, "\\x%02x", c);
    }
  if (n > max_len)
    strcpy (o, "...");
  return out;
}

int
berth_validate_id (const char *id, berth_error_t *err)
{
  cleanup_free char *shown = NULL;
  char bad[8];
  size_t len, i;

  if (id == NULL || *id == '\0')
    return berth_make_error_op (err, 0, "validate_id",
                             "invalid container id ``: the id is empty (use 1 to %d letters, digits, "
                             "'_', '.', '-', starting with a letter or digit)",
                             BERTH_ID_MAX_LEN);

  len = strnlen (id, BERTH_ID_MAX_LEN + 1);
  if (len > BERTH_ID_MAX_LEN)
    {
      shown = quote_for_message (id, 32);
      return berth_make_error_op (err, 0, "validate_id",
                               "invalid container id `%s`: longer than %d characters", shown,
                               BERTH_ID_MAX_LEN);
    }

  for (i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) id[i];

      if (is_ascii_alnum (c) || (i > 0 && (c == '_' || c == '.' || c == '-')))
        continue;

      if (is_ascii_print (c))
        snprintf (bad, sizeof (bad), "'%c'", c);
      else
        snprintf (bad, sizeof (bad), "'\\x%02x'", c);

      shown = quote_for_message (id, BERTH_ID_MAX_LEN);
      if (i == 0)
        return berth_make_error_op (err, 0, "validate_id",
                                 "invalid container id `%s`: character %s at position 0 is not "
                                 "allowed as the first character (use a letter or digit)",
                                 shown, bad);
      return berth_make_error_op (err, 0, "validate_id",
                               "invalid container id `%s`: character %s at position %zu is not "
                               "allowed (use letters, digits, '_', '.', '-')",
                               shown, bad, i);
    }

  return 0;
}

/* ---- trees, processes, time.  */




static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (type == FTW_DP || type == FTW_D)
    return rmdir (path) < 0 && errno != ENOENT ? -1 : 0;
  return unlink (path) < 0 && errno != ENOENT ? -1 : 0;
}

static int
make_searchable (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) ftw;
  /* overlayfs leaves work/work with mode 000; root can remove it, but be safe for non-root.  */
  if (type == FTW_D && (st->st_mode & 0700) != 0700)
    chmod (path, (st->st_mode | 0700) & 07777);
  return 0;
}

int
berth_remove_tree (const char *path, berth_error_t *err)
{
  struct stat st;

  if (lstat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return berth_make_error_op (err, errno, "lstat", "lstat %s", path);
    }
  if (! S_ISDIR (st.st_mode))
    {
      if (unlink (path) < 0 && errno != ENOENT)
        return berth_make_error_op (err, errno, "unlink", "unlink %s", path);
      return 0;
    }
  nftw (path, make_searchable, 32, FTW_PHYS);
  if (nftw (path, remove_entry, 32, FTW_PHYS | FTW_DEPTH) < 0)
    return berth_make_error_op (err, errno, "remove", "remove %s", path);
  return 0;
}

unsigned long long
berth_pid_start_time (pid_t pid)
{
  cleanup_free char *path = xasprintf ("/proc/%d/stat", (int) pid);
  cleanup_free char *buf = NULL;
  unsigned long long start = 0;
  berth_error_t err = NULL;
  const char *p;
  int field;

  if (pid <= 0 || berth_read_file (path, &buf, NULL, &err) < 0)
    {
      berth_error_release (&err);
      return 0;
    }
  /* The command name (field 2) may contain spaces and ')': start after the last ')'.  */
  p = strrchr (buf, ')');
  if (p == NULL)
    return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X') /* a zombie is gone for our purposes */
    return 0;
  for (field = 3; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  if (p == NULL || sscanf (p, "%llu", &start) != 1)
    return 0;
  return start;
}

void
berth_time_now_rfc3339 (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  char base[32];

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (base, sizeof (base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}
