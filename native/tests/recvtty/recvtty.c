/*
 * berth-recvtty SOCKET [INPUT]: the other end of --console-socket, for tests (runc ships
 * the same tool).  Listens on SOCKET, receives one terminal fd (SCM_RIGHTS), writes INPUT
 * to it, then copies everything the container writes to stdout until the terminal closes.
 * Prints "ready" on stderr once listening.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "utils.h"

static int
fail (const char *what)
{
  fprintf (stderr, "berth-recvtty: %s: %s\n", what, strerror (errno));
  return 1;
}

int
main (int argc, char **argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char dummy, buf[4096];
  int sock, conn, tty;
  ssize_t n;

  if (argc < 2 || strlen (argv[1]) >= sizeof (addr.sun_path))
    {
      fprintf (stderr, "usage: berth-recvtty SOCKET [INPUT]\n");
      return 2;
    }
  strcpy (addr.sun_path, argv[1]);
  sock = socket (AF_UNIX, SOCK_STREAM, 0);
  if (sock < 0)
    return fail ("socket");
  if (bind (sock, (struct sockaddr *) &addr, sizeof (addr)) < 0 || listen (sock, 1) < 0)
    return fail (argv[1]);
  fprintf (stderr, "ready\n");
  conn = accept (sock, NULL, NULL);
  if (conn < 0)
    return fail ("accept");
  if (berth_recv_fd (conn, &dummy, 1, &tty) < 0)
    return fail ("recvmsg");
  if (tty < 0)
    {
      fprintf (stderr, "berth-recvtty: no file descriptor received\n");
      return 1;
    }
  close (conn);
  close (sock);
  unlink (argv[1]);
  if (argc > 2 && write (tty, argv[2], strlen (argv[2])) < 0)
    return fail ("write to the terminal");
  while ((n = read (tty, buf, sizeof (buf))) > 0)
    if (write (STDOUT_FILENO, buf, (size_t) n) != n)
      return fail ("write stdout");
  /* EIO: the container's side of the terminal closed.  */
  return n < 0 && errno != EIO ? fail ("read the terminal") : 0;
}
