/*
 * Berth runtime: the attach socket.  See attach.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "utils.h"

#define HEADER_BYTES 8
#define STDIN_HIGH_WATER (256 * 1024) /* stop reading clients while this much stdin waits */

/* A byte queue: data[start, start + len).  */
struct queue
{
  char *data;
  size_t start, len, alloc;
};

static void
queue_push (struct queue *q, const void *data, size_t len)
{
  if (len == 0)
    return;
  if (q->start > 0 && q->start + q->len + len > q->alloc)
    {
      memmove (q->data, q->data + q->start, q->len);
      q->start = 0;
    }
  if (q->start + q->len + len > q->alloc)
    {
      size_t want = q->alloc ? q->alloc : 4096;
      while (want < q->len + len)
        want *= 2;
      q->data = xrealloc (q->data, want);
      q->alloc = want;
    }
  memcpy (q->data + q->start + q->len, data, len);
  q->len += len;
}

static void
queue_pop (struct queue *q, size_t n)
{
  q->start += n;
  q->len -= n;
  if (q->len == 0)
    q->start = 0;
}

static void
queue_release (struct queue *q)
{
  free (q->data);
  *q = (struct queue){ 0 };
}

struct client
{
  int fd;
  bool dead;     /* dropped: closed and removed by the next berth_attach_pollfds */
  bool read_eof; /* the client shut down its side: it only reads now */
  unsigned char hdr[HEADER_BYTES];
  size_t hdr_len;
  enum berth_frame_type type; /* of the frame being read, once hdr_len == 8 */
  uint32_t remaining;         /* payload bytes still to come */
  unsigned char small[4];     /* a resize payload */
  size_t small_len;
  struct queue out;
};

struct berth_attach
{
  int listen_fd;
  char *path;
  struct client *clients;
  size_t n_clients;
  int stdin_fd; /* owned; -1: stdin frames are dropped */
  bool tty;
  int master; /* not owned; -1 */
  bool close_stdin; /* close stdin_fd once the queue is written */
  struct queue in;
  /* What berth_attach_pollfds put where.  */
  size_t poll_listen, poll_stdin, poll_first_client;
  bool finished;
  void (*on_start) (void *arg);
  void *on_start_arg;
};

int
berth_attach_parse_header (const unsigned char hdr[8], enum berth_frame_type *type, uint32_t *len)
{
  uint32_t n = (uint32_t) hdr[4] << 24 | (uint32_t) hdr[5] << 16 | (uint32_t) hdr[6] << 8 | hdr[7];

  if (hdr[1] || hdr[2] || hdr[3] || n > BERTH_ATTACH_MAX_PAYLOAD)
    return -1;
  switch (hdr[0])
    {
    case BERTH_FRAME_STDIN:
      break;
    case BERTH_FRAME_RESIZE:
      if (n != 4)
        return -1;
      break;
    case BERTH_FRAME_CLOSE_STDIN:
    case BERTH_FRAME_START:
      if (n != 0)
        return -1;
      break;
    default:
      return -1;
    }
  *type = (enum berth_frame_type) hdr[0];
  *len = n;
  return 0;
}

int
berth_attach_listen (const char *path, struct berth_attach **out, berth_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  struct berth_attach *a;
  mode_t old_umask;
  int ret;

  if (strlen (path) >= sizeof (addr.sun_path))
    return berth_make_error_op (err, ENAMETOOLONG, "bind",
                                "attach socket %s is longer than a unix socket path may be (%zu bytes): use a shorter --root",
                                path, sizeof (addr.sun_path) - 1);
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_make_error_op (err, errno, "socket", "socket for the attach socket %s", path);
  /* Mode 0600 from the start: no moment where another user could connect.  */
  old_umask = umask (0177);
  ret = bind (fd, (struct sockaddr *) &addr, sizeof (addr));
  umask (old_umask);
  if (ret < 0)
    return berth_make_error_op (err, errno, "bind", "bind the attach socket %s", path);
  if (listen (fd, 16) < 0)
    {
      int saved = errno;
      unlink (path);
      return berth_make_error_op (err, saved, "listen", "listen on the attach socket %s", path);
    }
  a = xmalloc0 (sizeof (*a));
  a->listen_fd = steal_fd (&fd);
  a->path = xstrdup (path);
  a->stdin_fd = -1;
  a->master = -1;
  *out = a;
  return 0;
}

/* Stop writing stdin: the pipe is closed (owned), the terminal's master is left alone.  */
static void
stop_stdin (struct berth_attach *a)
{
  if (a->stdin_fd >= 0 && ! a->tty)
    close (a->stdin_fd);
  a->stdin_fd = -1;
}

