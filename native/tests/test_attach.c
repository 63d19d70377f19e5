/*
 * Unit tests for src/attach.c: the frames a client may send, and the server on a real unix
 * socket: broadcast to several clients, stdin into a pipe, close-stdin, a malformed frame
 * and a client that does not read dropped alone, start frames to their handler, the exit
 * frame and EOF at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach.h"
#include "error.h"
#include "fixtures.h"
#include "tap.h"
#include "utils.h"

static void
header (unsigned char h[8], unsigned type, uint32_t len)
{
  h[0] = (unsigned char) type;
  h[1] = h[2] = h[3] = 0;
  h[4] = (unsigned char) (len >> 24);
  h[5] = (unsigned char) (len >> 16);
  h[6] = (unsigned char) (len >> 8);
  h[7] = (unsigned char) len;
}

static int
test_parse_header (void)
{
  unsigned char h[8];
  enum berth_frame_type type;
  uint32_t len;

  header (h, 0, 5);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), 0);
  TAP_CHECK (type == BERTH_FRAME_STDIN && len == 5);
  header (h, 0, BERTH_ATTACH_MAX_PAYLOAD);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), 0);
  header (h, 4, 4);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), 0);
  TAP_CHECK (type == BERTH_FRAME_RESIZE);
  header (h, 5, 0);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), 0);
  TAP_CHECK (type == BERTH_FRAME_CLOSE_STDIN);

  header (h, 0, BERTH_ATTACH_MAX_PAYLOAD + 1);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 1, 1); /* output frames come from the monitor only */
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 2, 1);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 3, 1);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 6, 0);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), 0);
  TAP_CHECK (type == BERTH_FRAME_START && len == 0);

  header (h, 6, 1); /* start carries nothing */
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 7, 0);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 4, 3);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 5, 1);
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  header (h, 0, 1);
  h[2] = 1;
  TAP_CHECK_INT_EQ (berth_attach_parse_header (h, &type, &len), -1);
  return 0;
}

/* One round of the monitor's loop for the attach server alone.  */
static int
round_trip (struct berth_attach *a)
{
  struct pollfd fds[2 + BERTH_ATTACH_MAX_CLIENTS];
  berth_error_t err = NULL;
  size_t n = berth_attach_pollfds (a, fds);

  if (poll (fds, n, 50) < 0 && errno != EINTR)
    return -1;
  if (berth_attach_handle (a, fds, n, &err) < 0)
    {
      berth_error_release (&err);
      return -1;
    }
  return 0;
}

static int
rounds (struct berth_attach *a, int n)
{
  while (n-- > 0)
    if (round_trip (a) < 0)
      return -1;
  return 0;
}

static int
connect_to (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct timeval tv = { .tv_sec = 5 };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  snprintf (addr.sun_path, sizeof (addr.sun_path), "%s", path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0
      || setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv)) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Read exactly len bytes (or fail).  */
static int
read_exact (int fd, void *buf, size_t len)
{
  size_t got = 0;

  while (got < len)
    {
      ssize_t n = read (fd, (char *) buf + got, len - got);
      if (n <= 0)
        return -1;
      got += (size_t) n;
    }
  return 0;
}

/* Expect one frame of `type` carrying `payload`.  */
static int
expect_frame (int fd, unsigned type, const char *payload)
{
  unsigned char h[8], want[8];
  char buf[256] = { 0 };
  size_t len = strlen (payload);

  header (want, type, (uint32_t) len);
  TAP_CHECK_INT_EQ (read_exact (fd, h, sizeof (h)), 0);
  TAP_CHECK (memcmp (h, want, sizeof (h)) == 0);
  TAP_CHECK (len < sizeof (buf));
  TAP_CHECK_INT_EQ (read_exact (fd, buf, len), 0);
  TAP_CHECK_STR_EQ (buf, payload);
  return 0;
}

static int
send_frame (int fd, unsigned type, const char *payload, size_t len)
{
  unsigned char h[8];

  header (h, type, (uint32_t) len);
  if (berth_write_all (fd, h, sizeof (h)) < 0 || berth_write_all (fd, payload, len) < 0)
    return -1;
  return 0;
}

static void
count_start (void *arg)
{
  (*(int *) arg)++;
}

static size_t
clients (struct berth_attach *a)
{
  struct pollfd fds[2 + BERTH_ATTACH_MAX_CLIENTS];
  berth_attach_pollfds (a, fds); /* also removes dropped clients */
  return berth_attach_max_pollfds (a) - 2;
}

