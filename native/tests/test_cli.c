/*
 * Tests of the berth-runtime binary's command line (src/main.c).
 * The Makefile passes BERTH_RUNTIME_PATH (the binary to run) and BERTH_VERSION.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "utils.h"

#ifndef BERTH_RUNTIME_PATH
#error "BERTH_RUNTIME_PATH must be defined by the Makefile"
#endif

struct run_result
{
  int status; /* exit code, or 128 + signal */
  char *out;
  char *err;
};

static void
run_result_free (struct run_result *r)
{
  free (r->out);
  free (r->err);
  r->out = r->err = NULL;
}

static char *
read_memfd (int fd)
{
  cleanup_free char *buf = NULL;
  off_t size = lseek (fd, 0, SEEK_END);
  ssize_t n;

  if (size < 0 || lseek (fd, 0, SEEK_SET) < 0)
    return NULL;
  buf = xmalloc0 ((size_t) size + 1);
  n = read (fd, buf, (size_t) size);
  if (n != size)
    return NULL;
  return steal_pointer (&buf);
}

/* Run berth-runtime with args (NULL-terminated, without argv[0]).  */
static int
run (struct run_result *r, const char *const *args)
{
  cleanup_close int out_fd = memfd_create ("stdout", MFD_CLOEXEC);
  cleanup_close int err_fd = memfd_create ("stderr", MFD_CLOEXEC);
  char *argv[16];
  size_t i;
  pid_t pid;
  int wstatus;

  memset (r, 0, sizeof (*r));
  if (out_fd < 0 || err_fd < 0)
    return -1;

  argv[0] = (char *) BERTH_RUNTIME_PATH;
  for (i = 0; args[i] && i + 2 < BERTH_ARRAY_SIZE (argv); i++)
    argv[i + 1] = (char *) args[i];
  argv[i + 1] = NULL;

  pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      if (dup2 (out_fd, STDOUT_FILENO) < 0 || dup2 (err_fd, STDERR_FILENO) < 0)
        _exit (126);
      execv (argv[0], argv);
      _exit (127);
    }

  while (waitpid (pid, &wstatus, 0) < 0)
    if (errno != EINTR)
      return -1;
  r->status = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
  r->out = read_memfd (out_fd);
  r->err = read_memfd (err_fd);
  return r->out && r->err ? 0 : -1;
}

#define RUN(r, ...)                                                         \
  do                                                                        \
    {                                                                       \
      static const char *const args_[] = { __VA_ARGS__, NULL };            \
      if (run (r, args_) < 0)                                               \
        TAP_FAIL ("could not run %s: %s", BERTH_RUNTIME_PATH, strerror (errno)); \
    }                                                                       \
  while (0)

/* Check the exit status; on mismatch show the child's stderr (e.g. a sanitizer report).  */
#define CHECK_STATUS(r, expected)                                                     \
  do                                                                                  \
    {                                                                                 \
      if ((r)->status != (expected))                                                  \
        TAP_FAIL ("exit status %d, expected %d; stderr:\n%s", (r)->status, (expected), \
                  (r)->err);                                                          \
    }                                                                                 \
  while (0)

static int
test_version (void)
{
  __attribute__ ((cleanup (run_result_free))) struct run_result r;

  RUN (&r, "--version");
  CHECK_STATUS (&r, 0);
  TAP_CHECK_STR_EQ (r.out, "berth-runtime " BERTH_VERSION "\nspec: 1.2.0\n+SECCOMP\n");
  TAP_CHECK_STR_EQ (r.err, "");
  run_result_free (&r);

  RUN (&r, "-v");
  CHECK_STATUS (&r, 0);
  TAP_CHECK (strncmp (r.out, "berth-runtime ", 14) == 0);
  return 0;
}

static int
test_help (void)
{
  __attribute__ ((cleanup (run_result_free))) struct run_result r;

  RUN (&r, "--help");
  CHECK_STATUS (&r, 0);
  TAP_CHECK (strncmp (r.out, "Usage: berth-runtime ", 21) == 0);
  TAP_CHECK (strstr (r.out, "--log-format") != NULL);
  TAP_CHECK_STR_EQ (r.err, "");
  return 0;
}

static int
test_unknown_command (void)
{
  __attribute__ ((cleanup (run_result_free))) struct run_result r;

  RUN (&r, "bogus");
  CHECK_STATUS (&r, 2);
  TAP_CHECK_STR_EQ (r.out, "");
  TAP_CHECK_STR_EQ (r.err, "berth-runtime: unknown command `bogus`\n"
                           "Try `berth-runtime --help` for more information.\n");
  return 0;
}

static int
test_usage_errors (void)
{
  __attribute__ ((cleanup (run_result_free))) struct run_result r;

  RUN (&r, "--bogus");
  CHECK_STATUS (&r, 2);
  TAP_CHECK (strncmp (r.err, "berth-runtime: unrecognized option `--bogus`\n", 45) == 0);
  run_result_free (&r);

  RUN (&r, "-x");
  CHECK_STATUS (&r, 2);
  TAP_CHECK (strncmp (r.err, "berth-runtime: unrecognized option `-x`\n", 40) == 0);
  run_result_free (&r);

  RUN (&r, "--root");
  CHECK_STATUS (&r, 2);
  TAP_CHECK (strncmp (r.err, "berth-runtime: option `--root` requires an argument\n", 52) == 0);
  run_result_free (&r);

  RUN (&r, "--help=x");
  CHECK_STATUS (&r, 2);
  TAP_CHECK (strncmp (r.err, "berth-runtime: option `--help` does not take an argument\n", 57)
             == 0);
  run_result_free (&r);

  RUN (&r, "--log-format=yaml", "x");
  CHECK_STATUS (&r, 2);
  TAP_CHECK (strncmp (r.err, "berth-runtime: unknown log format `yaml`", 40) == 0);
  run_result_free (&r);

  {
    static const char *const none[] = { NULL };
    if (run (&r, none) < 0)
      TAP_FAIL ("could not run %s", BERTH_RUNTIME_PATH);
  }
  CHECK_STATUS (&r, 2);
  TAP_CHECK (strncmp (r.err, "berth-runtime: no command given\n", 32) == 0);
  return 0;
}

static int
test_json_usage_error (void)
{
  __attribute__ ((cleanup (run_result_free))) struct run_result r;
  const char *head = "{\"level\":\"error\",\"msg\":\"unknown command `bogus`\",\"op\":\"usage\","
                     "\"time\":\"";

  RUN (&r, "--root", "/tmp/x", "--log-format=json", "bogus", "id");
  CHECK_STATUS (&r, 2);
  TAP_CHECK_STR_EQ (r.out, "");
  if (strncmp (r.err, head, strlen (head)) != 0)
    TAP_FAIL ("unexpected stderr: %s", r.err);
  TAP_CHECK (strlen (r.err) == strlen (head) + strlen ("2024-01-01T00:00:00.000Z\"}\n"));
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_version),
  TAP_TEST (test_help),
  TAP_TEST (test_unknown_command),
  TAP_TEST (test_usage_errors),
  TAP_TEST (test_json_usage_error),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
