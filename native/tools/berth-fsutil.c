/*
 * berth-fsutil: the few file operations Node cannot do, for unpacking image layers
 * (server/images/layer.ts).  Node has no mknod(2), mkfifo(3) or setxattr(2), so the
 * unpacker writes files, directories, symlinks and hard links itself and hands this
 * program one batch of the rest, after it has set ownership (chown clears the
 * security.capability xattr, so xattrs must come after it).
 *
 *   berth-fsutil apply ROOT < OPS
 *   berth-fsutil xattrs ROOT < PATHS
 *   berth-fsutil serve < REQUESTS
 *
 * OPS is a sequence of records, each a list of NUL-terminated fields:
 *
 *   mknod PATH KIND MODE MAJOR MINOR UID GID MTIME_SEC MTIME_NSEC
 *       KIND is c (character device), b (block device) or p (FIFO); MODE is octal
 *       permission bits (setuid/setgid/sticky included)
 *   xattr PATH NAME HEXVALUE
 *       lsetxattr on PATH itself (never on what a symlink points at); PATH "." is ROOT
 *
 * PATH is relative to ROOT.  Its parent directory is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), so no record can reach
 * outside ROOT, through a symlink, or onto another mount; the last component must be a
 * plain name.  The kernel is the last word here, whatever the caller checked before.
 *
 * `xattrs` reads NUL-terminated relative paths (as above; "." is ROOT) and writes, for each,
 * NUL-terminated fields: the path, the number N of its xattrs, then N pairs of name and
 * lowercase hex value (llistxattr/lgetxattr: a symlink's own, never its target's).  It
 * reads overlay upper directories for `berth image:commit`-style diffs.
 *
 * `serve` answers `xattrs` requests one after another, so that a caller reading many
 * directories (a build commits one per RUN step) starts this program once: each request is
 * ROOT and then its PATHS, NUL-terminated fields ended by an empty one; each answer is `ok`
 * followed by the fields `xattrs` writes and an empty field, or `error` and the message, as
 * fields.  A failing request does not end the service.  It exits 0 at the end of input
 * between requests, 1 when input ends inside one or cannot be read.
 *
 * Stops at the first failing record: exit 1 with one line on stderr naming the record
 * number, the call, its object and errno.  Exit 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "error.h"
#include "utils.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define MAX_FIELDS 10
#define MAX_XATTR_VALUE 65536

struct record
{
  char *fields[MAX_FIELDS];
  size_t n;
};

static void
record_clear (struct record *r)
{
  for (size_t i = 0; i < r->n; i++)
    free (r->fields[i]);
  r->n = 0;
}

static void
cleanup_recordp (struct record *r)
{
  record_clear (r);
}
#define cleanup_record __attribute__ ((cleanup (cleanup_recordp)))

/* Read one NUL-terminated field.  Returns 1 and *out (caller frees), 0 at a clean end of
   input, or a negative error.  */
static int
read_field (FILE *in, char **out, berth_error_t *err)
{
  char *line = NULL;
  size_t cap = 0;
  errno = 0;
  ssize_t n = getdelim (&line, &cap, '\0', in);
  if (n < 0)
    {
      int saved = errno;
      free (line);
      if (saved != 0)
        return berth_make_error_op (err, saved, "read", "read operations from stdin");
      return 0;
    }
  if (n == 0 || line[n - 1] != '\0')
    {
      free (line);
      return berth_make_error (err, 0, "operations on stdin end in the middle of a field");
    }
  *out = line;
  return 1;
}

static size_t
fields_for (const char *op)
{
  if (strcmp (op, "mknod") == 0)
    return 10;
  if (strcmp (op, "xattr") == 0)
    return 4;
  return 0;
}

/* Read the next record.  Returns 1, 0 at the end of input, or a negative error.  */
static int
read_record (FILE *in, struct record *r, size_t index, berth_error_t *err)
{
  char *op = NULL;
  int ret = read_field (in, &op, err);
  if (ret <= 0)
    return ret;
  r->fields[r->n++] = op;
  size_t want = fields_for (op);
  if (want == 0)
    return berth_make_error (err, 0, "record %zu: unknown operation `%s` (mknod, xattr)", index, op);
  while (r->n < want)
    {
      char *f = NULL;
      ret = read_field (in, &f, err);
      if (ret < 0)
        return ret;
      if (ret == 0)
        return berth_make_error (err, 0, "record %zu (%s): input ends after %zu of %zu fields", index, op, r->n,
                                 want);
      r->fields[r->n++] = f;
    }
  return 1;
}

