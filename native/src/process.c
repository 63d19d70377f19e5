/*
 * Berth runtime: the container's process.  See process.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "process.h"
#include "utils.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *
env_get (char **env, const char *name)
{
  size_t len = strlen (name);
  for (; env && *env; env++)
    if (strncmp (*env, name, len) == 0 && (*env)[len] == '=')
      return *env + len + 1;
  return NULL;
}

static int
check_executable (const char *path, int *why)
{
  struct stat st;
  if (stat (path, &st) < 0)
    {
      *why = errno;
      return -1;
    }
  if (S_ISDIR (st.st_mode) || access (path, X_OK) < 0)
    {
      *why = EACCES;
      return -1;
    }
  return 0;
}

int
berth_process_find (const struct berth_process *p, char **path, berth_error_t *err)
{
  const char *name = p->args[0];
  const char *search;
  int why = ENOENT;

  if (strchr (name, '/'))
    {
      if (check_executable (name, &why) < 0)
        return berth_make_error_op (err, why, "exec", "exec %s", name);
      *path = xstrdup (name);
      return 0;
    }
  search = env_get (p->env, "PATH");
  if (search == NULL)
    search = DEFAULT_PATH;
  while (*search)
    {
      size_t len = strcspn (search, ":");
      cleanup_free char *candidate = xasprintf ("%.*s/%s", (int) (len ? len : 1), len ? search : ".", name);
      int this_why = 0;

      if (check_executable (candidate, &this_why) == 0)
        {
          *path = steal_pointer (&candidate);
          return 0;
        }
      if (this_why == EACCES)
        why = EACCES;
      search += len;
      if (*search == ':')
        search++;
    }
  return berth_make_error_op (err, why, "exec", "exec %s: not found in PATH %s", name,
                              env_get (p->env, "PATH") ? env_get (p->env, "PATH") : DEFAULT_PATH);
}

int
berth_process_apply (const struct berth_process *p, berth_error_t *err)
{
  size_t i;

  if (p->has_umask)
    umask (p->umask);
  for (i = 0; i < p->n_rlimits; i++)
    {
      struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
      if (setrlimit (p->rlimits[i].resource, &rl) < 0)
        return berth_make_error_op (err, errno, "setrlimit", "setrlimit %s soft %llu hard %llu", p->rlimits[i].type,
                                    (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max);
    }
  if (p->has_oom_score_adj)
    {
      char buf[16];
      cleanup_close int fd = open ("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      int len = snprintf (buf, sizeof (buf), "%d", p->oom_score_adj);
      if (fd < 0 || berth_write_all (fd, buf, (size_t) len) < 0)
        return berth_make_error_op (err, errno, "write", "write %d to /proc/self/oom_score_adj", p->oom_score_adj);
    }
  if (chdir (p->cwd) < 0)
    return berth_make_error_op (err, errno, "chdir", "chdir %s", p->cwd);
  /* The bounding set is cut while we still hold CAP_SETPCAP; KEEPCAPS carries the permitted
     set across the uid change, and berth_caps_apply then sets the final sets.  */
  if (p->has_capabilities && berth_caps_apply_bounding (&p->capabilities, err) < 0)
    return -1;
  if (setgroups (p->n_additional_gids, p->additional_gids) < 0)
    return berth_make_error_op (err, errno, "setgroups", "setgroups (%zu groups)", p->n_additional_gids);
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    return berth_make_error_op (err, errno, "setgid", "setgid %u", (unsigned) p->gid);
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    return berth_make_error_op (err, errno, "setuid", "setuid %u", (unsigned) p->uid);
  if (p->has_capabilities && berth_caps_apply (&p->capabilities, err) < 0)
    return -1;
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berth_make_error_op (err, errno, "prctl", "prctl PR_SET_NO_NEW_PRIVS");
  return 0;
}

int
berth_process_exec (const struct berth_process *p, const char *path, berth_error_t *err)
{
  static char *empty_env[] = { NULL };
  execve (path, p->args, p->env ? p->env : empty_env);
  return berth_make_error_op (err, errno, "exec", "exec %s", path);
}

