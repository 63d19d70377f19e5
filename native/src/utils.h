/*
 * Berth runtime: cleanup attributes, allocation and file helpers.
 */
#ifndef BERTH_UTILS_H
#define BERTH_UTILS_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

/* ---- cleanup attributes: the variable is released when it goes out of scope.  */

static inline void
cleanup_freep (void *p)
{
  void **pp = (void **) p;
  free (*pp);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved_errno = errno;
      close (*fd);
      errno = saved_errno;
    }
}

static inline void
cleanup_filep (FILE **f)
{
  if (*f)
    {
      int saved_errno = errno;
      fclose (*f);
      errno = saved_errno;
    }
}

static inline void
cleanup_dirp (DIR **d)
{
  if (*d)
    {
      int saved_errno = errno;
      closedir (*d);
      errno = saved_errno;
    }
}

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))

/* Move ownership out of a cleanup variable: returns *pp and sets it to NULL.  */
#define steal_pointer(pp)                   \
  ({                                        \
    __typeof__ (*(pp)) steal_tmp_ = *(pp); \
    *(pp) = NULL;                           \
    steal_tmp_;                             \
  })

/* Same for a cleanup_close fd: returns *fdp and sets it to -1.  */
static inline int
steal_fd (int *fdp)
{
  int fd = *fdp;
  *fdp = -1;
  return fd;
}

#define BERTH_ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

/* ---- allocation: like crun, running out of memory aborts the process.  */

void *xmalloc0 (size_t size);
void *xrealloc (void *ptr, size_t size);
char *xstrdup (const char *s);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xvasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

/* ---- files.  All return a negative value on failure with *err set.  */

/* Read the whole file into a NUL-terminated buffer owned by the caller.
   len may be NULL.  Works on files whose st_size is 0 (/proc).  */
int berth_read_file (const char *path, char **out, size_t *len, berth_error_t *err);

/* berth_read_file for a file that may not exist: a missing file (ENOENT) is success with
   *out set to NULL (and *len to 0).  */
int berth_read_file_optional (const char *path, char **out, size_t *len, berth_error_t *err);

/* Replace path with data: write a temporary file in the same directory,
   fchmod it to mode (the umask does not apply), fsync, rename over path,
   fsync the directory.  On failure path is untouched and no temporary
   file is left behind.  */
int berth_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode,
                             berth_error_t *err);

/* The same without fsync: readers never see a half-written file, but a crash may lose the
   new version.  For the runtime's state, which lives in /run (tmpfs) and dies with a reboot
   anyway: fsync there only costs time on every create.  */
int berth_write_file_replace (const char *path, const void *data, size_t len, mode_t mode,
                              berth_error_t *err);

/* write(2) all of data, retrying short writes and EINTR.  Returns 0, or -1 with errno set.  */
int berth_write_all (int fd, const void *data, size_t len);

/* ---- passing a file descriptor over a unix socket (SCM_RIGHTS).  */

/* sendmsg(2) `len` bytes of `data` on `sock` with `fd` attached, or nothing attached when
   `fd` is -1.  Returns what sendmsg returns (-1 with errno set).  */
ssize_t berth_send_fd (int sock, const void *data, size_t len, int fd, int flags);

/* recvmsg(2) up to `len` bytes into `data`, retrying EINTR; the descriptor passed with them
   (close-on-exec) goes to *fd, or -1 when none came.  A descriptor that came when `fd` is
   NULL, or past the first, is closed.  Returns what recvmsg returns (-1 with errno set).  */
ssize_t berth_recv_fd (int sock, void *data, size_t len, int *fd);

/* Remove path recursively without following symlinks; a missing path is success.  */
int berth_remove_tree (const char *path, berth_error_t *err);

/* The start time (clock ticks since boot, /proc/<pid>/stat field 22) of pid, or 0 when
   pid does not exist.  Together with the pid it names one process, whatever reuse.  */
unsigned long long berth_pid_start_time (pid_t pid);

/* RFC 3339 UTC time with nanoseconds ("2026-11-23T18:20:01.123456789Z") of now.  */
void berth_time_now_rfc3339 (char *buf, size_t size);

/* mkdir -p: create path and missing parents with mode (the umask applies).
   An existing directory is success; an existing non-directory is ENOTDIR.  */
int berth_mkdir_p (const char *path, mode_t mode, berth_error_t *err);

/* ---- validation.  */

#define BERTH_ID_MAX_LEN 128

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}.  The error (status 0,
   op "validate_id", as crun: not a system error) names
   the offending character and its 0-based position.  */
int berth_validate_id (const char *id, berth_error_t *err);

#endif
