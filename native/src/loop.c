/*
 * Berth runtime: the supervision loop.  See loop.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "terminal.h"
#include "utils.h"

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void
loop_signals (sigset_t *set)
{
  size_t i;
  sigemptyset (set);
  sigaddset (set, SIGCHLD);
  sigaddset (set, SIGWINCH);
  for (i = 0; i < BERTH_ARRAY_SIZE (forwarded); i++)
    sigaddset (set, forwarded[i]);
}

void
berth_loop_block (sigset_t *old)
{
  sigset_t set;
  loop_signals (&set);
  sigprocmask (SIG_BLOCK, &set, old);
}

void
berth_loop_unblock (const sigset_t *old)
{
  sigprocmask (SIG_SETMASK, old, NULL);
}

/* Copy what `p->from` has; returns 1 at end of stream, 0 otherwise, -1 on error.  */
static int
pump (struct berth_loop *l, struct berth_pump *p, berth_error_t *err)
{
  char buf[65536];
  ssize_t n = read (p->from, buf, sizeof (buf));

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0) /* EOF, or EIO from a pty whose last slave closed */
    return 1;
  if (p->to >= 0)
    {
      if (berth_write_all (p->to, buf, (size_t) n) < 0 && errno != EPIPE)
        return berth_make_error_op (err, errno, "write", "copy %s", p->stream ? p->stream : "output");
      return 0;
    }
  if (l->log && berth_log_write (l->log, p->stream, buf, (size_t) n, err) < 0)
    return -1;
  return 0;
}

static void
handle_signal (struct berth_loop *l, int sig)
{
  if (sig == SIGWINCH)
    {
      if (l->winch_from >= 0 && l->winch_to >= 0)
        berth_terminal_copy_size (l->winch_from, l->winch_to);
      return;
    }
  if (l->forward_signals && sig != SIGCHLD)
    kill (l->child, sig);
}

int
berth_loop_run (struct berth_loop *l, int *wait_status, berth_error_t *err)
{
  sigset_t set;
  cleanup_close int sfd = -1;
  bool exited = false;
  bool open_pumps[BERTH_LOOP_MAX_PUMPS];
  size_t i, n_open = l->n_pumps;

  loop_signals (&set);
  sfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    return berth_make_error_op (err, errno, "signalfd", "signalfd for the supervision loop");
  for (i = 0; i < l->n_pumps; i++)
    open_pumps[i] = true;

  while (! exited || n_open > 0)
    {
      struct pollfd fds[BERTH_LOOP_MAX_PUMPS + 1];
      size_t map[BERTH_LOOP_MAX_PUMPS];
      nfds_t n = 0;
      int r;

      fds[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
      for (i = 0; i < l->n_pumps; i++)
        if (open_pumps[i])
          {
            map[n - 1] = i;
            fds[n++] = (struct pollfd){ .fd = l->pumps[i].from, .events = POLLIN };
          }
      /* Once the process is gone, drain what is buffered and stop: a daemonized grandchild
         may hold the pipe open forever.  */
      r = poll (fds, n, exited ? 100 : -1);
      if (r < 0 && errno != EINTR)
        return berth_make_error_op (err, errno, "poll", "poll in the supervision loop");
      if (r == 0 && exited)
        break;
      if (r <= 0)
        continue;
      if (fds[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof (si)) == (ssize_t) sizeof (si))
            handle_signal (l, (int) si.ssi_signo);
          while (! exited)
            {
              pid_t p = waitpid (l->child, wait_status, WNOHANG);
              if (p == l->child)
                exited = true;
              else
                break;
            }
        }
      for (i = 1; i < n; i++)
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
          {
            struct berth_pump *p = &l->pumps[map[i - 1]];
            int ret = pump (l, p, err);
            if (ret < 0)
              return -1;
            if (ret == 1 || (fds[i].revents & (POLLHUP | POLLERR) && ! (fds[i].revents & POLLIN)))
              {
                open_pumps[map[i - 1]] = false;
                n_open--;
              }
          }
    }
  return 0;
}
