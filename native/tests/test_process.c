/*
 * Tests for src/process.c: the last steps before exec (closing descriptors, the seccomp
 * filter around the process settings), the exit status of a failed start, and the ambient
 * capabilities the kernel cannot raise.  What changes the process runs in forked children,
 * which report through their exit status and a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "error.h"
#include "fixtures.h"
#include "oci-config.h"
#include "process.h"
#include "seccomp.h"
#include "tap.h"
#include "utils.h"

#define NEED_ROOT "run the tests as root: sudo make -C native test"

/* `crun spec`'s capabilities: no CAP_SYS_ADMIN, three ambient ones and no inheritable.  */
#define CRUN_CAPS                                                                                        \
  "'capabilities':{'bounding':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],"                   \
  "'effective':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],'inheritable':[],"                 \
  "'permitted':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],"                                  \
  "'ambient':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE']}"

/* ---- fixtures.  */

/* A process object from a JSON text with ' for ".  */
static struct berth_process *
process_from (const char *q, berth_error_t *err)
{
  cleanup_free char *json = xstrdup (q);
  struct berth_process *p = NULL;
  char *c;

  for (c = json; *c; c++)
    if (*c == '\'')
      *c = '"';
  if (berth_process_parse (json, strlen (json), &p, err) < 0)
    return NULL;
  return p;
}

static struct berth_seccomp *
seccomp_from (const char *json, berth_error_t *err)
{
  json_object *obj = json_tokener_parse (json);
  struct berth_seccomp *s = NULL;
  int ret;

  if (obj == NULL)
    return NULL;
  ret = berth_seccomp_parse (obj, "linux.seccomp", &s, err);
  json_object_put (obj);
  return ret < 0 ? NULL : s;
}

/* The status a forked child ends with; its messages (when it fails) come through `fd`.  */
static int
wait_child (pid_t pid, int fd, char *msg, size_t size)
{
  int status = -1;
  ssize_t n;

  n = read (fd, msg, size - 1);
  msg[n > 0 ? n : 0] = '\0';
  if (waitpid (pid, &status, 0) != pid)
    return -1;
  return status;
}

/* ---- the exit status of a failed start.  */

static int
test_failure_status (void)
{
  berth_error_t e = NULL;

  TAP_CHECK_INT_EQ (berth_process_failure_status (NULL), 1);
  berth_make_error_op (&e, ENOENT, "exec", "exec /nope");
  TAP_CHECK_INT_EQ (berth_process_failure_status (e), BERTH_EXIT_NOT_FOUND);
  berth_error_release (&e);
  berth_make_error_op (&e, EACCES, "exec", "exec /etc");
  TAP_CHECK_INT_EQ (berth_process_failure_status (e), BERTH_EXIT_CANNOT_EXEC);
  berth_error_release (&e);
  /* A file that exists but is no program: "cannot be executed", not "not found".  */
  berth_make_error_op (&e, ENOEXEC, "exec", "exec /bad");
  TAP_CHECK_INT_EQ (berth_process_failure_status (e), BERTH_EXIT_CANNOT_EXEC);
  berth_error_release (&e);
  berth_make_error_op (&e, EACCES, "seccomp", "load the seccomp filter");
  TAP_CHECK_INT_EQ (berth_process_failure_status (e), 1);
  berth_error_release (&e);
  return 0;
}

