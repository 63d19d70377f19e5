/*
 * berth-probe: the container process of Berth's runtime tests (crun's tests/init.c idea).
 * Built static (`make -C native` -> build/berth-probe), so it runs in a rootfs that holds
 * nothing else.  One verb per run:
 *
 *   report             one JSON object on stdout: identity, environment, mounts, namespaces,
 *                      cgroup, fds, rlimits, capabilities, no_new_privs, seccomp, ttys...
 *   exit N             exit with status N (0-255)
 *   sleep SECONDS      sleep (fractions allowed).  Signal dispositions are left alone: as
 *                      PID 1 of a pid namespace, SIGTERM is then ignored by the kernel.
 *   echo TEXT...       the arguments, space-separated, one line on stdout
 *   stderr TEXT...     the same on stderr
 *   write PATH TEXT    create or truncate PATH (mode 0644) and write TEXT, no newline added
 *   cat PATH           copy PATH to stdout
 *   zombies N          leave N orphaned zombies for PID 1 to reap: a child forks N
 *                      grandchildren and exits; they exit once it is gone, so they are
 *                      reparented to the namespace's init.  The probe waits for the child
 *                      only, prints {"zombies":[pids]} and sleeps forever.  With no init
 *                      (the probe is PID 1) they stay zombies; with berth.init they vanish.
 *   signals            print "ready" once every handler is in place, then the name of every
 *                      signal received (SIGHUP, SIGRTMIN+3...), one per line, flushed; exit
 *                      0 after SIGTERM.  Signals pending together come lowest number first.
 *   lines N            print "line 1" ... "line N" as fast as stdio allows
 *   tty                {"stdin":b,"stdout":b,"stderr":b,"rows":r,"cols":c} (TIOCGWINSZ on
 *                      stdin; rows/cols are null and "error" says why when it fails)
 *
 * Unknown verb: usage on stderr, exit 2.  Any other failure: a message on stderr, exit 1.
 * JSON strings are escaped per RFC 8259; bytes that are not UTF-8 become U+FFFD.
 * An unlimited rlimit is reported as the string "unlimited"; a value that cannot be read
 * (a file missing from /proc) is null.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROBE "berth-probe"

static void
usage (FILE *out)
{
  fprintf (out, "usage: " PROBE " VERB [ARG...]\n"
                "verbs: report | exit N | sleep SECONDS | echo TEXT... | stderr TEXT...\n"
                "       write PATH TEXT | cat PATH | zombies N | signals | lines N | tty\n"
                "       memhog MIB | spin SECONDS | ptrace PID | forkbomb N SECONDS\n");
}

static void die (const char *what, const char *object) __attribute__ ((noreturn));

static void
die (const char *what, const char *object)
{
  int e = errno;

  if (object)
    fprintf (stderr, PROBE ": %s %s: %s\n", what, object, strerror (e));
  else
    fprintf (stderr, PROBE ": %s: %s\n", what, strerror (e));
  exit (1);
}

/* stdout must reach its reader: a failed write is a failure of the verb.  */
static int
finish_stdout (void)
{
  if (fflush (stdout) != 0 || ferror (stdout))
    die ("write", "stdout");
  return 0;
}

/* A whole decimal number in [0, max], or -1.  */
static long long
parse_count (const char *s, long long max)
{
  char *end;
  long long v;

  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return -1;
  return v;
}

/* The whole of a (proc) file, NUL-terminated; NULL with errno set on failure.  */
static char *
read_file (const char *path)
{
  size_t len = 0, cap = 4096;
  char *buf = malloc (cap);
  int fd;

  if (buf == NULL)
    return NULL;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      free (buf);
      return NULL;
    }
  for (;;)
    {
      ssize_t n;

      if (cap - len < 2)
        {
          char *bigger = realloc (buf, cap * 2);

          if (bigger == NULL)
            break;
          buf = bigger;
          cap *= 2;
        }
      n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      if (n == 0)
        {
          close (fd);
          buf[len] = '\0';
          return buf;
        }
      len += (size_t) n;
    }
  {
    int e = errno;

    close (fd);
    free (buf);
    errno = e;
  }
  return NULL;
}