static int
set_nonblocking (int fd, const char *what, berth_error_t *err)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return berth_make_error_op (err, errno, "fcntl", "make %s nonblocking", what);
  return 0;
}

int
berth_attach_set_stdin (struct berth_attach *a, int fd, bool tty, int master, berth_error_t *err)
{
  stop_stdin (a);
  a->stdin_fd = fd;
  a->tty = tty;
  a->master = master;
  if (fd >= 0 && set_nonblocking (fd, tty ? "the terminal" : "the stdin pipe", err) < 0)
    return -1;
  if (master >= 0 && master != fd && set_nonblocking (master, "the terminal", err) < 0)
    return -1;
  return 0;
}

void
berth_attach_on_start (struct berth_attach *a, void (*fn) (void *arg), void *arg)
{
  a->on_start = fn;
  a->on_start_arg = arg;
}

/* Close client i and take it out of the list (which reorders it).  */
static void
remove_client (struct berth_attach *a, size_t i)
{
  close (a->clients[i].fd);
  queue_release (&a->clients[i].out);
  a->clients[i] = a->clients[--a->n_clients];
}

/* Drop client i; the list keeps its order until berth_attach_pollfds, so the poll slots
   stay right while one round of events is handled.  */
static void
drop_client (struct client *c)
{
  c->dead = true;
  queue_release (&c->out);
}

static void
remove_dead (struct berth_attach *a)
{
  size_t i = 0;

  while (i < a->n_clients)
    if (a->clients[i].dead)
      remove_client (a, i);
    else
      i++;
}