/* close_range(2) from `first` to `last`; before Linux 5.9, one close per open descriptor.  */
static int
close_fds (unsigned first, unsigned last, berth_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (first > last)
    return 0;
  if (syscall (SYS_close_range, first, last, 0U) == 0)
    return 0;
  if (errno != ENOSYS)
    return berth_make_error_op (err, errno, "close_range", "close descriptors %u to %u", first, last);
  d = opendir ("/proc/self/fd");
  if (d == NULL)
    return berth_make_error_op (err, errno, "opendir", "opendir /proc/self/fd");
  while ((de = readdir (d)))
    {
      char *end;
      unsigned long fd = strtoul (de->d_name, &end, 10);

      if (*end == '\0' && end != de->d_name && fd >= first && fd <= last && (int) fd != dirfd (d))
        close ((int) fd);
    }
  return 0;
}

int
berth_process_prepare_exec (const struct berth_process *p, const struct berth_seccomp *seccomp, int keep,
                            berth_error_t *err)
{
  /* Nothing of the runtime's leaks into the program.  */
  if (keep >= 3 ? close_fds (3, (unsigned) keep - 1, err) < 0 || close_fds ((unsigned) keep + 1, ~0U, err) < 0
                : close_fds (3, ~0U, err) < 0)
    return -1;
  if (seccomp && ! p->no_new_privileges && berth_seccomp_load (seccomp, err) < 0)
    return -1;
  if (berth_process_apply (p, err) < 0)
    return -1;
  if (seccomp && p->no_new_privileges && berth_seccomp_load (seccomp, err) < 0)
    return -1;
  return 0;
}

int
berth_process_failure_status (berth_error_t err)
{
  if (err == NULL || err->op == NULL || strcmp (err->op, "exec") != 0)
    return 1;
  return err->status == ENOENT ? BERTH_EXIT_NOT_FOUND : BERTH_EXIT_CANNOT_EXEC;
}

/* ---- the tiny init.  */

static pid_t init_child;

/* The runtime's argv and environment strings, [start, end) each (envp's may be empty).  */
static char *args_start, *args_end, *env_start, *env_end;

static void
string_span (char **v, char **start, char **end)
{
  for (; v && *v; v++)
    {
      char *s_end = *v + strlen (*v) + 1;
      if (*start == NULL || *v < *start)
        *start = *v;
      if (s_end > *end)
        *end = s_end;
    }
}

void
berth_process_save_args (int argc, char **argv, char **envp)
{
  (void) argc;
  string_span (argv, &args_start, &args_end);
  string_span (envp, &env_start, &env_end);
}

/* /proc/1/cmdline reads "berth-init" and /proc/1/environ nothing: the kernel reads both
   from these strings.  The last byte of the argv area is left non-zero, which tells the
   kernel its strings were rewritten (as setproctitle does): it then stops at the first
   NUL rather than listing the padding.  */
static void
blank_args (void)
{
  static const char name[] = "berth-init";

  if (env_start)
    memset (env_start, 0, (size_t) (env_end - env_start));
  if (args_start == NULL || (size_t) (args_end - args_start) < sizeof (name) + 1)
    return;
  memset (args_start, 0, (size_t) (args_end - args_start));
  memcpy (args_start, name, sizeof (name));
  args_end[-1] = ' ';
}

static void __attribute__ ((noreturn))
init_loop (void)
{
  sigset_t all;
  int child_status = 0;

  sigfillset (&all);
  for (;;)
    {
      siginfo_t info;
      int sig = sigwaitinfo (&all, &info);

      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          /* Forward to the program; a signal it does not handle ends it as it would
             without an init.  */
          kill (init_child, sig);
          continue;
        }
      for (;;)
        {
          int status;
          pid_t pid = waitpid (-1, &status, WNOHANG);
          if (pid <= 0)
            break;
          if (pid == init_child)
            child_status = status;
          if (pid == init_child)
            {
              /* The program is done: its status is the container's.  Remaining processes
                 die with the pid namespace when we exit.  */
              if (WIFSIGNALED (child_status))
                _exit (128 + WTERMSIG (child_status));
              _exit (WEXITSTATUS (child_status));
            }
        }
    }
}

