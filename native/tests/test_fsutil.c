/*
 * berth-fsutil (tools/berth-fsutil.c), run as the image unpacker runs it: records on stdin,
 * one layer directory.  Nodes, owners, modes, times and xattrs land as asked; a record that
 * would reach outside the directory (.., an absolute path, a symlink on the way) or that is
 * malformed fails with the record named, and nothing appears outside.
 *
 * The Makefile passes BERTH_FSUTIL_PATH (the binary of this variant, plain or ASan).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixtures.h"
#include "tap.h"
#include "utils.h"

#ifndef BERTH_FSUTIL_PATH
#error "BERTH_FSUTIL_PATH must be defined by the Makefile"
#endif

/* Fail the test with a message unless expr is true.  */
#define TAP_CHECK_MSG(expr, ...)                  \
  do                                              \
    {                                             \
      if (!(expr))                                \
        {                                         \
          tap_diag ("check failed: %s", #expr);   \
          TAP_FAIL (__VA_ARGS__);                 \
        }                                         \
    }                                             \
  while (0)

/* Run berth-fsutil apply ROOT with `input` on stdin; its stderr goes to err.  Returns the exit
   status, or -1 when it could not be run.  */
static int run_fsutil_verb (const char *verb, const char *root, const char *input, size_t len, char *out_buf,
                            size_t out_size, char *err, size_t err_size);

static int
run_fsutil (const char *root, const char *input, size_t len, char *err, size_t err_size)
{
  return run_fsutil_verb ("apply", root, input, len, NULL, 0, err, err_size);
}

/* Run berth-fsutil VERB ROOT; stdout (when out_buf) and stderr are collected; returns the
   bytes of stdout in *out_size.  */
static int
run_fsutil_verb (const char *verb, const char *root, const char *input, size_t len, char *out_buf, size_t out_size,
                 char *err, size_t err_size)
{
  int in[2], errp[2], outp[2];
  if (pipe2 (in, O_CLOEXEC) < 0)
    return -1;
  if (pipe2 (errp, O_CLOEXEC) < 0 || pipe2 (outp, O_CLOEXEC) < 0)
    return -1;
  pid_t pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      dup2 (in[0], STDIN_FILENO);
      dup2 (errp[1], STDERR_FILENO);
      dup2 (outp[1], STDOUT_FILENO);
      execl (BERTH_FSUTIL_PATH, BERTH_FSUTIL_PATH, verb, root, (char *) NULL);
      _exit (127);
    }
  close (in[0]);
  close (errp[1]);
  close (outp[1]);
  signal (SIGPIPE, SIG_IGN);
  if (berth_write_all (in[1], input, len) < 0 && errno != EPIPE)
    tap_diag_at (__FILE__, __LINE__, "write to berth-fsutil: %s", strerror (errno));
  close (in[1]);
  /* Small outputs only: read stdout to the end, then stderr.  */
  size_t got = 0;
  ssize_t n;
  char discard[4096];
  while ((n = read (outp[0], out_buf ? out_buf + got : discard, out_buf ? out_size - got : sizeof (discard))) > 0)
    if (out_buf)
      got += (size_t) n;
  close (outp[0]);
  size_t egot = 0;
  while (egot + 1 < err_size && (n = read (errp[0], err + egot, err_size - egot - 1)) > 0)
    egot += (size_t) n;
  err[egot] = '\0';
  close (errp[0]);
  int status;
  if (waitpid (pid, &status, 0) < 0)
    return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* Records: fields separated by NUL; `fields` is a list ending in NULL.  */
static size_t
records (char *buf, size_t size, const char *const *fields)
{
  size_t len = 0;
  for (; *fields; fields++)
    {
      size_t n = strlen (*fields) + 1;
      if (len + n > size)
        break;
      memcpy (buf + len, *fields, n);
      len += n;
    }
  return len;
}

static int
test_fsutil_makes_nodes_and_sets_xattrs (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  TAP_CHECK (dir != NULL);
  cleanup_free char *root = xasprintf ("%s/layer", dir);
  cleanup_free char *sub = xasprintf ("%s/layer/d", dir);
  TAP_CHECK (mkdir (root, 0755) == 0 && mkdir (sub, 0755) == 0);
  cleanup_free char *file = xasprintf ("%s/file", sub);
  cleanup_close int fd = open (file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  TAP_CHECK (fd >= 0);
  static const char *const fields[] = {
    "mknod", "d/null", "c", "666", "1", "3", "0", "0", "1600000000", "500000000",
    "mknod", "d/pipe", "p", "4751", "0", "0", "1000", "1001", "5", "0",
    "mknod", "wh", "c", "0", "0", "0", "0", "0", "0", "0",
    "xattr", "d", "trusted.overlay.opaque", "79",
    "xattr", "d/file", "user.note", "00ff10",
    "xattr", ".", "user.root", "6869",
    NULL,
  };
  char input[1024], err[1024];
  size_t len = records (input, sizeof (input), fields);
  int rc = run_fsutil (root, input, len, err, sizeof (err));
  TAP_CHECK_MSG (rc == 0, "exit %d: %s", rc, err);

  struct stat st;
  cleanup_free char *null = xasprintf ("%s/null", sub);
  TAP_CHECK (lstat (null, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3));
  TAP_CHECK ((st.st_mode & 07777) == 0666);
  TAP_CHECK (st.st_mtim.tv_sec == 1600000000 && st.st_mtim.tv_nsec == 500000000);
  cleanup_free char *pipe_path = xasprintf ("%s/pipe", sub);
  TAP_CHECK (lstat (pipe_path, &st) == 0 && S_ISFIFO (st.st_mode));
  TAP_CHECK_MSG ((st.st_mode & 07777) == 04751, "mode %o: setuid set after chown", st.st_mode & 07777);
  TAP_CHECK (st.st_uid == 1000 && st.st_gid == 1001);
  cleanup_free char *wh = xasprintf ("%s/wh", root);
  TAP_CHECK (lstat (wh, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));

  char value[16];
  TAP_CHECK (getxattr (sub, "trusted.overlay.opaque", value, sizeof (value)) == 1 && value[0] == 'y');
  TAP_CHECK (getxattr (file, "user.note", value, sizeof (value)) == 3 && memcmp (value, "\x00\xff\x10", 3) == 0);
  TAP_CHECK (getxattr (root, "user.root", value, sizeof (value)) == 2 && memcmp (value, "hi", 2) == 0);
  return 0;
}

static int
test_fsutil_user_xattr_on_a_fifo_fails_naming_the_record (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  TAP_CHECK (dir != NULL);
  cleanup_free char *root = xasprintf ("%s/layer", dir);
  TAP_CHECK (mkdir (root, 0755) == 0);
  static const char *const fields[] = {
    "mknod", "p", "p", "644", "0", "0", "0", "0", "0", "0",
    "xattr", "p", "user.note", "00",
    NULL,
  };
  char input[512], err[1024];
  int rc = run_fsutil (root, input, records (input, sizeof (input), fields), err, sizeof (err));
  TAP_CHECK_MSG (rc == 1, "exit %d", rc);
  TAP_CHECK_MSG (strstr (err, "record 1: set xattr `user.note` on `p`") != NULL, "stderr: %s", err);
  return 0;
}

static int
test_fsutil_never_reaches_outside (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  TAP_CHECK (dir != NULL);
  cleanup_free char *root = xasprintf ("%s/layer", dir);
  cleanup_free char *outside = xasprintf ("%s/outside", dir);
  cleanup_free char *link = xasprintf ("%s/layer/evil", dir);
  TAP_CHECK (mkdir (root, 0755) == 0 && mkdir (outside, 0755) == 0);
  TAP_CHECK (symlink (outside, link) == 0);
  cleanup_free char *abs_path = xasprintf ("%s/x", outside);
  const char *const bad[][11] = {
    { "mknod", "evil/x", "p", "644", "0", "0", "0", "0", "0", "0", NULL },
    { "mknod", "../outside/x", "p", "644", "0", "0", "0", "0", "0", "0", NULL },
    { "mknod", abs_path, "p", "644", "0", "0", "0", "0", "0", "0", NULL },
    { "mknod", "d/..", "p", "644", "0", "0", "0", "0", "0", "0", NULL },
    { "xattr", "evil/x", "user.a", "00", NULL },
    { "xattr", "evil", "user.a", "00", NULL }, /* the symlink itself: user.* refused, never followed */
  };
  for (size_t i = 0; i < BERTH_ARRAY_SIZE (bad); i++)
    {
      char input[512], err[1024];
      int rc = run_fsutil (root, input, records (input, sizeof (input), bad[i]), err, sizeof (err));
      TAP_CHECK_MSG (rc == 1, "case %zu (%s): exit %d", i, bad[i][1], rc);
      TAP_CHECK_MSG (strstr (err, "record 0") != NULL, "case %zu: stderr names the record: %s", i, err);
    }
  cleanup_dir DIR *d = opendir (outside);
  TAP_CHECK (d != NULL);
  struct dirent *e;
  int entries = 0;
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      entries++;
  TAP_CHECK_MSG (entries == 0, "%d entries appeared outside the layer", entries);
  char value[4];
  TAP_CHECK (getxattr (outside, "user.a", value, sizeof (value)) < 0 && errno == ENODATA);
  return 0;
}

static int
test_fsutil_rejects_malformed_input (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  TAP_CHECK (dir != NULL);
  const char *const bad[][11] = {
    { "chmod", "x", NULL },
    { "mknod", "x", "c", "644", NULL },
    { "mknod", "x", "q", "644", "0", "0", "0", "0", "0", "0", NULL },
    { "mknod", "x", "p", "99999", "0", "0", "0", "0", "0", "0", NULL },
    { "mknod", "x", "p", "644", "0", "0", "-1", "0", "0", "0", NULL },
    { "xattr", "x", "user.a", "zz", NULL },
    { "xattr", "x", "user.a", "abc", NULL },
  };
  for (size_t i = 0; i < BERTH_ARRAY_SIZE (bad); i++)
    {
      char input[512], err[1024];
      int rc = run_fsutil (dir, input, records (input, sizeof (input), bad[i]), err, sizeof (err));
      TAP_CHECK_MSG (rc == 1, "case %zu: exit %d (%s)", i, rc, err);
      TAP_CHECK_MSG (strstr (err, "berth-fsutil: record 0") != NULL, "case %zu: %s", i, err);
    }
  char err[256];
  TAP_CHECK (run_fsutil (dir, "mknod\0x", 7, err, sizeof (err)) == 1); /* ends inside a field */
  TAP_CHECK (run_fsutil (dir, "", 0, err, sizeof (err)) == 0);         /* nothing to do */
  return 0;
}

static int
test_fsutil_reads_xattrs_without_following_symlinks (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  TAP_CHECK (dir != NULL);
  cleanup_free char *root = xasprintf ("%s/upper", dir);
  cleanup_free char *sub = xasprintf ("%s/upper/d", dir);
  cleanup_free char *link = xasprintf ("%s/upper/l", dir);
  TAP_CHECK (mkdir (root, 0755) == 0 && mkdir (sub, 0755) == 0 && symlink ("d", link) == 0);
  TAP_CHECK (setxattr (sub, "trusted.overlay.opaque", "y", 1, 0) == 0);
  TAP_CHECK (setxattr (sub, "user.bin", "\x00\x01", 2, 0) == 0);
  char out[1024], err[512];
  static const char input[] = "d\0l\0.\0";
  int rc = run_fsutil_verb ("xattrs", root, input, sizeof (input) - 1, out, sizeof (out), err, sizeof (err));
  TAP_CHECK_MSG (rc == 0, "exit %d: %s", rc, err);
  /* d has two (in the order the kernel lists them), the symlink's own none, the root none.  */
  const char *p = out;
  TAP_CHECK_STR_EQ (p, "d");
  p += strlen (p) + 1;
  TAP_CHECK_STR_EQ (p, "2");
  p += strlen (p) + 1;
  int seen = 0;
  for (int i = 0; i < 2; i++)
    {
      const char *name = p;
      p += strlen (p) + 1;
      if (strcmp (name, "trusted.overlay.opaque") == 0 && strcmp (p, "79") == 0)
        seen |= 1;
      if (strcmp (name, "user.bin") == 0 && strcmp (p, "0001") == 0)
        seen |= 2;
      p += strlen (p) + 1;
    }
  TAP_CHECK_INT_EQ (seen, 3);
  TAP_CHECK_STR_EQ (p, "l");
  p += strlen (p) + 1;
  TAP_CHECK_STR_EQ (p, "0");
  p += strlen (p) + 1;
  TAP_CHECK_STR_EQ (p, ".");
  p += strlen (p) + 1;
  TAP_CHECK_STR_EQ (p, "0");

  static const char escape[] = "l/x\0";
  rc = run_fsutil_verb ("xattrs", root, escape, sizeof (escape) - 1, out, sizeof (out), err, sizeof (err));
  TAP_CHECK_MSG (rc == 1 && strstr (err, "record 0") != NULL, "exit %d: %s", rc, err);
  return 0;
}

/* serve: several requests on one run; a failing one is answered with its error and the
   next is still served; input that ends inside a request is exit 1.  */
static int
test_fsutil_serve_answers_each_request (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  TAP_CHECK (dir != NULL);
  cleanup_free char *root = xasprintf ("%s/upper", dir);
  cleanup_free char *sub = xasprintf ("%s/upper/d", dir);
  TAP_CHECK (mkdir (root, 0755) == 0 && mkdir (sub, 0755) == 0);
  TAP_CHECK (setxattr (sub, "user.k", "v", 1, 0) == 0);
  char input[512], out[1024], err[512];
  const char *const fields[] = { root, "d", ".", "", root, "missing", "d", "", root, "d", "", NULL };
  size_t len = records (input, sizeof (input), fields);
  memset (out, 0, sizeof (out));
  int rc = run_fsutil_verb ("serve", NULL, input, len, out, sizeof (out), err, sizeof (err));
  TAP_CHECK_MSG (rc == 0, "exit %d: %s", rc, err);
  static const char first[] = "ok\0d\0" "1\0user.k\0" "76\0.\0" "0\0";
  TAP_CHECK (memcmp (out, first, sizeof (first)) == 0);
  const char *p = out + sizeof (first);
  TAP_CHECK_STR_EQ (p, "error");
  p += strlen (p) + 1;
  TAP_CHECK_MSG (strstr (p, "`missing`") != NULL && strstr (p, "No such file") != NULL, "%s", p);
  p += strlen (p) + 1;
  static const char third[] = "ok\0d\0" "1\0user.k\0" "76\0";
  TAP_CHECK (memcmp (p, third, sizeof (third)) == 0);

  const char *const cut[] = { root, "d", NULL };
  len = records (input, sizeof (input), cut);
  rc = run_fsutil_verb ("serve", NULL, input, len, out, sizeof (out), err, sizeof (err));
  TAP_CHECK_MSG (rc == 1 && strstr (err, "ends inside a request") != NULL, "exit %d: %s", rc, err);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_fsutil_reads_xattrs_without_following_symlinks),
  TAP_TEST (test_fsutil_serve_answers_each_request),
  TAP_TEST (test_fsutil_makes_nodes_and_sets_xattrs),
  TAP_TEST (test_fsutil_user_xattr_on_a_fifo_fails_naming_the_record),
  TAP_TEST (test_fsutil_never_reaches_outside),
  TAP_TEST (test_fsutil_rejects_malformed_input),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
