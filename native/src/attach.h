/*
 * Berth runtime: the attach socket a container's monitor serves (berth.attach),
 * <state>/attach.sock, AF_UNIX SOCK_STREAM, mode 0600.
 *
 * Both ways the stream is frames, Docker's stdcopy header then the payload:
 *
 *   [type u8][0 0 0][length u32 big-endian] payload
 *
 *   monitor → client   1 stdout, 2 stderr (with a terminal everything is 1), and last
 *                      3 exit: exit.json's content, once it is written, then EOF
 *   client → monitor   0 stdin bytes, 4 resize (rows u16 BE, cols u16 BE), 5 close stdin,
 *                      6 start (no payload): start the created container, as `start` does
 *
 * Output is broadcast live to every client (no replay: the log has the history).  A client
 * with more than BERTH_ATTACH_MAX_BACKLOG bytes of output unsent is dropped: the container
 * and its log never wait on a client.  A malformed frame drops that client only.  Every
 * descriptor is nonblocking; nothing here raises SIGPIPE (MSG_NOSIGNAL; the monitor keeps
 * SIGPIPE blocked for the stdin pipe).
 */
#ifndef BERTH_ATTACH_H
#define BERTH_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BERTH_ATTACH_MAX_BACKLOG (1024 * 1024) /* unsent output bytes before a client is dropped */
#define BERTH_ATTACH_MAX_PAYLOAD (1024 * 1024) /* the largest frame a client may send */
#define BERTH_ATTACH_MAX_CLIENTS 64

enum berth_frame_type
{
  BERTH_FRAME_STDIN = 0,
  BERTH_FRAME_STDOUT = 1,
  BERTH_FRAME_STDERR = 2,
  BERTH_FRAME_EXIT = 3,
  BERTH_FRAME_RESIZE = 4,
  BERTH_FRAME_CLOSE_STDIN = 5,
  BERTH_FRAME_START = 6,
};

struct berth_attach;

/* Listen on `path` (mode 0600; a leftover socket file is an error).  */
int berth_attach_listen (const char *path, struct berth_attach **out, berth_error_t *err);

/* Where stdin frames go: a pipe's write end (owned from now on: closed on a close-stdin
   frame) or, with tty, the terminal's master (not owned; close-stdin writes its VEOF
   character).  -1: stdin frames are dropped.  `master` (or -1, not owned) takes resizes.
   Both are made nonblocking.  */
int berth_attach_set_stdin (struct berth_attach *a, int fd, bool tty, int master, berth_error_t *err);

/* What a start frame calls (in the monitor: the `start` rendezvous), with `arg`; NULL: start
   frames are ignored.  */
void berth_attach_on_start (struct berth_attach *a, void (*fn) (void *arg), void *arg);

/* Send one chunk of the program's output to every client.  */
void berth_attach_broadcast (struct berth_attach *a, enum berth_frame_type type, const char *data, size_t len);

/* The poll entries the server needs now (at most berth_attach_max_pollfds ()).  */
size_t berth_attach_max_pollfds (const struct berth_attach *a);
size_t berth_attach_pollfds (struct berth_attach *a, struct pollfd *fds);

/* Handle what poll reported for the entries berth_attach_pollfds filled.  Failures of a
   client drop that client; only the server's own failures are returned.  */
int berth_attach_handle (struct berth_attach *a, const struct pollfd *fds, size_t n, berth_error_t *err);

/* The program has exited and exit.json is written: stop taking stdin and new clients (the
   socket file is removed), send every client a type-3 frame with `exit_json` (exit.json's
   content; NULL: none), give them up to `timeout_ms` to read what is queued for them,
   then close them (EOF).  A client that was dropped earlier gets no exit frame.  */
void berth_attach_finish (struct berth_attach *a, const char *exit_json, int timeout_ms);

/* Close everything, remove the socket file, and free.  a may be NULL.  */
void berth_attach_free (struct berth_attach *a);

/* Frame parsing, for tests: the header of a frame, or -1 when it is not one a client may
   send (unknown or monitor-only type, non-zero padding, too long).  */
int berth_attach_parse_header (const unsigned char hdr[8], enum berth_frame_type *type, uint32_t *len);

#endif