/* A real exec of a file that is not a program ends with 126.  */
static int
test_exec_format_error (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *bad = NULL;
  berth_error_t err = NULL;
  struct berth_process *p;
  int fd, status = 0;
  pid_t pid;

  TAP_CHECK (dir != NULL);
  bad = xasprintf ("%s/bad", dir);
  fd = open (bad, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  TAP_CHECK (fd >= 0);
  TAP_CHECK (write (fd, "\001\002not a program", 15) == 15);
  close (fd);
  p = process_from ("{'args':['bad'],'cwd':'/','user':{'uid':0,'gid':0}}", &err);
  if (p == NULL)
    TAP_FAIL ("%s", err->msg);
  pid = fork ();
  if (pid == 0)
    {
      berth_process_exec (p, bad, &err);
      _exit (berth_process_failure_status (err));
    }
  berth_process_free (p);
  TAP_CHECK (waitpid (pid, &status, 0) == pid);
  TAP_CHECK (WIFEXITED (status));
  TAP_CHECK_INT_EQ (WEXITSTATUS (status), BERTH_EXIT_CANNOT_EXEC);
  return 0;
}

/* ---- closing descriptors.  */

/* Everything from 3 up is closed but the one kept (start's end of exec.fifo), which still
   works.  */
static int
test_prepare_exec_keeps_one_fd (void)
{
  berth_error_t err = NULL;
  struct berth_process *p = process_from ("{'args':['x'],'cwd':'/','user':{'uid':0,'gid':0}}", &err);
  int pipes[2], other, status = 0;
  char msg[512];
  pid_t pid;

  if (p == NULL)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK (pipe2 (pipes, O_CLOEXEC) == 0);
  other = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  TAP_CHECK (other >= 0);
  pid = fork ();
  if (pid == 0)
    {
      int keep = fcntl (pipes[1], F_DUPFD_CLOEXEC, 20);

      close (pipes[0]);
      if (keep < 0 || berth_process_prepare_exec (p, NULL, keep, &err) < 0)
        {
          dprintf (pipes[1], "%s", err ? err->msg : "dup");
          _exit (1);
        }
      /* pipes[1] itself, `other` and the rest are gone; `keep` works.  */
      if (fcntl (other, F_GETFD) != -1 || errno != EBADF || fcntl (pipes[1], F_GETFD) != -1)
        _exit (2);
      if (dprintf (keep, "kept") != 4)
        _exit (3);
      _exit (0);
    }
  close (pipes[1]);
  close (other);
  berth_process_free (p);
  status = wait_child (pid, pipes[0], msg, sizeof (msg));
  close (pipes[0]);
  tap_diag ("child wrote `%s`", msg);
  TAP_CHECK (WIFEXITED (status));
  TAP_CHECK_INT_EQ (WEXITSTATUS (status), 0);
  TAP_CHECK_STR_EQ (msg, "kept");
  return 0;
}

/* ---- the seccomp filter and no_new_privileges.  */

/* With no_new_privileges false and capabilities without CAP_SYS_ADMIN (crun's and runc's
   defaults), the filter loads (before the capabilities are dropped) and is in force after;
   with it true, too.  */
static int
check_filter_loads (bool no_new_privileges)
{
  cleanup_free char *q = xasprintf ("{'args':['x'],'cwd':'/','user':{'uid':0,'gid':0},'noNewPrivileges':%s,"
                                    CRUN_CAPS "}",
                                    no_new_privileges ? "true" : "false");
  berth_error_t err = NULL;
  struct berth_process *p = process_from (q, &err);
  struct berth_seccomp *s = NULL;
  int pipes[2], status = 0;
  char msg[1024];
  pid_t pid;

  if (p == NULL)
    TAP_FAIL ("%s", err->msg);
  s = seccomp_from ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"acct\"],"
                    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}",
                    &err);
  if (s == NULL)
    {
      berth_process_free (p);
      TAP_FAIL ("seccomp: %s", err ? err->msg : "bad JSON");
    }
  berth_process_drop_unraisable_ambient (p);
  TAP_CHECK (pipe2 (pipes, O_CLOEXEC) == 0);
  pid = fork ();
  if (pid == 0)
    {
      int out = fcntl (pipes[1], F_DUPFD_CLOEXEC, 20);

      close (pipes[0]);
      if (out < 0 || berth_process_prepare_exec (p, s, out, &err) < 0)
        {
          dprintf (out, "%s", err ? err->msg : "dup");
          _exit (1);
        }
      /* The filter is in force (acct answers ENOSYS, its errnoRet), and the capabilities
         are the process's: no CAP_SYS_ADMIN.  */
      if (syscall (SYS_acct, NULL) != -1 || errno != ENOSYS)
        _exit (2);
      if (berth_caps_effective_has (CAP_SYS_ADMIN) || ! berth_caps_effective_has (CAP_KILL))
        _exit (3);
      if (prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != (no_new_privileges ? 1 : 0))
        _exit (4);
      _exit (0);
    }
  close (pipes[1]);
  berth_process_free (p);
  berth_seccomp_free (s);
  status = wait_child (pid, pipes[0], msg, sizeof (msg));
  close (pipes[0]);
  if (*msg)
    tap_diag ("child: %s", msg);
  TAP_CHECK (WIFEXITED (status));
  TAP_CHECK_INT_EQ (WEXITSTATUS (status), 0);
  return 0;
}

static int
test_filter_without_no_new_privileges (void)
{
  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  return check_filter_loads (false);
}

static int
test_filter_with_no_new_privileges (void)
{
  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  return check_filter_loads (true);
}

/* ---- ambient capabilities.  */

static int
test_drop_unraisable_ambient (void)
{
  berth_error_t err = NULL;
  struct berth_process *p = process_from (
      "{'args':['x'],'cwd':'/','user':{'uid':0,'gid':0},'capabilities':{"
      "'permitted':['CAP_KILL','CAP_CHOWN','CAP_NET_RAW'],'inheritable':['CAP_CHOWN','CAP_SETUID'],"
      "'ambient':['CAP_KILL','CAP_CHOWN','CAP_SETUID']}}",
      &err);

  if (p == NULL)
    TAP_FAIL ("%s", err->msg);
  /* CAP_KILL is not inheritable, CAP_SETUID not permitted: only CAP_CHOWN can be raised.  */
  berth_process_drop_unraisable_ambient (p);
  TAP_CHECK (p->capabilities.ambient == (UINT64_C (1) << CAP_CHOWN));
  TAP_CHECK (p->capabilities.permitted
             == ((UINT64_C (1) << CAP_KILL) | (UINT64_C (1) << CAP_CHOWN) | (UINT64_C (1) << CAP_NET_RAW)));
  berth_process_free (p);

  /* `crun spec`'s: every ambient one goes, the rest stays.  */
  p = process_from ("{'args':['x'],'cwd':'/','user':{'uid':0,'gid':0}," CRUN_CAPS "}", &err);
  if (p == NULL)
    TAP_FAIL ("%s", err->msg);
  berth_process_drop_unraisable_ambient (p);
  TAP_CHECK (p->capabilities.ambient == 0);
  TAP_CHECK (p->capabilities.effective != 0);
  berth_process_free (p);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_failure_status),
  TAP_TEST (test_exec_format_error),
  TAP_TEST (test_prepare_exec_keeps_one_fd),
  TAP_TEST (test_filter_without_no_new_privileges),
  TAP_TEST (test_filter_with_no_new_privileges),
  TAP_TEST (test_drop_unraisable_ambient),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
