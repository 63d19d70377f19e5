/*
 * Berth runtime: lifecycle hooks.  See hooks.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "utils.h"

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pid, at most timeout seconds (0: no limit); kill it when the time is up.  */
static int
wait_hook (pid_t pid, int timeout, int *status, bool *timed_out)
{
  long long deadline = now_ms () + (long long) timeout * 1000;

  *timed_out = false;
  for (;;)
    {
      pid_t r = waitpid (pid, status, timeout ? WNOHANG : 0);
      if (r == pid)
        return 0;
      if (r < 0 && errno != EINTR)
        return -1;
      if (timeout && now_ms () >= deadline)
        {
          kill (pid, SIGKILL);
          *timed_out = true;
          return waitpid (pid, status, 0) < 0 ? -1 : 0;
        }
      if (r == 0)
        poll (NULL, 0, 5);
    }
}

static int
run_hook (const struct berth_hook *h, const char *kind, size_t index, const char *state_json, berth_error_t *err)
{
  static char *empty[] = { NULL };
  int in[2];
  pid_t pid;
  int status;
  bool timed_out;
  char *argv_default[] = { h->path, NULL };

  if (pipe2 (in, O_CLOEXEC) < 0)
    return berth_make_error_op (err, errno, "pipe", "hook %s[%zu] %s: pipe", kind, index, h->path);
  pid = fork ();
  if (pid < 0)
    {
      close (in[0]);
      close (in[1]);
      return berth_make_error_op (err, errno, "fork", "hook %s[%zu] %s: fork", kind, index, h->path);
    }
  if (pid == 0)
    {
      dup2 (in[0], STDIN_FILENO);
      execve (h->path, h->args ? h->args : argv_default, h->env ? h->env : empty);
      dprintf (STDERR_FILENO, "berth-runtime: hook %s[%zu]: exec %s: %s\n", kind, index, h->path, strerror (errno));
      _exit (127);
    }
  close (in[0]);
  /* A hook that does not read its stdin must not make us fail: ignore EPIPE.  */
  {
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigaction (SIGPIPE, &ign, &old);
    berth_write_all (in[1], state_json, strlen (state_json));
    sigaction (SIGPIPE, &old, NULL);
  }
  close (in[1]);
  if (wait_hook (pid, h->timeout, &status, &timed_out) < 0)
    return berth_make_error_op (err, errno, "waitpid", "hook %s[%zu] %s: waitpid", kind, index, h->path);
  if (timed_out)
    return berth_make_error_op (err, ETIMEDOUT, "hook", "hook %s[%zu] %s: killed after its timeout of %d s", kind,
                                index, h->path, h->timeout);
  if (WIFSIGNALED (status))
    return berth_make_error_op (err, 0, "hook", "hook %s[%zu] %s: killed by signal %d (%s)", kind, index, h->path,
                                WTERMSIG (status), strsignal (WTERMSIG (status)));
  if (WEXITSTATUS (status) != 0)
    return berth_make_error_op (err, 0, "hook", "hook %s[%zu] %s: exited with status %d", kind, index, h->path,
                                WEXITSTATUS (status));
  return 0;
}

int
berth_hooks_run (const struct berth_hook_list *list, const char *kind, const char *state_json, berth_error_t *err)
{
  size_t i;
  for (i = 0; i < list->n; i++)
    if (run_hook (&list->hooks[i], kind, i, state_json, err) < 0)
      return -1;
  return 0;
}

void
berth_hooks_run_warn (const struct berth_hook_list *list, const char *kind, const char *state_json)
{
  size_t i;
  for (i = 0; i < list->n; i++)
    {
      berth_error_t err = NULL;
      if (run_hook (&list->hooks[i], kind, i, state_json, &err) < 0)
        {
          berth_warn ("%s", err->msg);
          berth_error_release (&err);
        }
    }
}