/* ---- a minimal JSON emitter on stdout.  */

#define MAX_DEPTH 16

static bool need_comma[MAX_DEPTH];
static int depth;
static bool after_key;

static void
begin_value (void)
{
  if (after_key)
    {
      after_key = false;
      return;
    }
  if (need_comma[depth])
    putchar (',');
  need_comma[depth] = true;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.  */
static size_t
utf8_length (const unsigned char *s)
{
  uint32_t cp;
  size_t n, i;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4, cp = s[0] & 0x07;
  else
    return 0;
  for (i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

static void
put_string (const char *str)
{
  const unsigned char *s = (const unsigned char *) str;

  putchar ('"');
  while (*s)
    {
      size_t n;

      switch (*s)
        {
        case '"':
          fputs ("\\\"", stdout);
          s++;
          continue;
        case '\\':
          fputs ("\\\\", stdout);
          s++;
          continue;
        case '\n':
          fputs ("\\n", stdout);
          s++;
          continue;
        case '\r':
          fputs ("\\r", stdout);
          s++;
          continue;
        case '\t':
          fputs ("\\t", stdout);
          s++;
          continue;
        default:
          break;
        }
      if (*s < 0x20 || *s == 0x7f)
        {
          printf ("\\u%04x", *s);
          s++;
          continue;
        }
      n = utf8_length (s);
      if (n == 0)
        {
          fputs ("\\ufffd", stdout);
          s++;
          continue;
        }
      fwrite (s, 1, n, stdout);
      s += n;
    }
  putchar ('"');
}

static void
json_open (char c)
{
  begin_value ();
  if (depth + 1 >= MAX_DEPTH)
    {
      fprintf (stderr, PROBE ": JSON nested too deeply\n");
      exit (1);
    }
  putchar (c);
  need_comma[++depth] = false;
}

static void
json_close (char c)
{
  depth--;
  putchar (c);
}

static void
json_key (const char *k)
{
  begin_value ();
  put_string (k);
  putchar (':');
  after_key = true;
}

static void
json_string (const char *v)
{
  begin_value ();
  if (v)
    put_string (v);
  else
    fputs ("null", stdout);
}

static void
json_int (long long v)
{
  begin_value ();
  printf ("%lld", v);
}

static void
json_bool (bool v)
{
  begin_value ();
  fputs (v ? "true" : "false", stdout);
}

static void
json_null (void)
{
  begin_value ();
  fputs ("null", stdout);
}

/* ---- report.  */

/* The value of "Key:" in /proc/self/status (leading blanks skipped), or NULL.  */
static const char *
status_field (char *status, const char *key, char *out, size_t size)
{
  size_t klen = strlen (key);
  char *line;

  for (line = status; line != NULL && *line != '\0'; line = strchr (line, '\n'), line = line ? line + 1 : NULL)
    if (strncmp (line, key, klen) == 0 && line[klen] == ':')
      {
        const char *v = line + klen + 1;
        size_t n;

        v += strspn (v, " \t");
        n = strcspn (v, "\n");
        if (n >= size)
          n = size - 1;
        memcpy (out, v, n);
        out[n] = '\0';
        return out;
      }
  return NULL;
}

static void
report_ids (void)
{
  gid_t *groups;
  int n, i;

  json_key ("pid");
  json_int (getpid ());
  json_key ("ppid");
  json_int (getppid ());
  json_key ("uid");
  json_int (getuid ());
  json_key ("gid");
  json_int (getgid ());
  json_key ("euid");
  json_int (geteuid ());
  json_key ("egid");
  json_int (getegid ());
  json_key ("groups");
  json_open ('[');
  n = getgroups (0, NULL);
  groups = n > 0 ? calloc ((size_t) n, sizeof (gid_t)) : NULL;
  if (groups)
    {
      n = getgroups (n, groups);
      for (i = 0; i < n; i++)
        json_int (groups[i]);
      free (groups);
    }
  json_close (']');
}

static void
report_env (void)
{
  char **e;

  json_key ("env");
  json_open ('[');
  for (e = environ; e && *e; e++)
    json_string (*e);
  json_close (']');
}

/* mountinfo escapes space, tab, newline and backslash as \ooo: undo it in place.  */
static char *
unescape_octal (char *s)
{
  char *r = s, *w = s;

  while (*r)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
          r += 4;
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
  return s;
}

/* proc(5): ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER  */
static void
report_mount_line (char *line)
{
  char *fields[64], *save = NULL, *tok;
  size_t n = 0, dash = 0, i;

  for (tok = strtok_r (line, " ", &save); tok && n < 64; tok = strtok_r (NULL, " ", &save))
    {
      if (dash == 0 && n >= 6 && strcmp (tok, "-") == 0)
        dash = n;
      fields[n++] = tok;
    }
  if (dash == 0 || n < dash + 3)
    return; /* not a line this probe understands; never guess */
  json_open ('{');
  json_key ("id");
  json_int (atoll (fields[0]));
  json_key ("parent");
  json_int (atoll (fields[1]));
  json_key ("root");
  json_string (unescape_octal (fields[3]));
  json_key ("mount_point");
  json_string (unescape_octal (fields[4]));
  json_key ("fs_type");
  json_string (fields[dash + 1]);
  json_key ("source");
  json_string (unescape_octal (fields[dash + 2]));
  json_key ("options");
  json_string (fields[5]);
  json_key ("super_options");
  json_string (n > dash + 3 ? fields[dash + 3] : "");
  json_key ("propagation");
  json_open ('[');
  for (i = 6; i < dash; i++)
    json_string (fields[i]);
  json_close (']');
  json_close ('}');
}

static void
report_mounts (void)
{
  char *text = read_file ("/proc/self/mountinfo"), *line, *save = NULL;

  json_key ("mounts");
  if (text == NULL)
    {
      json_null ();
      return;
    }
  json_open ('[');
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    report_mount_line (line);
  json_close (']');
  free (text);
}

static void
report_namespaces (void)
{
  static const char *const names[] = { "pid", "mnt", "uts", "ipc", "net", "cgroup", "user" };
  size_t i;

  json_key ("namespaces");
  json_open ('{');
  for (i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    {
      char path[64];
      struct stat st;

      snprintf (path, sizeof (path), "/proc/self/ns/%s", names[i]);
      json_key (names[i]);
      if (stat (path, &st) == 0)
        json_int ((long long) st.st_ino);
      else
        json_null ();
    }
  json_close ('}');
}

static void
report_lines (const char *key, const char *path)
{
  char *text = read_file (path), *line, *save = NULL;

  json_key (key);
  if (text == NULL)
    {
      json_null ();
      return;
    }
  json_open ('[');
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    json_string (line);
  json_close (']');
  free (text);
}

static void
report_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *de;

  json_key ("fds");
  if (d == NULL)
    {
      json_null ();
      return;
    }
  json_open ('[');
  while ((de = readdir (d)))
    {
      char path[64], target[PATH_MAX];
      long long fd = parse_count (de->d_name, INT_MAX);
      ssize_t n;

      if (fd < 0 || fd == dirfd (d))
        continue;
      snprintf (path, sizeof (path), "/proc/self/fd/%lld", fd);
      n = readlink (path, target, sizeof (target) - 1);
      json_open ('{');
      json_key ("fd");
      json_int (fd);
      json_key ("target");
      if (n >= 0)
        {
          target[n] = '\0';
          json_string (target);
        }
      else
        json_null ();
      json_close ('}');
    }
  closedir (d);
  json_close (']');
}

static void
report_rlimit_value (rlim_t v)
{
  if (v == RLIM_INFINITY)
    json_string ("unlimited");
  else
    json_int ((long long) v);
}

static void
report_rlimits (void)
{
  static const struct
  {
    const char *name;
    int resource;
  } limits[] = { { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC } };
  size_t i;

  json_key ("rlimits");
  json_open ('{');
  for (i = 0; i < sizeof (limits) / sizeof (limits[0]); i++)
    {
      struct rlimit rl;

      json_key (limits[i].name);
      if (getrlimit (limits[i].resource, &rl) < 0)
        {
          json_null ();
          continue;
        }
      json_open ('{');
      json_key ("soft");
      report_rlimit_value (rl.rlim_cur);
      json_key ("hard");
      report_rlimit_value (rl.rlim_max);
      json_close ('}');
    }
  json_close ('}');
}

static void
report_status (void)
{
  static const char *const caps[] = { "CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb" };
  char *status = read_file ("/proc/self/status");
  char value[128];
  size_t i;

  json_key ("capabilities");
  json_open ('{');
  for (i = 0; i < sizeof (caps) / sizeof (caps[0]); i++)
    {
      json_key (caps[i]);
      json_string (status ? status_field (status, caps[i], value, sizeof (value)) : NULL);
    }
  json_close ('}');
  json_key ("seccomp");
  if (status && status_field (status, "Seccomp", value, sizeof (value)))
    json_int (atoll (value));
  else
    json_null ();
  json_key ("umask");
  if (status && status_field (status, "Umask", value, sizeof (value)))
    json_string (value);
  else
    {
      /* Kernels before 4.7 have no Umask: field; umask() can only be read by setting it.  */
      mode_t m = umask (022);

      umask (m);
      snprintf (value, sizeof (value), "%04o", (unsigned) m);
      json_string (value);
    }
  free (status);
}

static int
verb_report (void)
{
  struct utsname u;
  char cwd[PATH_MAX], *text;
  int nnp;

  json_open ('{');
  if (uname (&u) == 0)
    {
      json_key ("hostname");
      json_string (u.nodename);
      json_key ("domainname");
      json_string (u.domainname);
    }
  else
    {
      json_key ("hostname");
      json_null ();
      json_key ("domainname");
      json_null ();
    }
  report_ids ();
  json_key ("cwd");
  json_string (getcwd (cwd, sizeof (cwd)));
  report_env ();
  report_status ();
  report_mounts ();
  report_namespaces ();
  report_lines ("cgroup", "/proc/self/cgroup");
  report_fds ();
  report_rlimits ();
  nnp = prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  json_key ("no_new_privs");
  if (nnp < 0)
    json_null ();
  else
    json_bool (nnp == 1);
  json_key ("isatty");
  json_open ('{');
  json_key ("stdin");
  json_bool (isatty (0));
  json_key ("stdout");
  json_bool (isatty (1));
  json_key ("stderr");
  json_bool (isatty (2));
  json_close ('}');
  text = read_file ("/proc/self/oom_score_adj");
  json_key ("oom_score_adj");
  if (text)
    json_int (atoll (text));
  else
    json_null ();
  free (text);
  json_close ('}');
  putchar ('\n');
  return finish_stdout ();
}

/* ---- the small verbs.  */

static void
sleep_seconds (double seconds)
{
  struct timespec ts, rem;

  ts.tv_sec = (time_t) seconds;
  ts.tv_nsec = (long) ((seconds - (double) ts.tv_sec) * 1e9);
  while (nanosleep (&ts, &rem) < 0 && errno == EINTR)
    ts = rem;
}

static int
verb_sleep (const char *arg)
{
  char *end;
  double s;

  errno = 0;
  s = arg ? strtod (arg, &end) : -1;
  if (arg == NULL || end == arg || *end != '\0' || errno != 0 || !(s >= 0) || s > 1e9)
    {
      fprintf (stderr, PROBE ": sleep: SECONDS must be a number >= 0, not `%s`\n", arg ? arg : "");
      return 2;
    }
  sleep_seconds (s);
  return 0;
}

static void
print_joined (FILE *out, int argc, char **argv)
{
  int i;

  for (i = 0; i < argc; i++)
    fprintf (out, "%s%s", i ? " " : "", argv[i]);
  fputc ('\n', out);
}

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
verb_write (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0)
    die ("open", path);
  if (write_all (fd, text, strlen (text)) < 0)
    die ("write", path);
  if (close (fd) < 0)
    die ("close", path);
  return 0;
}

static int
verb_cat (const char *path)
{
  char buf[65536];
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    die ("open", path);
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof (buf));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die ("read", path);
      if (n == 0)
        break;
      if (write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
        die ("write", "stdout");
    }
  close (fd);
  return 0;
}

static int
verb_zombies (long long n)
{
  int gate[2], report[2], status;
  pid_t child, *pids;
  long long i, got = 0;

  if (pipe2 (gate, O_CLOEXEC) < 0 || pipe2 (report, O_CLOEXEC) < 0)
    die ("pipe", NULL);
  pids = calloc ((size_t) n + 1, sizeof (pid_t));
  if (pids == NULL)
    die ("calloc", NULL);
  fflush (stdout);
  child = fork ();
  if (child < 0)
    die ("fork", NULL);
  if (child == 0)
    {
      close (report[0]);
      for (i = 0; i < n; i++)
        {
          pid_t g = fork ();

          if (g < 0)
            _exit (1);
          if (g == 0)
            {
              char c;

              /* Exit only once the parent is gone: the gate's write end closes with it
                 (and the probe closed its own copy), so this process is an orphan then.  */
              close (gate[1]);
              close (report[1]);
              while (read (gate[0], &c, 1) < 0 && errno == EINTR)
                ;
              _exit (0);
            }
          if (write_all (report[1], (const char *) &g, sizeof (g)) < 0)
            _exit (1);
        }
      _exit (0);
    }
  close (gate[0]);
  close (gate[1]);
  close (report[1]);
  while (got < n)
    {
      ssize_t r = read (report[0], &pids[got], sizeof (pid_t));

      if (r < 0 && errno == EINTR)
        continue;
      if (r != (ssize_t) sizeof (pid_t))
        break;
      got++;
    }
  close (report[0]);
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      die ("waitpid", NULL);
  if (got != n || ! WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      fprintf (stderr, PROBE ": zombies: forked %lld of %lld\n", got, n);
      return 1;
    }
  json_open ('{');
  json_key ("zombies");
  json_open ('[');
  for (i = 0; i < got; i++)
    json_int (pids[i]);
  json_close (']');
  json_close ('}');
  putchar ('\n');
  finish_stdout ();
  free (pids);
  for (;;)
    pause ();
}

static const char *
signal_name (int sig, char *buf, size_t size)
{
  static const char *const names[] = {
    [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT",   [SIGILL] = "SIGILL",
    [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",     [SIGBUS] = "SIGBUS",     [SIGFPE] = "SIGFPE",
    [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",     [SIGSEGV] = "SIGSEGV",   [SIGUSR2] = "SIGUSR2",
    [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",   [SIGSTKFLT] = "SIGSTKFLT",
    [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",     [SIGSTOP] = "SIGSTOP",   [SIGTSTP] = "SIGTSTP",
    [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",     [SIGURG] = "SIGURG",     [SIGXCPU] = "SIGXCPU",
    [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",   [SIGWINCH] = "SIGWINCH",
    [SIGIO] = "SIGIO",     [SIGPWR] = "SIGPWR",       [SIGSYS] = "SIGSYS",
  };

  if (sig > 0 && (size_t) sig < sizeof (names) / sizeof (names[0]) && names[sig])
    return names[sig];
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    snprintf (buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
  else
    snprintf (buf, size, "SIG%d", sig);
  return buf;
}

static void
ignore_signal (int sig)
{
  (void) sig;
}

/* Every catchable signal is blocked and gets a handler (PID 1 would otherwise drop the
   default-action ones sent from inside its namespace), then is taken with sigwaitinfo.
   Signals pending together come out lowest number first, as the kernel dequeues them.  */
static int
verb_signals (void)
{
  struct sigaction sa;
  sigset_t all;
  int sig;

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = ignore_signal;
  sigfillset (&sa.sa_mask);
  sigfillset (&all);
  /* Block first: a signal arriving between the two steps stays pending, never lost.  */
  if (sigprocmask (SIG_BLOCK, &all, NULL) < 0)
    die ("sigprocmask", NULL);
  for (sig = 1; sig <= SIGRTMAX; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &sa, NULL); /* glibc's internal RT signals fail here, harmlessly */
  puts ("ready");
  finish_stdout ();
  for (;;)
    {
      char buf[32];
      siginfo_t info;

      sig = sigwaitinfo (&all, &info);
      if (sig < 0)
        {
          if (errno == EINTR)
            continue;
          die ("sigwaitinfo", NULL);
        }
      puts (signal_name (sig, buf, sizeof (buf)));
      finish_stdout ();
      if (sig == SIGTERM)
        return 0;
    }
}

static int
verb_lines (long long n)
{
  long long i;

  for (i = 1; i <= n; i++)
    printf ("line %lld\n", i);
  return finish_stdout ();
}

static int
verb_tty (void)
{
  struct winsize ws;
  bool have = ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0;
  int e = errno;

  json_open ('{');
  json_key ("stdin");
  json_bool (isatty (0));
  json_key ("stdout");
  json_bool (isatty (1));
  json_key ("stderr");
  json_bool (isatty (2));
  json_key ("rows");
  if (have)
    json_int (ws.ws_row);
  else
    json_null ();
  json_key ("cols");
  if (have)
    json_int (ws.ws_col);
  else
    json_null ();
  if (! have)
    {
      json_key ("error");
      json_string (strerror (e));
    }
  json_close ('}');
  putchar ('\n');
  return finish_stdout ();
}

/* ---- attacks: the verbs the isolation tests try.  */

/* Allocate and touch MIB mebibytes, then print "survived": a memory limit below it kills
   the probe first.  */
static int
verb_memhog (long long mib)
{
  long long i;

  for (i = 0; i < mib; i++)
    {
      char *p = malloc (1 << 20);
      if (p == NULL)
        die ("malloc", NULL);
      memset (p, 0x5a, 1 << 20);
    }
  puts ("survived");
  return finish_stdout ();
}

/* Fork up to N children that sleep, print {"forked":K,"error":"..."} once fork fails (or all
   N are made), then sleep SECONDS holding them.  */
static int
verb_forkbomb (long long n, const char *seconds)
{
  long long k;
  int e = 0;

  for (k = 0; k < n; k++)
    {
      pid_t pid = fork ();
      if (pid == 0)
        {
          sleep_seconds (atof (seconds));
          _exit (0);
        }
      if (pid < 0)
        {
          e = errno;
          break;
        }
    }
  json_open ('{');
  json_key ("forked");
  json_int (k);
  json_key ("error");
  if (e)
    json_string (strerror (e));
  else
    json_null ();
  json_close ('}');
  putchar ('\n');
  finish_stdout ();
  sleep_seconds (atof (seconds));
  return 0;
}

/* Burn CPU for SECONDS of wall time.  */
static int
verb_spin (const char *arg)
{
  struct timespec start, now;
  double seconds = atof (arg);
  volatile unsigned long x = 0;

  clock_gettime (CLOCK_MONOTONIC, &start);
  do
    {
      for (int k = 0; k < 100000; k++)
        x++;
      clock_gettime (CLOCK_MONOTONIC, &now);
    }
  while ((double) (now.tv_sec - start.tv_sec) + (double) (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
  return 0;
}

/* PTRACE_ATTACH to pid: {"ptrace":"ok"} or {"ptrace":"<strerror>"}.  */
static int
verb_ptrace (long long pid)
{
  long r = ptrace (PTRACE_ATTACH, (pid_t) pid, NULL, NULL);
  int e = errno;

  json_open ('{');
  json_key ("ptrace");
  json_string (r == 0 ? "ok" : strerror (e));
  json_close ('}');
  putchar ('\n');
  if (r == 0)
    ptrace (PTRACE_DETACH, (pid_t) pid, NULL, NULL);
  return finish_stdout ();
}

static int
bad_args (const char *verb, const char *what)
{
  fprintf (stderr, PROBE ": %s: %s\n", verb, what);
  usage (stderr);
  return 2;
}

int
main (int argc, char **argv)
{
  const char *verb = argc > 1 ? argv[1] : NULL;
  int nargs = argc - 2;
  long long n;

  if (verb == NULL)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (verb, "help") == 0 || strcmp (verb, "--help") == 0 || strcmp (verb, "-h") == 0)
    {
      usage (stdout);
      return finish_stdout ();
    }
  if (strcmp (verb, "report") == 0)
    return nargs == 0 ? verb_report () : bad_args (verb, "takes no arguments");
  if (strcmp (verb, "exit") == 0)
    {
      n = nargs == 1 ? parse_count (argv[2], 255) : -1;
      return n >= 0 ? (int) n : bad_args (verb, "needs one status, 0-255");
    }
  if (strcmp (verb, "sleep") == 0)
    return nargs == 1 ? verb_sleep (argv[2]) : bad_args (verb, "needs SECONDS");
  if (strcmp (verb, "echo") == 0)
    {
      print_joined (stdout, nargs, argv + 2);
      return finish_stdout ();
    }
  if (strcmp (verb, "stderr") == 0)
    {
      print_joined (stderr, nargs, argv + 2);
      return 0;
    }
  if (strcmp (verb, "write") == 0)
    return nargs == 2 ? verb_write (argv[2], argv[3]) : bad_args (verb, "needs PATH TEXT");
  if (strcmp (verb, "cat") == 0)
    return nargs == 1 ? verb_cat (argv[2]) : bad_args (verb, "needs PATH");
  if (strcmp (verb, "zombies") == 0)
    {
      n = nargs == 1 ? parse_count (argv[2], 4096) : -1;
      return n >= 0 ? verb_zombies (n) : bad_args (verb, "needs a count, 0-4096");
    }
  if (strcmp (verb, "signals") == 0)
    return nargs == 0 ? verb_signals () : bad_args (verb, "takes no arguments");
  if (strcmp (verb, "lines") == 0)
    {
      n = nargs == 1 ? parse_count (argv[2], LLONG_MAX) : -1;
      return n >= 0 ? verb_lines (n) : bad_args (verb, "needs a count");
    }
  if (strcmp (verb, "tty") == 0)
    return nargs == 0 ? verb_tty () : bad_args (verb, "takes no arguments");
  if (strcmp (verb, "memhog") == 0)
    {
      n = nargs == 1 ? parse_count (argv[2], 1 << 20) : -1;
      return n >= 0 ? verb_memhog (n) : bad_args (verb, "needs MIB");
    }
  if (strcmp (verb, "forkbomb") == 0)
    {
      n = nargs == 2 ? parse_count (argv[2], 100000) : -1;
      return n >= 0 ? verb_forkbomb (n, argv[3]) : bad_args (verb, "needs N SECONDS");
    }
  if (strcmp (verb, "spin") == 0)
    return nargs == 1 ? verb_spin (argv[2]) : bad_args (verb, "needs SECONDS");
  if (strcmp (verb, "ptrace") == 0)
    {
      n = nargs == 1 ? parse_count (argv[2], INT_MAX) : -1;
      return n > 0 ? verb_ptrace (n) : bad_args (verb, "needs a PID");
    }
  fprintf (stderr, PROBE ": unknown verb `%s`\n", verb);
  usage (stderr);
  return 2;
}
