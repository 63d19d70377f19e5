/*
 * Berth runtime: the supervision loop.  See loop.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
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

/* The terminal `master`'s EOF character (^D unless changed).  */
static void
write_veof (int master)
{
  struct termios t;
  unsigned char veof = 4;

  if (tcgetattr (master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
    veof = t.c_cc[VEOF];
  berth_write_all (master, &veof, 1);
}

/* Copy what `p->from` has; returns 1 at end of stream, 0 when nothing was there, 2 when
   something was copied, -1 on error.  */
static int
pump (struct berth_loop *l, struct berth_pump *p, berth_error_t *err)
{
  char buf[65536];
  ssize_t n = read (p->from, buf, sizeof (buf));

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0) /* EOF, or EIO from a pty whose last slave closed */
    {
      if (p->veof_at_eof && p->to >= 0)
        write_veof (p->to);
      return 1;
    }
  if (p->to >= 0)
    {
      if (berth_write_all (p->to, buf, (size_t) n) < 0 && errno != EPIPE)
        return berth_make_error_op (err, errno, "write", "copy %s", p->stream ? p->stream : "output");
      return 2;
    }
  if (l->log && berth_log_write (l->log, p->stream, buf, (size_t) n, err) < 0)
    return -1;
  berth_attach_broadcast (l->attach, p->stream && strcmp (p->stream, "stderr") == 0 ? BERTH_FRAME_STDERR : BERTH_FRAME_STDOUT,
                          buf, (size_t) n);
  return 2;
}

/* Read "ROWS COLS\n" lines from l->resize_from and resize l->resize_to; returns 1 at end
   of stream.  A malformed line is ignored.  */
static int
read_resizes (struct berth_loop *l, char *line, size_t *len, size_t size)
{
  ssize_t n = read (l->resize_from, line + *len, size - 1 - *len);
  char *nl;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0)
    return 1;
  *len += (size_t) n;
  line[*len] = '\0';
  while ((nl = strchr (line, '\n')) != NULL)
    {
      unsigned rows, cols;
      char end;
      *nl = '\0';
      if (sscanf (line, "%u %u%c", &rows, &cols, &end) == 2 && rows && cols && rows <= 65535 && cols <= 65535)
        {
          struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
          ioctl (l->resize_to, TIOCSWINSZ, &ws); /* best effort: the terminal may be gone */
        }
      *len -= (size_t) (nl + 1 - line);
      memmove (line, nl + 1, *len + 1);
    }
  if (*len == size - 1) /* a line too long to be a size */
    *len = 0;
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

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Once the process is gone, what is buffered is drained; a quiet spell this long ends it
   (a daemonized grandchild may hold the pipe open forever).  */
#define DRAIN_QUIET_MS 100

int
berth_loop_run (struct berth_loop *l, int *wait_status, berth_error_t *err)
{
  sigset_t set;
  cleanup_close int sfd = -1;
  cleanup_free struct pollfd *fds = NULL;
  bool exited = false;
  bool open_pumps[BERTH_LOOP_MAX_PUMPS];
  bool resizing = l->resize_from >= 0 && l->resize_to >= 0;
  char resize_line[64];
  size_t resize_len = 0;
  size_t i, n_open = l->n_pumps, alloc = 0;
  long long last_output = 0;

  loop_signals (&set);
  sfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    return berth_make_error_op (err, errno, "signalfd", "signalfd for the supervision loop");
  for (i = 0; i < l->n_pumps; i++)
    open_pumps[i] = true;

  while (! exited || n_open > 0)
    {
      size_t map[BERTH_LOOP_MAX_PUMPS];
      size_t want = 2 + l->n_pumps + berth_attach_max_pollfds (l->attach);
      size_t n = 0, first_pump, n_pumps_polled, resize_slot = (size_t) -1, attach_slot, n_attach = 0;
      int r, timeout = -1;

      if (want > alloc)
        {
          fds = xrealloc (fds, sizeof (*fds) * want);
          alloc = want;
        }
      fds[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
      first_pump = n;
      for (i = 0; i < l->n_pumps; i++)
        if (open_pumps[i])
          {
            map[n - first_pump] = i;
            fds[n++] = (struct pollfd){ .fd = l->pumps[i].from, .events = POLLIN };
          }
      n_pumps_polled = n - first_pump;
      if (resizing)
        {
          resize_slot = n;
          fds[n++] = (struct pollfd){ .fd = l->resize_from, .events = POLLIN };
        }
      attach_slot = n;
      if (l->attach)
        {
          n_attach = berth_attach_pollfds (l->attach, fds + n);
          n += n_attach;
        }
      if (exited)
        {
          long long quiet = now_ms () - last_output;
          if (quiet >= DRAIN_QUIET_MS)
            break;
          timeout = (int) (DRAIN_QUIET_MS - quiet);
        }
      r = poll (fds, n, timeout);
      if (r < 0 && errno != EINTR)
        return berth_make_error_op (err, errno, "poll", "poll in the supervision loop");
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
                {
                  exited = true;
                  last_output = now_ms ();
                }
              else
                break;
            }
        }
      for (i = 0; i < n_pumps_polled; i++)
        {
          short re = fds[first_pump + i].revents;
          if (re & (POLLIN | POLLHUP | POLLERR))
            {
              struct berth_pump *p = &l->pumps[map[i]];
              int ret = pump (l, p, err);
              if (ret < 0)
                return -1;
              if (ret == 2)
                last_output = now_ms ();
              if (ret == 1 || (re & (POLLHUP | POLLERR) && ! (re & POLLIN)))
                {
                  if (ret != 1 && p->veof_at_eof && p->to >= 0)
                    write_veof (p->to);
                  open_pumps[map[i]] = false;
                  n_open--;
                }
            }
        }
      if (resize_slot != (size_t) -1 && fds[resize_slot].revents & (POLLIN | POLLHUP | POLLERR)
          && read_resizes (l, resize_line, &resize_len, sizeof (resize_line)) == 1)
        resizing = false;
      if (l->attach && berth_attach_handle (l->attach, fds + attach_slot, n_attach, err) < 0)
        return -1;
    }
  return 0;
}
