/*
 * Unit tests for src/utils.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fixtures.h"
#include "tap.h"
#include "utils.h"

/* ---- fixtures.  */


static bool
is_dir (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* Number of entries in dir other than "." and "..", or -1.  */
static int
count_entries (const char *dir)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  return n;
}

/* ---- berth_validate_id.  */

static int
test_validate_id_good (void)
{
  static const char *const good[] = { "a", "Z", "0", "abc", "A1_b.c-d", "web.1", "9-x_y.z" };
  char max_len[BERTH_ID_MAX_LEN + 1];
  berth_error_t err = NULL;
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (good); i++)
    if (berth_validate_id (good[i], &err) != 0)
      {
        tap_diag ("id `%s` rejected: %s", good[i], err ? err->msg : "(no error)");
        berth_error_release (&err);
        return -1;
      }

  memset (max_len, 'a', BERTH_ID_MAX_LEN);
  max_len[BERTH_ID_MAX_LEN] = '\0';
  TAP_CHECK_INT_EQ (berth_validate_id (max_len, &err), 0);
  TAP_CHECK (err == NULL);
  return 0;
}

static int
test_validate_id_bad_char (void)
{
  berth_error_t err = NULL;

  TAP_CHECK (berth_validate_id ("a/b", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id `a/b`: character '/' at position 1 is not "
                              "allowed (use letters, digits, '_', '.', '-')");
  TAP_CHECK_STR_EQ (err->op, "validate_id");
  TAP_CHECK_INT_EQ (err->status, 0);
  berth_error_release (&err);

  TAP_CHECK (berth_validate_id ("web 1", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id `web 1`: character ' ' at position 3 is not "
                              "allowed (use letters, digits, '_', '.', '-')");
  berth_error_release (&err);

  TAP_CHECK (berth_validate_id ("ab\ncd", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id `ab\\x0acd`: character '\\x0a' at position 2 "
                              "is not allowed (use letters, digits, '_', '.', '-')");
  berth_error_release (&err);

  TAP_CHECK (berth_validate_id ("caf\xc3\xa9", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id `caf\\xc3\\xa9`: character '\\xc3' at "
                              "position 3 is not allowed (use letters, digits, '_', '.', '-')");
  berth_error_release (&err);
  return 0;
}

static int
test_validate_id_bad_first_char (void)
{
  static const char *const bad[] = { "_a", ".a", "-a", "..", "/a" };
  berth_error_t err = NULL;
  size_t i;

  TAP_CHECK (berth_validate_id ("_abc", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id `_abc`: character '_' at position 0 is not "
                              "allowed as the first character (use a letter or digit)");
  berth_error_release (&err);

  for (i = 0; i < BERTH_ARRAY_SIZE (bad); i++)
    {
      if (berth_validate_id (bad[i], &err) == 0)
        TAP_FAIL ("id `%s` accepted", bad[i]);
      TAP_CHECK (strstr (err->msg, "at position 0 is not allowed as the first character") != NULL);
      berth_error_release (&err);
    }
  return 0;
}

static int
test_validate_id_empty (void)
{
  berth_error_t err = NULL;

  TAP_CHECK (berth_validate_id ("", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id ``: the id is empty (use 1 to 128 letters, "
                              "digits, '_', '.', '-', starting with a letter or digit)");
  berth_error_release (&err);

  TAP_CHECK (berth_validate_id (NULL, &err) < 0);
  TAP_CHECK (err != NULL);
  berth_error_release (&err);
  return 0;
}

static int
test_validate_id_too_long (void)
{
  char id[BERTH_ID_MAX_LEN + 2];
  berth_error_t err = NULL;

  memset (id, 'a', BERTH_ID_MAX_LEN + 1);
  id[BERTH_ID_MAX_LEN + 1] = '\0';
  TAP_CHECK (berth_validate_id (id, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid container id `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...`: longer "
                              "than 128 characters");
  berth_error_release (&err);
  return 0;
}

/* ---- files.  */

static int
test_write_atomic_then_read (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  berth_error_t err = NULL;
  struct stat st;
  mode_t old_umask;
  size_t len = 0;
  int ret;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/config.json", dir);

  old_umask = umask (077);
  ret = berth_write_file_atomic (path, "{\"a\":1}\n", 8, 0644, &err);
  umask (old_umask);
  if (ret < 0)
    TAP_FAIL ("write failed: %s", err->msg);

  TAP_CHECK_INT_EQ (stat (path, &st), 0);
  TAP_CHECK_INT_EQ (st.st_mode & 07777, 0644); /* fchmod: the umask does not apply */
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, &len, &err), 0);
  TAP_CHECK_INT_EQ (len, 8);
  TAP_CHECK_STR_EQ (data, "{\"a\":1}\n");
  free (steal_pointer (&data));

  /* Replace it: new content and mode, no temporary file left.  */
  TAP_CHECK_INT_EQ (berth_write_file_atomic (path, "x", 1, 0600, &err), 0);
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, NULL, &err), 0);
  TAP_CHECK_STR_EQ (data, "x");
  TAP_CHECK_INT_EQ (stat (path, &st), 0);
  TAP_CHECK_INT_EQ (st.st_mode & 07777, 0600);
  TAP_CHECK_INT_EQ (count_entries (dir), 1);

  /* An empty file.  */
  free (steal_pointer (&data));
  TAP_CHECK_INT_EQ (berth_write_file_atomic (path, "", 0, 0600, &err), 0);
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, &len, &err), 0);
  TAP_CHECK_INT_EQ (len, 0);
  TAP_CHECK_STR_EQ (data, "");
  TAP_CHECK (err == NULL);
  return 0;
}

static int
test_write_atomic_large (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *big = NULL;
  cleanup_free char *back = NULL;
  const size_t size = 1 << 20;
  berth_error_t err = NULL;
  size_t i, len = 0;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/big", dir);
  big = xmalloc0 (size);
  for (i = 0; i < size; i++)
    big[i] = (char) ('a' + i % 26);

  TAP_CHECK_INT_EQ (berth_write_file_atomic (path, big, size, 0600, &err), 0);
  TAP_CHECK_INT_EQ (berth_read_file (path, &back, &len, &err), 0);
  TAP_CHECK_INT_EQ (len, size);
  TAP_CHECK (memcmp (back, big, size) == 0);
  TAP_CHECK (back[size] == '\0');
  return 0;
}

static int
test_write_atomic_missing_dir (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *expected = NULL;
  berth_error_t err = NULL;
  int ret;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/nope/state.json", dir);
  ret = berth_write_file_atomic (path, "x", 1, 0600, &err);
  TAP_CHECK_INT_EQ (ret, -ENOENT - 1);
  TAP_CHECK_INT_EQ (err->status, ENOENT);
  TAP_CHECK_STR_EQ (err->op, "mkostemp");
  expected = xasprintf ("write `%s`: create temporary file in `%s/nope`: No such file or directory",
                        path, dir);
  TAP_CHECK_STR_EQ (err->msg, expected);
  berth_error_release (&err);
  TAP_CHECK_INT_EQ (count_entries (dir), 0);
  return 0;
}

static int
test_write_atomic_over_directory (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/sub", dir);
  TAP_CHECK_INT_EQ (mkdir (path, 0700), 0);

  /* rename(2) of a file over a directory fails: the temporary is removed.  */
  TAP_CHECK (berth_write_file_atomic (path, "x", 1, 0600, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EISDIR);
  TAP_CHECK_STR_EQ (err->op, "rename");
  TAP_CHECK (strstr (err->msg, "write `") == err->msg);
  TAP_CHECK (strstr (err->msg, ": Is a directory") != NULL);
  berth_error_release (&err);
  TAP_CHECK_INT_EQ (count_entries (dir), 1);
  TAP_CHECK (is_dir (path));

  /* A path ending in '/' names no file.  */
  free (path);
  path = xasprintf ("%s/sub/", dir);
  TAP_CHECK (berth_write_file_atomic (path, "x", 1, 0600, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EISDIR);
  berth_error_release (&err);

  TAP_CHECK (berth_write_file_atomic ("", "x", 1, 0600, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  berth_error_release (&err);
  return 0;
}

static int
test_read_file_errors (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *expected = NULL;
  char *data = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/missing", dir);
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, NULL, &err), -ENOENT - 1);
  expected = xasprintf ("open `%s`: No such file or directory", path);
  TAP_CHECK_STR_EQ (err->msg, expected);
  TAP_CHECK_STR_EQ (err->op, "open");
  TAP_CHECK (data == NULL);
  berth_error_release (&err);

  free (expected);
  expected = xasprintf ("read `%s`: Is a directory", dir);
  TAP_CHECK_INT_EQ (berth_read_file (dir, &data, NULL, &err), -EISDIR - 1);
  TAP_CHECK_STR_EQ (err->msg, expected);
  TAP_CHECK (data == NULL);
  berth_error_release (&err);
  return 0;
}

static int
test_read_file_optional (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *missing = NULL, *present = NULL, *data = NULL;
  berth_error_t err = NULL;
  size_t len = 99;

  TAP_CHECK (dir != NULL);
  missing = xasprintf ("%s/missing", dir);
  TAP_CHECK_INT_EQ (berth_read_file_optional (missing, &data, &len, &err), 0);
  TAP_CHECK (err == NULL);
  TAP_CHECK (data == NULL);
  TAP_CHECK_INT_EQ (len, 0);

  present = xasprintf ("%s/present", dir);
  TAP_CHECK_INT_EQ (berth_write_file_atomic (present, "abc", 3, 0600, &err), 0);
  TAP_CHECK_INT_EQ (berth_read_file_optional (present, &data, &len, &err), 0);
  TAP_CHECK_STR_EQ (data, "abc");
  TAP_CHECK_INT_EQ (len, 3);
  free (steal_pointer (&data));

  /* Only a missing file is success: any other failure is still one.  */
  TAP_CHECK_INT_EQ (berth_read_file_optional (dir, &data, NULL, &err), -EISDIR - 1);
  TAP_CHECK (data == NULL);
  TAP_CHECK_STR_EQ (err->op, "read");
  berth_error_release (&err);
  return 0;
}

/* A pipe's write end passed over a socketpair arrives as a working, close-on-exec fd.  */
static int
test_send_recv_fd (void)
{
  cleanup_close int a = -1, b = -1, r = -1, w = -1, got = -1;
  int sv[2], p[2];
  char out[4] = "", in[8] = "";

  TAP_CHECK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  a = sv[0];
  b = sv[1];
  TAP_CHECK (pipe2 (p, O_CLOEXEC) == 0);
  r = p[0];
  w = p[1];

  TAP_CHECK_INT_EQ (berth_send_fd (a, "msg", 3, w, MSG_NOSIGNAL), 3);
  TAP_CHECK_INT_EQ (berth_recv_fd (b, out, 3, &got), 3);
  TAP_CHECK (memcmp (out, "msg", 3) == 0);
  TAP_CHECK (got >= 0 && got != w);
  TAP_CHECK ((fcntl (got, F_GETFD) & FD_CLOEXEC) != 0);
  TAP_CHECK_INT_EQ (write (got, "via", 3), 3);
  TAP_CHECK_INT_EQ (read (r, in, sizeof (in)), 3);
  TAP_CHECK (memcmp (in, "via", 3) == 0);

  /* Without a descriptor attached, *fd is -1.  */
  TAP_CHECK_INT_EQ (berth_send_fd (a, "x", 1, -1, MSG_NOSIGNAL), 1);
  close (steal_fd (&got));
  got = 42;
  TAP_CHECK_INT_EQ (berth_recv_fd (b, out, 1, &got), 1);
  TAP_CHECK_INT_EQ (got, -1);

  /* The peer gone: recv reads end-of-file, send fails with EPIPE (no SIGPIPE).  */
  close (steal_fd (&a));
  TAP_CHECK_INT_EQ (berth_recv_fd (b, out, 1, &got), 0);
  TAP_CHECK_INT_EQ (berth_send_fd (b, "x", 1, w, MSG_NOSIGNAL), -1);
  TAP_CHECK_INT_EQ (errno, EPIPE);
  return 0;
}

static int
test_read_file_proc (void)
{
  cleanup_free char *data = NULL;
  berth_error_t err = NULL;
  size_t len = 0;

  /* st_size is 0 for /proc files: the buffer must grow as it reads.  */
  TAP_REQUIRE (access ("/proc/self/status", R_OK) == 0, "mount -t proc proc /proc");
  if (berth_read_file ("/proc/self/status", &data, &len, &err) < 0)
    {
      tap_diag ("%s", err->msg);
      berth_error_release (&err);
      return -1;
    }
  TAP_CHECK (len > 0);
  TAP_CHECK_INT_EQ (strlen (data), len);
  TAP_CHECK (strncmp (data, "Name:", 5) == 0);
  return 0;
}

/* ---- berth_mkdir_p.  */

static int
test_mkdir_p_nested_and_existing (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *messy = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/a/b/c", dir);
  TAP_CHECK_INT_EQ (berth_mkdir_p (path, 0755, &err), 0);
  TAP_CHECK (is_dir (path));

  /* Existing: success, twice.  */
  TAP_CHECK_INT_EQ (berth_mkdir_p (path, 0755, &err), 0);
  TAP_CHECK_INT_EQ (berth_mkdir_p (dir, 0755, &err), 0);
  TAP_CHECK_INT_EQ (berth_mkdir_p ("/", 0755, &err), 0);

  /* Repeated and trailing slashes.  */
  messy = xasprintf ("%s//a//x/y/", dir);
  TAP_CHECK_INT_EQ (berth_mkdir_p (messy, 0755, &err), 0);
  free (path);
  path = xasprintf ("%s/a/x/y", dir);
  TAP_CHECK (is_dir (path));
  TAP_CHECK (err == NULL);
  return 0;
}

static int
test_mkdir_p_relative (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  char cwd[PATH_MAX];
  berth_error_t err = NULL;
  int ret;

  TAP_CHECK (dir != NULL);
  TAP_CHECK (getcwd (cwd, sizeof (cwd)) != NULL);
  TAP_CHECK_INT_EQ (chdir (dir), 0);
  ret = berth_mkdir_p ("rel/one/two", 0700, &err);
  TAP_CHECK_INT_EQ (chdir (cwd), 0);
  if (ret < 0)
    {
      tap_diag ("%s", err->msg);
      berth_error_release (&err);
      return -1;
    }
  path = xasprintf ("%s/rel/one/two", dir);
  TAP_CHECK (is_dir (path));
  return 0;
}

static int
test_mkdir_p_not_a_directory (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *file = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *expected = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  file = xasprintf ("%s/file", dir);
  TAP_CHECK_INT_EQ (berth_write_file_atomic (file, "x", 1, 0600, &err), 0);

  /* The file itself.  */
  TAP_CHECK_INT_EQ (berth_mkdir_p (file, 0755, &err), -ENOTDIR - 1);
  expected = xasprintf ("mkdir `%s`: Not a directory", file);
  TAP_CHECK_STR_EQ (err->msg, expected);
  TAP_CHECK_STR_EQ (err->op, "mkdir");
  berth_error_release (&err);

  /* A path through the file.  */
  path = xasprintf ("%s/sub/dir", file);
  free (expected);
  expected = xasprintf ("mkdir -p `%s`: mkdir `%s`: Not a directory", path, file);
  TAP_CHECK_INT_EQ (berth_mkdir_p (path, 0755, &err), -ENOTDIR - 1);
  TAP_CHECK_STR_EQ (err->msg, expected);
  berth_error_release (&err);

  TAP_CHECK (berth_mkdir_p ("", 0755, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  berth_error_release (&err);
  return 0;
}

/* ---- cleanup attributes.  */

static int
test_cleanup_close_and_steal_fd (void)
{
  int seen, kept;

  {
    cleanup_close int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    TAP_CHECK (fd >= 0);
    seen = fd;
    errno = 1234;
  }
  TAP_CHECK (fcntl (seen, F_GETFD) < 0 && errno == EBADF);

  {
    cleanup_close int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    TAP_CHECK (fd >= 0);
    kept = steal_fd (&fd);
    TAP_CHECK_INT_EQ (fd, -1);
  }
  TAP_CHECK (fcntl (kept, F_GETFD) >= 0);
  TAP_CHECK_INT_EQ (close (kept), 0);
  return 0;
}

static int
test_cleanup_preserves_errno (void)
{
  {
    cleanup_close int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    cleanup_file FILE *f = fopen ("/dev/null", "re");
    cleanup_dir DIR *d = opendir ("/");
    TAP_CHECK (fd >= 0 && f != NULL && d != NULL);
    errno = ENOSPC;
  }
  TAP_CHECK_INT_EQ (errno, ENOSPC);
  return 0;
}

static char *
make_owned_string (void)
{
  cleanup_free char *s = xstrdup ("owned");
  return steal_pointer (&s); /* not freed here */
}

static int
test_steal_pointer (void)
{
  cleanup_free char *s = make_owned_string ();
  cleanup_free char *t = NULL;

  TAP_CHECK_STR_EQ (s, "owned");
  t = steal_pointer (&s);
  TAP_CHECK (s == NULL);
  TAP_CHECK_STR_EQ (t, "owned");
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_validate_id_good),
  TAP_TEST (test_validate_id_bad_char),
  TAP_TEST (test_validate_id_bad_first_char),
  TAP_TEST (test_validate_id_empty),
  TAP_TEST (test_validate_id_too_long),
  TAP_TEST (test_write_atomic_then_read),
  TAP_TEST (test_write_atomic_large),
  TAP_TEST (test_write_atomic_missing_dir),
  TAP_TEST (test_write_atomic_over_directory),
  TAP_TEST (test_read_file_errors),
  TAP_TEST (test_read_file_proc),
  TAP_TEST (test_read_file_optional),
  TAP_TEST (test_send_recv_fd),
  TAP_TEST (test_mkdir_p_nested_and_existing),
  TAP_TEST (test_mkdir_p_relative),
  TAP_TEST (test_mkdir_p_not_a_directory),
  TAP_TEST (test_cleanup_close_and_steal_fd),
  TAP_TEST (test_cleanup_preserves_errno),
  TAP_TEST (test_steal_pointer),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