static int
parse_ulong (const char *s, int base, unsigned long long max, unsigned long long *out, const char *what,
             size_t index, berth_error_t *err)
{
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull (s, &end, base);
  if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v > max)
    return berth_make_error (err, 0, "record %zu: %s `%s` is not a number up to %llu", index, what, s, max);
  *out = v;
  return 0;
}

/* Open the parent directory of `path` beneath rootfd; *name points at its last component. */
static int
open_parent (int rootfd, char *path, const char **name, size_t index, berth_error_t *err)
{
  if (path[0] == '\0' || path[0] == '/')
    return berth_make_error (err, 0, "record %zu: path `%s` must be relative and not empty", index, path);
  char *slash = strrchr (path, '/');
  const char *parent = ".";
  if (slash != NULL)
    {
      *slash = '\0';
      parent = path;
      *name = slash + 1;
    }
  else
    *name = path;
  if (**name == '\0' || strcmp (*name, ".") == 0 || strcmp (*name, "..") == 0)
    {
      if (slash != NULL)
        *slash = '/';
      return berth_make_error (err, 0, "record %zu: path `%s` does not end in a file name", index, path);
    }
  struct open_how how = {
    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd;
  do
    fd = (int) syscall (SYS_openat2, rootfd, parent, &how, sizeof (how));
  while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  int saved = errno;
  if (slash != NULL)
    *slash = '/';
  if (fd < 0)
    return berth_make_error_op (err, saved, "openat2", "record %zu: open the directory of `%s` beneath the layer", index,
                                path);
  return fd;
}

static int
do_mknod (int rootfd, struct record *r, size_t index, berth_error_t *err)
{
  char *path = r->fields[1];
  const char *kind = r->fields[2];
  unsigned long long mode, major, minor, uid, gid, sec, nsec;
  int ret;
  if ((ret = parse_ulong (r->fields[3], 8, 07777, &mode, "mode", index, err)) < 0
      || (ret = parse_ulong (r->fields[4], 10, 0xfff, &major, "major", index, err)) < 0
      || (ret = parse_ulong (r->fields[5], 10, 0xfffff, &minor, "minor", index, err)) < 0
      || (ret = parse_ulong (r->fields[6], 10, UINT32_MAX - 1, &uid, "uid", index, err)) < 0
      || (ret = parse_ulong (r->fields[7], 10, UINT32_MAX - 1, &gid, "gid", index, err)) < 0
      || (ret = parse_ulong (r->fields[8], 10, INT64_MAX, &sec, "mtime seconds", index, err)) < 0
      || (ret = parse_ulong (r->fields[9], 10, 999999999, &nsec, "mtime nanoseconds", index, err)) < 0)
    return ret;
  mode_t type;
  if (strcmp (kind, "c") == 0)
    type = S_IFCHR;
  else if (strcmp (kind, "b") == 0)
    type = S_IFBLK;
  else if (strcmp (kind, "p") == 0)
    type = S_IFIFO;
  else
    return berth_make_error (err, 0, "record %zu: node kind `%s` is not c, b or p", index, kind);

  const char *name = NULL;
  cleanup_close int dirfd = open_parent (rootfd, path, &name, index, err);
  if (dirfd < 0)
    return dirfd;
  if (mknodat (dirfd, name, type | (mode_t) (mode & 0777), makedev (major, minor)) < 0)
    return berth_make_error_op (err, errno, "mknod", "record %zu: mknod `%s`", index, path);
  if (fchownat (dirfd, name, (uid_t) uid, (gid_t) gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_make_error_op (err, errno, "chown", "record %zu: chown `%s` to %llu:%llu", index, path, uid, gid);
  /* After chown, which clears setuid and setgid.  A device node or FIFO is never a symlink,
     so fchmodat (which follows) acts on the node just made: nothing can have replaced it,
     the layer directory is private to the unpacker.  */
  if (fchmodat (dirfd, name, (mode_t) mode, 0) < 0)
    return berth_make_error_op (err, errno, "chmod", "record %zu: chmod `%s` to %llo", index, path, mode);
  struct timespec times[2] = { { .tv_sec = (time_t) sec, .tv_nsec = (long) nsec },
                               { .tv_sec = (time_t) sec, .tv_nsec = (long) nsec } };
  if (utimensat (dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_make_error_op (err, errno, "utimensat", "record %zu: set the times of `%s`", index, path);
  return 0;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static int
do_xattr (int rootfd, struct record *r, size_t index, berth_error_t *err)
{
  char *path = r->fields[1];
  const char *xname = r->fields[2];
  const char *hex = r->fields[3];
  size_t hexlen = strlen (hex);
  if (hexlen % 2 != 0 || hexlen / 2 > MAX_XATTR_VALUE)
    return berth_make_error (err, 0, "record %zu: xattr value for `%s` is not lowercase hex of at most %d bytes", index,
                             path, MAX_XATTR_VALUE);
  cleanup_free unsigned char *value = xmalloc0 (hexlen / 2 + 1);
  for (size_t i = 0; i < hexlen / 2; i++)
    {
      int hi = hex_value (hex[2 * i]), lo = hex_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return berth_make_error (err, 0, "record %zu: xattr value for `%s` is not lowercase hex", index, path);
      value[i] = (unsigned char) (hi << 4 | lo);
    }
  const char *name = NULL;
  cleanup_close int dirfd = -1;
  cleanup_free char *target = NULL;
  if (strcmp (path, ".") == 0)
    target = xasprintf ("/proc/self/fd/%d", rootfd); /* the layer root itself */
  else
    {
      dirfd = open_parent (rootfd, path, &name, index, err);
      if (dirfd < 0)
        return dirfd;
      /* The parent was resolved safely; lsetxattr through its /proc/self/fd link acts on
         the entry itself, a symlink included, and never follows it.  */
      target = xasprintf ("/proc/self/fd/%d/%s", dirfd, name);
    }
  /* For the root, the /proc link is the last component: setxattr follows it to the
     directory ROOT was opened as (lsetxattr would act on the magic link itself).  */
  int ret = name == NULL ? setxattr (target, xname, value, hexlen / 2, 0)
                         : lsetxattr (target, xname, value, hexlen / 2, 0);
  if (ret < 0)
    return berth_make_error_op (err, errno, "setxattr", "record %zu: set xattr `%s` on `%s`", index, xname, path);
  return 0;
}

static int
apply (const char *root, FILE *in, berth_error_t *err)
{
  cleanup_close int rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_make_error_op (err, errno, "open", "open layer directory `%s`", root);
  for (size_t index = 0;; index++)
    {
      cleanup_record struct record r = { .n = 0 };
      int ret = read_record (in, &r, index, err);
      if (ret < 0)
        return ret;
      if (ret == 0)
        return 0;
      ret = strcmp (r.fields[0], "mknod") == 0 ? do_mknod (rootfd, &r, index, err) : do_xattr (rootfd, &r, index, err);
      if (ret < 0)
        return ret;
    }
}

/* The /proc path that names `path` beneath rootfd without following a symlink on the way
   (for "." the root itself, whose link must then be followed).  */
static int
entry_target (int rootfd, char *path, size_t index, int *dirfd, char **target, berth_error_t *err)
{
  const char *name = NULL;
  if (strcmp (path, ".") == 0)
    {
      *target = xasprintf ("/proc/self/fd/%d/", rootfd); /* the trailing slash follows the link */
      return 0;
    }
  *dirfd = open_parent (rootfd, path, &name, index, err);
  if (*dirfd < 0)
    return *dirfd;
  *target = xasprintf ("/proc/self/fd/%d/%s", *dirfd, name);
  return 0;
}

static int
write_field (FILE *out, const char *s)
{
  return fwrite (s, 1, strlen (s) + 1, out) == strlen (s) + 1 ? 0 : -1;
}

/* Read paths from `in` up to its end (or, with `request`, up to an empty field: 1 when
   one was read) and write their xattrs to `out`.  */
static int
list_xattrs (const char *root, FILE *in, FILE *out, bool request, berth_error_t *err)
{
  cleanup_close int rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_make_error_op (err, errno, "open", "open directory `%s`", root);
  for (size_t index = 0;; index++)
    {
      cleanup_free char *path = NULL;
      int ret = read_field (in, &path, err);
      if (ret < 0)
        return ret;
      if (ret == 0)
        {
          if (request)
            return berth_make_error (err, 0, "the request for `%s` ends without its empty field", root);
          break;
        }
      if (request && path[0] == '\0')
        return 1;
      cleanup_close int dirfd = -1;
      cleanup_free char *target = NULL;
      ret = entry_target (rootfd, path, index, &dirfd, &target, err);
      if (ret < 0)
        return ret;
      ssize_t size = llistxattr (target, NULL, 0);
      if (size < 0)
        return berth_make_error_op (err, errno, "listxattr", "record %zu: list the xattrs of `%s`", index, path);
      cleanup_free char *names = xmalloc0 ((size_t) size + 1);
      size = llistxattr (target, names, (size_t) size);
      if (size < 0)
        return berth_make_error_op (err, errno, "listxattr", "record %zu: list the xattrs of `%s`", index, path);
      size_t count = 0;
      for (ssize_t i = 0; i < size; i += (ssize_t) strlen (names + i) + 1)
        count++;
      char number[32];
      snprintf (number, sizeof (number), "%zu", count);
      if (write_field (out, path) < 0 || write_field (out, number) < 0)
        return berth_make_error_op (err, errno, "write", "write to stdout");
      for (ssize_t i = 0; i < size; i += (ssize_t) strlen (names + i) + 1)
        {
          const char *xname = names + i;
          cleanup_free unsigned char *value = xmalloc0 (MAX_XATTR_VALUE);
          ssize_t n = lgetxattr (target, xname, value, MAX_XATTR_VALUE);
          if (n < 0)
            return berth_make_error_op (err, errno, "getxattr", "record %zu: read xattr `%s` of `%s`", index, xname,
                                        path);
          cleanup_free char *hex = xmalloc0 ((size_t) n * 2 + 1);
          for (ssize_t k = 0; k < n; k++)
            snprintf (hex + 2 * k, 3, "%02x", value[k]);
          if (write_field (out, xname) < 0 || write_field (out, hex) < 0)
            return berth_make_error_op (err, errno, "write", "write to stdout");
        }
    }
  if (fflush (out) != 0)
    return berth_make_error_op (err, errno, "write", "write to stdout");
  return 0;
}

/* Skip the rest of a failed request, up to its empty field; 1 once there, 0 at the end of input.  */
static int
skip_request (FILE *in, berth_error_t *err)
{
  for (;;)
    {
      cleanup_free char *path = NULL;
      int ret = read_field (in, &path, err);
      if (ret <= 0)
        return ret;
      if (path[0] == '\0')
        return 1;
    }
}

/* `serve`: one answer per request until the end of input.  */
static int
serve (FILE *in, FILE *out, berth_error_t *err)
{
  for (;;)
    {
      cleanup_free char *root = NULL;
      cleanup_free char *answer = NULL;
      size_t len = 0;
      berth_error_t failed = NULL;
      int ret = read_field (in, &root, err);
      if (ret <= 0)
        return ret;
      {
        cleanup_file FILE *buf = open_memstream (&answer, &len);
        if (buf == NULL)
          return berth_make_error_op (err, errno, "open_memstream", "buffer an answer");
        ret = list_xattrs (root, in, buf, true, &failed);
        if (fflush (buf) != 0)
          return berth_make_error_op (err, errno, "write", "buffer an answer");
      }
      if (ret < 0)
        {
          /* What was not read of this request is skipped; the next one is answered.  */
          ret = skip_request (in, err);
          if (ret <= 0)
            {
              berth_error_release (&failed);
              return ret < 0 ? ret : berth_make_error (err, 0, "input ends inside a request");
            }
          ret = write_field (out, "error") < 0 || write_field (out, failed->msg) < 0 ? -1 : 0;
          berth_error_release (&failed);
        }
      else
        ret = write_field (out, "ok") < 0 || fwrite (answer, 1, len, out) != len || write_field (out, "") < 0 ? -1 : 0;
      if (ret < 0 || fflush (out) != 0)
        return berth_make_error_op (err, errno, "write", "write to stdout");
    }
}

int
main (int argc, char **argv)
{
  berth_error_t err = NULL;
  int ret;
  if (argc == 2 && strcmp (argv[1], "serve") == 0)
    ret = serve (stdin, stdout, &err);
  else if (argc == 3 && strcmp (argv[1], "apply") == 0)
    ret = apply (argv[2], stdin, &err);
  else if (argc == 3 && strcmp (argv[1], "xattrs") == 0)
    ret = list_xattrs (argv[2], stdin, stdout, false, &err);
  else
    {
      fprintf (stderr, "usage: berth-fsutil apply ROOT < OPERATIONS\n       berth-fsutil xattrs ROOT < PATHS\n"
                       "       berth-fsutil serve < REQUESTS\n");
      return 2;
    }
  if (ret < 0)
    {
      fprintf (stderr, "berth-fsutil: %s\n", err->msg);
      berth_error_release (&err);
      return 1;
    }
  return 0;
}