/* Send what is queued for client c; returns -1 when the client is gone.  */
static int
flush_client (struct client *c)
{
  while (c->out.len > 0)
    {
      ssize_t n = send (c->fd, c->out.data + c->out.start, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
      queue_pop (&c->out, (size_t) n);
    }
  return 0;
}

void
berth_attach_broadcast (struct berth_attach *a, enum berth_frame_type type, const char *data, size_t len)
{
  unsigned char hdr[HEADER_BYTES] = { (unsigned char) type, 0, 0, 0, (unsigned char) (len >> 24), (unsigned char) (len >> 16),
                                      (unsigned char) (len >> 8), (unsigned char) len };
  size_t i;

  if (a == NULL || len == 0)
    return;
  for (i = 0; i < a->n_clients; i++)
    {
      struct client *c = &a->clients[i];
      size_t sent = 0;

      if (c->dead)
        continue;
      if (c->out.len == 0)
        {
          /* Nothing queued: straight to the socket, the rest is queued.  */
          struct iovec iov[2] = { { .iov_base = hdr, .iov_len = sizeof (hdr) }, { .iov_base = (void *) data, .iov_len = len } };
          struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
          ssize_t n = sendmsg (c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n < 0 && errno != EAGAIN && errno != EINTR)
            {
              drop_client (c);
              continue;
            }
          sent = n > 0 ? (size_t) n : 0;
        }
      if (sent < sizeof (hdr))
        {
          queue_push (&c->out, hdr + sent, sizeof (hdr) - sent);
          queue_push (&c->out, data, len);
        }
      else
        queue_push (&c->out, data + (sent - sizeof (hdr)), len - (sent - sizeof (hdr)));
      if (c->out.len > BERTH_ATTACH_MAX_BACKLOG)
        drop_client (c); /* too slow: the container does not wait for it */
    }
}

size_t
berth_attach_max_pollfds (const struct berth_attach *a)
{
  return a ? 2 + a->n_clients : 0;
}

size_t
berth_attach_pollfds (struct berth_attach *a, struct pollfd *fds)
{
  size_t n = 0, i;
  bool take_input = a->in.len < STDIN_HIGH_WATER;

  remove_dead (a);
  a->poll_listen = a->poll_stdin = (size_t) -1;
  if (a->listen_fd >= 0)
    {
      a->poll_listen = n;
      fds[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
    }
  if (a->stdin_fd >= 0 && a->in.len > 0)
    {
      a->poll_stdin = n;
      fds[n++] = (struct pollfd){ .fd = a->stdin_fd, .events = POLLOUT };
    }
  a->poll_first_client = n;
  for (i = 0; i < a->n_clients; i++)
    {
      struct client *c = &a->clients[i];
      short events = 0;
      if (! c->read_eof && take_input)
        events |= POLLIN;
      if (c->out.len > 0)
        events |= POLLOUT;
      /* POLLHUP and POLLERR are always reported: a client that went away is noticed.  */
      fds[n++] = (struct pollfd){ .fd = c->fd, .events = events };
    }
  return n;
}

static void
accept_clients (struct berth_attach *a)
{
  for (;;)
    {
      int fd = accept4 (a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return; /* EAGAIN: all taken; anything else: the client is gone, or try again later */
      if (a->n_clients >= BERTH_ATTACH_MAX_CLIENTS)
        {
          close (fd);
          continue;
        }
      a->clients = xrealloc (a->clients, sizeof (*a->clients) * (a->n_clients + 1));
      a->clients[a->n_clients++] = (struct client){ .fd = fd };
    }
}

/* The pending stdin, written as far as the program takes it.  */
static void
write_stdin (struct berth_attach *a)
{
  while (a->stdin_fd >= 0 && a->in.len > 0)
    {
      ssize_t n = write (a->stdin_fd, a->in.data + a->in.start, a->in.len);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (n < 0)
        {
          /* EPIPE: the program closed its stdin; EIO: the terminal is gone.  Nobody reads it.  */
          queue_release (&a->in);
          if (! a->tty)
            stop_stdin (a);
          return;
        }
      queue_pop (&a->in, (size_t) n);
    }
  if (a->close_stdin && a->in.len == 0 && ! a->tty)
    stop_stdin (a);
}

static void
stdin_data (struct berth_attach *a, const unsigned char *data, size_t len)
{
  if (a->stdin_fd < 0 || a->close_stdin)
    return; /* no stdin, or closed: dropped */
  queue_push (&a->in, data, len);
}

static void
frame_done (struct berth_attach *a, struct client *c)
{
  if (c->type == BERTH_FRAME_RESIZE && a->master >= 0)
    {
      struct winsize ws = { .ws_row = (unsigned short) (c->small[0] << 8 | c->small[1]),
                            .ws_col = (unsigned short) (c->small[2] << 8 | c->small[3]) };
      if (ws.ws_row && ws.ws_col)
        ioctl (a->master, TIOCSWINSZ, &ws); /* best effort: the terminal may be gone */
    }
  else if (c->type == BERTH_FRAME_CLOSE_STDIN && a->stdin_fd >= 0)
    {
      if (a->tty)
        {
          struct termios t;
          unsigned char veof = 4; /* ^D */
          if (tcgetattr (a->stdin_fd, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
            veof = t.c_cc[VEOF];
          stdin_data (a, &veof, 1);
        }
      else
        a->close_stdin = true;
    }
  else if (c->type == BERTH_FRAME_START && a->on_start)
    a->on_start (a->on_start_arg);
  c->hdr_len = 0;
  c->small_len = 0;
}

/* Parse what a client sent; -1: a malformed frame.  */
static int
client_input (struct berth_attach *a, struct client *c, const unsigned char *p, size_t len)
{
  while (len > 0)
    {
      if (c->hdr_len < HEADER_BYTES)
        {
          size_t take = HEADER_BYTES - c->hdr_len < len ? HEADER_BYTES - c->hdr_len : len;
          memcpy (c->hdr + c->hdr_len, p, take);
          c->hdr_len += take;
          p += take;
          len -= take;
          if (c->hdr_len < HEADER_BYTES)
            return 0;
          if (berth_attach_parse_header (c->hdr, &c->type, &c->remaining) < 0)
            return -1;
          if (c->remaining == 0)
            frame_done (a, c);
          continue;
        }
      {
        size_t take = c->remaining < len ? c->remaining : len;
        if (c->type == BERTH_FRAME_STDIN)
          stdin_data (a, p, take);
        else
          {
            memcpy (c->small + c->small_len, p, take); /* a resize: 4 bytes at most */
            c->small_len += take;
          }
        c->remaining -= (uint32_t) take;
        p += take;
        len -= take;
        if (c->remaining == 0)
          frame_done (a, c);
      }
    }
  return 0;
}

/* Read what client i sent; -1: drop it.  */
static int
read_client (struct berth_attach *a, size_t i)
{
  unsigned char buf[65536];
  struct client *c = &a->clients[i];
  ssize_t n = recv (c->fd, buf, sizeof (buf), MSG_DONTWAIT);

  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
  if (n == 0)
    {
      c->read_eof = true; /* half-closed: it may still read output */
      return 0;
    }
  return client_input (a, c, buf, (size_t) n);
}

int
berth_attach_handle (struct berth_attach *a, const struct pollfd *fds, size_t n, berth_error_t *err)
{
  size_t i, n_clients = a->n_clients;

  (void) err;
  /* Clients by their poll slot: the list keeps its order until the next pollfds (new
     clients are appended, dropped ones only marked).  */
  for (i = 0; i < n_clients && a->poll_first_client + i < n; i++)
    {
      short re = fds[a->poll_first_client + i].revents;
      struct client *c = &a->clients[i];

      if (c->dead)
        continue;
      if ((re & POLLIN && read_client (a, i) < 0) || (re & POLLOUT && flush_client (c) < 0)
          || (re & (POLLHUP | POLLERR | POLLNVAL) && ! (re & POLLIN)))
        drop_client (c);
    }
  if (a->poll_listen < n && fds[a->poll_listen].revents & POLLIN)
    accept_clients (a);
  if (a->in.len > 0 || a->close_stdin)
    write_stdin (a);
  return 0;
}

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read and discard what client c sent and nobody will handle: a unix socket closed with
   unread data resets the connection (ECONNRESET), and the client could lose output.  */
static void
discard_input (struct client *c)
{
  char buf[4096];
  int i;

  for (i = 0; i < 256 && recv (c->fd, buf, sizeof (buf), MSG_DONTWAIT) > 0; i++)
    ;
}

void
berth_attach_finish (struct berth_attach *a, const char *exit_json, int timeout_ms)
{
  long long deadline = now_ms () + timeout_ms;
  size_t i;

  if (a == NULL || a->finished)
    return;
  a->finished = true;
  if (a->listen_fd >= 0)
    {
      close (a->listen_fd);
      a->listen_fd = -1;
      unlink (a->path);
    }
  stop_stdin (a);
  queue_release (&a->in);
  remove_dead (a);
  if (exit_json)
    berth_attach_broadcast (a, BERTH_FRAME_EXIT, exit_json, strlen (exit_json));
  /* Let the clients read what is queued for them, within the time given.  */
  for (;;)
    {
      struct pollfd *fds;
      size_t n = 0;
      long long left = deadline - now_ms ();
      int r;

      for (i = 0; i < a->n_clients; i++)
        {
          discard_input (&a->clients[i]);
          if (! a->clients[i].dead && flush_client (&a->clients[i]) < 0)
            drop_client (&a->clients[i]);
        }
      remove_dead (a);
      fds = xmalloc0 (sizeof (*fds) * (a->n_clients + 1));
      for (i = 0; i < a->n_clients; i++)
        if (a->clients[i].out.len > 0)
          fds[n++] = (struct pollfd){ .fd = a->clients[i].fd, .events = POLLOUT };
      if (n == 0 || left <= 0)
        {
          free (fds);
          break;
        }
      r = poll (fds, n, (int) left);
      free (fds);
      if (r < 0 && errno != EINTR)
        break;
    }
  /* A lingering close: EOF to each client (shutdown), then read and discard what it still
     sends until it closes too.  Closing at once would reset a client still writing stdin,
     which can make it lose the output and the exit frame it has not read yet.  */
  for (i = 0; i < a->n_clients; i++)
    if (shutdown (a->clients[i].fd, SHUT_WR) < 0)
      drop_client (&a->clients[i]);
  remove_dead (a);
  while (a->n_clients > 0)
    {
      struct pollfd *fds = xmalloc0 (sizeof (*fds) * a->n_clients);
      long long left = deadline - now_ms ();
      int r;

      if (left <= 0)
        {
          free (fds);
          break;
        }
      for (i = 0; i < a->n_clients; i++)
        fds[i] = (struct pollfd){ .fd = a->clients[i].fd, .events = POLLIN };
      r = poll (fds, a->n_clients, (int) left);
      if (r < 0 && errno != EINTR)
        {
          free (fds);
          break;
        }
      for (i = 0; r > 0 && i < a->n_clients; i++)
        if (fds[i].revents)
          {
            char buf[65536];
            ssize_t n = recv (a->clients[i].fd, buf, sizeof (buf), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
              drop_client (&a->clients[i]);
          }
      free (fds);
      remove_dead (a);
    }
  for (i = 0; i < a->n_clients; i++)
    discard_input (&a->clients[i]);
  while (a->n_clients > 0)
    remove_client (a, a->n_clients - 1);
}

void
berth_attach_free (struct berth_attach *a)
{
  if (a == NULL)
    return;
  while (a->n_clients > 0)
    remove_client (a, a->n_clients - 1);
  free (a->clients);
  if (a->listen_fd >= 0)
    {
      close (a->listen_fd);
      unlink (a->path);
    }
  stop_stdin (a);
  queue_release (&a->in);
  free (a->path);
  free (a);
}