int
berth_init_fork (int child_only, berth_error_t *err)
{
  sigset_t all, old;
  pid_t pid;

  sigfillset (&all);
  if (sigprocmask (SIG_SETMASK, &all, &old) < 0)
    return berth_make_error_op (err, errno, "sigprocmask", "sigprocmask for the init");
  pid = fork ();
  if (pid < 0)
    return berth_make_error_op (err, errno, "fork", "fork the program under the init");
  if (pid == 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return 0;
    }
  init_child = pid;
  if (child_only >= 0)
    close (child_only);
  prctl (PR_SET_NAME, "berth-init", 0, 0, 0);
  blank_args ();
  init_loop ();
}

/* The home directory of uid in the container's /etc/passwd, or "/".  */
static char *
passwd_home (uid_t uid)
{
  cleanup_file FILE *f = fopen ("/etc/passwd", "re");
  char line[1024];

  while (f && fgets (line, sizeof (line), f))
    {
      char *fields[7] = { 0 };
      char *p = line, *end;
      int i;

      for (i = 0; i < 7 && p; i++)
        {
          fields[i] = p;
          p = strchr (p, ':');
          if (p)
            *p++ = '\0';
        }
      if (i < 6 || fields[2] == NULL || fields[5] == NULL)
        continue;
      if (strtoul (fields[2], &end, 10) == uid && *end == '\0' && fields[5][0] == '/')
        return xstrdup (fields[5]);
    }
  return xstrdup ("/");
}

void
berth_process_default_home (struct berth_process *p)
{
  cleanup_free char *home = NULL;
  size_t n;

  if (env_get (p->env, "HOME"))
    return;
  home = passwd_home (p->uid);
  for (n = 0; p->env && p->env[n]; n++)
    ;
  p->env = xrealloc (p->env, sizeof (char *) * (n + 2));
  p->env[n] = xasprintf ("HOME=%s", home);
  p->env[n + 1] = NULL;
}

void
berth_process_drop_unraisable_ambient (struct berth_process *p)
{
  struct berth_caps *c = &p->capabilities;
  uint64_t out = c->ambient & ~(c->permitted & c->inheritable);
  cleanup_free char *names = NULL;
  int cap;

  if (! p->has_capabilities || out == 0)
    return;
  for (cap = 0; cap < 64; cap++)
    if (out & (UINT64_C (1) << cap))
      {
        const char *name = berth_caps_name (cap);
        char *more = xasprintf ("%s%s%s", names ? names : "", names ? ", " : "", name ? name : "?");
        free (names);
        names = more;
      }
  berth_warn ("process.capabilities.ambient: %s left out: an ambient capability must also be in the permitted and "
              "inheritable sets, or the kernel refuses to raise it",
              names);
  c->ambient &= ~out;
}

void
berth_process_clamp_rlimits (struct berth_process *p)
{
  size_t i;

  for (i = 0; i < p->n_rlimits; i++)
    {
      struct berth_rlimit *r = &p->rlimits[i];
      struct rlimit now;

      if (getrlimit (r->resource, &now) < 0 || now.rlim_max == RLIM_INFINITY || r->hard <= now.rlim_max)
        continue;
      /* Raising a hard limit needs CAP_SYS_RESOURCE, which this host may not grant even to
         root: lower the limit to what it allows, and say so.  */
      if (prlimit (0, r->resource, &(struct rlimit){ .rlim_cur = now.rlim_cur, .rlim_max = r->hard }, NULL) == 0)
        {
          prlimit (0, r->resource, &now, NULL);
          continue;
        }
      berth_warn ("%s hard limit %llu is above this host's %llu, which it cannot raise (no CAP_SYS_RESOURCE): using %llu",
               r->type, (unsigned long long) r->hard, (unsigned long long) now.rlim_max, (unsigned long long) now.rlim_max);
      r->hard = now.rlim_max;
      if (r->soft > r->hard)
        r->soft = r->hard;
    }
}
