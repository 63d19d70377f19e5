/*
 * Berth runtime: pseudo-terminals.  See terminal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "terminal.h"
#include "utils.h"

int
berth_terminal_open (int *master, int *slave, unsigned width, unsigned height, berth_error_t *err)
{
  cleanup_close int m = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  char name[64];
  int s;

  if (m < 0)
    return berth_make_error_op (err, errno, "posix_openpt", "open a pseudo-terminal (/dev/ptmx)");
  if (grantpt (m) < 0 || unlockpt (m) < 0)
    return berth_make_error_op (err, errno, "unlockpt", "unlock the pseudo-terminal");
  if (ptsname_r (m, name, sizeof (name)) != 0)
    return berth_make_error_op (err, errno, "ptsname", "name the pseudo-terminal");
  s = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return berth_make_error_op (err, errno, "open", "open %s", name);
  if (width && height)
    {
      struct winsize ws = { .ws_row = (unsigned short) height, .ws_col = (unsigned short) width };
      ioctl (s, TIOCSWINSZ, &ws);
    }
  *master = steal_fd (&m);
  *slave = s;
  return 0;
}

int
berth_terminal_send (const char *path, int fd, berth_error_t *err)
{
  cleanup_close int sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char dummy = '\0';

  if (strlen (path) >= sizeof (addr.sun_path))
    return berth_make_error_op (err, ENAMETOOLONG, "connect", "console socket path %s is too long", path);
  strcpy (addr.sun_path, path);
  if (sock < 0)
    return berth_make_error_op (err, errno, "socket", "socket for the console socket");
  if (connect (sock, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    return berth_make_error_op (err, errno, "connect", "connect to the console socket %s", path);
  if (berth_send_fd (sock, &dummy, 1, fd, MSG_NOSIGNAL) < 0)
    return berth_make_error_op (err, errno, "sendmsg", "send the terminal to the console socket %s", path);
  return 0;
}

int
berth_terminal_become (int fd, berth_error_t *err)
{
  int i;

  if (setsid () < 0 && errno != EPERM)
    return berth_make_error_op (err, errno, "setsid", "setsid for the terminal");
  if (ioctl (fd, TIOCSCTTY, 0) < 0)
    return berth_make_error_op (err, errno, "ioctl", "ioctl TIOCSCTTY");
  for (i = 0; i < 3; i++)
    if (dup2 (fd, i) < 0)
      return berth_make_error_op (err, errno, "dup2", "dup2 the terminal to fd %d", i);
  return 0;
}

int
berth_terminal_raw (int fd, struct termios *saved, berth_error_t *err)
{
  struct termios raw;

  if (tcgetattr (fd, saved) < 0)
    return berth_make_error_op (err, errno, "tcgetattr", "tcgetattr of the calling terminal");
  raw = *saved;
  cfmakeraw (&raw);
  if (tcsetattr (fd, TCSANOW, &raw) < 0)
    return berth_make_error_op (err, errno, "tcsetattr", "put the calling terminal in raw mode");
  return 0;
}

void
berth_terminal_copy_size (int from, int to)
{
  struct winsize ws;
  /* A terminal that does not know its size (0x0) keeps the size already set.  */
  if (ioctl (from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    ioctl (to, TIOCSWINSZ, &ws);
}