static int
test_server (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  struct berth_attach *a = NULL;
  berth_error_t err = NULL;
  cleanup_close int one = -1, two = -1, bad = -1, in_r = -1;
  int p[2];
  char buf[64];
  struct stat st;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/attach.sock", dir);
  TAP_CHECK_INT_EQ (berth_attach_listen (path, &a, &err), 0);
  TAP_CHECK (stat (path, &st) == 0 && S_ISSOCK (st.st_mode));
  TAP_CHECK_INT_EQ (st.st_mode & 0777, 0600);
  {
    struct berth_attach *again = NULL;
    TAP_CHECK (berth_attach_listen (path, &again, &err) < 0);
    TAP_CHECK (err && err->status == EADDRINUSE && strcmp (err->op, "bind") == 0);
    berth_error_release (&err);
  }

  /* stdin is a pipe; two clients and one that will send garbage.  */
  TAP_CHECK_INT_EQ (pipe2 (p, O_CLOEXEC), 0);
  in_r = p[0];
  TAP_CHECK_INT_EQ (berth_attach_set_stdin (a, p[1], false, -1, &err), 0);
  one = connect_to (path);
  two = connect_to (path);
  bad = connect_to (path);
  TAP_CHECK (one >= 0 && two >= 0 && bad >= 0);
  TAP_CHECK_INT_EQ (rounds (a, 2), 0);
  TAP_CHECK_INT_EQ (clients (a), 3);

  berth_attach_broadcast (a, BERTH_FRAME_STDOUT, "hello\n", 6);
  berth_attach_broadcast (a, BERTH_FRAME_STDERR, "oops\n", 5);
  TAP_CHECK_INT_EQ (expect_frame (one, 1, "hello\n"), 0);
  TAP_CHECK_INT_EQ (expect_frame (one, 2, "oops\n"), 0);
  TAP_CHECK_INT_EQ (expect_frame (two, 1, "hello\n"), 0);
  TAP_CHECK_INT_EQ (expect_frame (two, 2, "oops\n"), 0);

  /* A monitor-only frame type from a client: that client alone is dropped.  */
  TAP_CHECK_INT_EQ (send_frame (bad, 1, "x", 1), 0);
  TAP_CHECK_INT_EQ (rounds (a, 2), 0);
  TAP_CHECK_INT_EQ (clients (a), 2);
  TAP_CHECK_INT_EQ (expect_frame (bad, 1, "hello\n"), 0);
  TAP_CHECK_INT_EQ (expect_frame (bad, 2, "oops\n"), 0);
  TAP_CHECK (recv (bad, buf, sizeof (buf), 0) == 0); /* EOF */

  /* A start frame calls the handler, once per frame; without a handler it is ignored.  */
  {
    int started = 0;
    TAP_CHECK_INT_EQ (send_frame (one, 6, "", 0), 0);
    TAP_CHECK_INT_EQ (rounds (a, 2), 0);
    berth_attach_on_start (a, count_start, &started);
    TAP_CHECK_INT_EQ (send_frame (two, 6, "", 0), 0);
    TAP_CHECK_INT_EQ (rounds (a, 2), 0);
    TAP_CHECK_INT_EQ (started, 1);
    TAP_CHECK_INT_EQ (send_frame (one, 6, "", 0), 0);
    TAP_CHECK_INT_EQ (rounds (a, 2), 0);
    TAP_CHECK_INT_EQ (started, 2);
    berth_attach_on_start (a, NULL, NULL);
    TAP_CHECK_INT_EQ (clients (a), 2);
  }

  /* stdin frames, split across writes, from both clients; then close-stdin: EOF.  */
  TAP_CHECK_INT_EQ (send_frame (one, 0, "abc", 3), 0);
  TAP_CHECK_INT_EQ (rounds (a, 2), 0);
  TAP_CHECK_INT_EQ (send_frame (two, 0, "def", 3), 0);
  TAP_CHECK_INT_EQ (send_frame (two, 5, "", 0), 0);
  TAP_CHECK_INT_EQ (rounds (a, 2), 0);
  TAP_CHECK_INT_EQ (send_frame (one, 0, "late", 4), 0); /* after close-stdin: dropped */
  TAP_CHECK_INT_EQ (rounds (a, 3), 0);
  memset (buf, 0, sizeof (buf));
  TAP_CHECK_INT_EQ (read_exact (in_r, buf, 6), 0);
  TAP_CHECK_STR_EQ (buf, "abcdef");
  TAP_CHECK (read (in_r, buf, sizeof (buf)) == 0); /* the write end is closed */

  /* A client that does not read is dropped past 1 MiB unsent; the other keeps reading.  */
  {
    static char chunk[65536];
    size_t sent = 0, got = 0;
    int i;

    memset (chunk, 'x', sizeof (chunk));
    for (i = 0; i < 40; i++)
      {
        char rbuf[65536];
        ssize_t n;

        berth_attach_broadcast (a, BERTH_FRAME_STDOUT, chunk, sizeof (chunk));
        sent += 8 + sizeof (chunk);
        TAP_CHECK_INT_EQ (rounds (a, 1), 0);
        while ((n = recv (one, rbuf, sizeof (rbuf), MSG_DONTWAIT)) > 0)
          got += (size_t) n;
      }
    TAP_CHECK_INT_EQ (clients (a), 1);
    for (i = 0; got < sent && i < 1000; i++)
      {
        char rbuf[65536];
        ssize_t n;
        TAP_CHECK_INT_EQ (rounds (a, 1), 0);
        while ((n = recv (one, rbuf, sizeof (rbuf), MSG_DONTWAIT)) > 0)
          got += (size_t) n;
      }
    TAP_CHECK (got == sent);
  }

  /* The end: the exit frame, then EOF; the socket file is gone.  */
  berth_attach_finish (a, "{\"exitCode\":3}", 2000);
  TAP_CHECK_INT_EQ (expect_frame (one, 3, "{\"exitCode\":3}"), 0);
  TAP_CHECK (recv (one, buf, sizeof (buf), 0) == 0);
  TAP_CHECK (access (path, F_OK) < 0 && errno == ENOENT);
  berth_attach_free (a);
  return 0;
}

static int
test_long_path (void)
{
  char path[200];
  struct berth_attach *a = NULL;
  berth_error_t err = NULL;

  memset (path, 'a', sizeof (path) - 1);
  path[0] = '/';
  path[sizeof (path) - 1] = '\0';
  TAP_CHECK (berth_attach_listen (path, &a, &err) < 0);
  TAP_CHECK (a == NULL);
  TAP_CHECK (err && err->status == ENAMETOOLONG && strstr (err->msg, "use a shorter --root") != NULL);
  berth_error_release (&err);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_parse_header),
  TAP_TEST (test_server),
  TAP_TEST (test_long_path),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
