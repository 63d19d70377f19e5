/*
 * Berth runtime: exec, a new process in a running container (runtime-spec has no exec;
 * this follows runc and crun): join its cgroup and namespaces, then fork the process,
 * which lands in the container's pid namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "loop.h"
#include "main.h"
#include "namespaces.h"
#include "process.h"
#include "seccomp.h"
#include "status.h"
#include "terminal.h"
#include "utils.h"

/* --user and --tty-size.  */
static void
exec_overrides (struct berth_process *p, const struct berth_exec_options *o)
{
  if (o->has_user)
    {
      p->uid = o->uid;
      p->gid = o->gid;
      free (p->additional_gids); /* the container's extra groups belong to its own user */
      p->additional_gids = NULL;
      p->n_additional_gids = 0;
    }
  if (o->tty_rows && o->tty_cols)
    {
      p->console_height = o->tty_rows;
      p->console_width = o->tty_cols;
    }
}

/* The process to run: --process FILE, or the container's process with args, env and
   cwd replaced as asked.  */
static int
exec_process (const struct berth_state *s, const struct berth_exec_options *o, struct berth_config **cfg,
              struct berth_process **out, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/config.json", s->dir);
  cleanup_free char *data = NULL;
  size_t len, n_env = 0, n_add = 0, i;
  struct berth_process *p;

  /* The container's configuration always: its seccomp filter applies to exec'd processes.  */
  if (berth_read_file (path, &data, &len, err) < 0 || berth_config_parse (data, len, s->bundle, cfg, err) < 0)
    return berth_error_wrap (err, "read the configuration of container `%s`", s->id);
  if (o->process_file)
    {
      cleanup_free char *pdata = NULL;
      if (berth_read_file (o->process_file, &pdata, &len, err) < 0 || berth_process_parse (pdata, len, out, err) < 0)
        return -1;
      if (o->tty)
        (*out)->terminal = true;
      exec_overrides (*out, o);
      berth_process_drop_unraisable_ambient (*out);
      return 0;
    }
  p = (*cfg)->process;
  /* Reuse the container's process struct: args, env and cwd swapped for ours.  */
  for (i = 0; p->args && p->args[i]; i++)
    free (p->args[i]);
  free (p->args);
  for (i = 0; o->args[i]; i++)
    ;
  p->args = xmalloc0 (sizeof (char *) * (i + 1));
  for (i = 0; o->args[i]; i++)
    p->args[i] = xstrdup (o->args[i]);
  for (n_env = 0; p->env && p->env[n_env]; n_env++)
    ;
  for (n_add = 0; o->env && o->env[n_add]; n_add++)
    ;
  p->env = xrealloc (p->env, sizeof (char *) * (n_env + n_add + 1));
  for (i = 0; i < n_add; i++)
    {
      size_t key = strcspn (o->env[i], "="), j;
      for (j = 0; j < n_env; j++)
        if (strncmp (p->env[j], o->env[i], key) == 0 && p->env[j][key] == '=')
          break;
      if (j < n_env)
        free (p->env[j]);
      else
        n_env++;
      p->env[j] = xstrdup (o->env[i]);
    }
  p->env[n_env] = NULL;
  if (o->cwd)
    {
      free (p->cwd);
      p->cwd = xstrdup (o->cwd);
    }
  p->terminal = o->tty; /* the container's own terminal setting is not the exec's */
  exec_overrides (p, o);
  berth_process_drop_unraisable_ambient (p);
  *out = p;
  return 0;
}

/* null_stdio: a detached process of a container with a monitor, today's -d: stdio on
   /dev/null.  Otherwise (the caller's stdio, or a terminal) as runc's exec.  */
static void __attribute__ ((noreturn))
exec_child (struct berth_process *p, const struct berth_seccomp *seccomp, int console, bool null_stdio,
            enum berth_log_format log_format)
{
  berth_error_t err = NULL;
  cleanup_free char *exe = NULL;

  if (console >= 0)
    {
      if (berth_terminal_become (console, &err) < 0)
        goto fail;
    }
  else if (null_stdio)
    {
      int null = open ("/dev/null", O_RDWR);
      if (null >= 0)
        {
          dup2 (null, 0);
          dup2 (null, 1);
          dup2 (null, 2);
        }
      setsid ();
    }
  berth_process_default_home (p);
  if (berth_process_find (p, &exe, &err) < 0 || berth_process_prepare_exec (p, seccomp, -1, &err) < 0)
    goto fail;
  berth_process_exec (p, exe, &err);
fail:
  berth_error_write (err, stderr, log_format);
  fflush (stderr);
  _exit (berth_process_failure_status (err));
}

/* --pid-file and --console-socket name files of the caller's mount namespace, but exec
   has joined the container's by the time it uses them: they are reached from the caller's
   root and working directory, held open from before the join (fchdir, then a relative
   path).  host_path_done returns to the container's root.  */
struct host_dirs
{
  int root, cwd;
};

static int
host_dirs_open (struct host_dirs *h, berth_error_t *err)
{
  h->root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->root < 0)
    return berth_make_error_op (err, errno, "open", "open / before joining the container");
  h->cwd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->cwd < 0)
    return berth_make_error_op (err, errno, "open", "open the working directory before joining the container");
  return 0;
}

static const char *
host_path (const struct host_dirs *h, const char *path, berth_error_t *err)
{
  bool absolute = path[0] == '/';

  if (fchdir (absolute ? h->root : h->cwd) < 0)
    {
      berth_make_error_op (err, errno, "fchdir", "reach %s from the container", path);
      return NULL;
    }
  path += strspn (path, "/");
  return *path ? path : ".";
}

static void
host_path_done (void)
{
  if (chdir ("/") < 0)
    _exit (1); /* the container's root vanished under us: nothing sane is left to do */
}

int
berth_container_exec (const char *root, const char *id, const struct berth_exec_options *o, int *exit_code,
                      berth_error_t *err)
{
  cleanup_state struct berth_state *s = NULL;
  cleanup_config struct berth_config *cfg = NULL;
  struct berth_process *p = NULL, *owned = NULL;
  struct berth_loop loop = { .forward_signals = true, .winch_from = -1, .winch_to = -1, .resize_from = -1, .resize_to = -1 };
  struct termios saved;
  bool raw = false;
  int master = -1, slave = -1, status = 0, ret = -1;
  sigset_t old;
  pid_t pid;
  char buf[32];
  struct host_dirs host = { -1, -1 };
  const char *path;

  *exit_code = 0;
  if (berth_state_load (root, id, &s, err) < 0)
    return -1;
  if (s->status != BERTH_STATUS_RUNNING)
    return berth_make_error_op (err, 0, "exec", "container `%s` is %s: exec needs a running container", id,
                                berth_status_name (s->status));
  if (exec_process (s, o, &cfg, &p, err) < 0)
    return -1;
  if (p->terminal && o->detach && o->console_socket == NULL)
    {
      berth_process_free (o->process_file ? p : NULL);
      return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                  "exec: a terminal with --detach needs --console-socket to hand the terminal to");
    }
  if (o->console_socket && ! p->terminal)
    {
      berth_process_free (o->process_file ? p : NULL);
      return berth_make_error_op (err, 0, BERTH_OP_USAGE, "exec: --console-socket needs a terminal (-t, or terminal: true in --process)");
    }
  if (cfg->seccomp)
    {
      cleanup_free char *cache = xasprintf ("%s/.seccomp-cache", root);
      if (berth_seccomp_compile (cfg->seccomp, cache, err) < 0)
        return -1;
    }
  if (o->process_file)
    owned = p;
  if ((o->pid_file || o->console_socket) && host_dirs_open (&host, err) < 0)
    goto out;
  /* Join the cgroup first (our children inherit it), then the namespaces.  */
  if (s->cgroup && berth_cgroup_enter (s->cgroup, getpid (), NULL, err) < 0)
    goto out;
  if (berth_ns_join_process (s->pid, err) < 0)
    goto out;
  /* In the container's mount namespace now: the terminal comes from its own devpts.  */
  if (p->terminal)
    {
      if (berth_terminal_open (&master, &slave, p->console_width, p->console_height, err) < 0)
        goto out;
      if (o->console_socket)
        {
          /* The caller holds the terminal from now on (conmon, containerd's shim).  */
          path = host_path (&host, o->console_socket, err);
          if (path == NULL || berth_terminal_send (path, master, err) < 0)
            {
              berth_error_wrap (err, "--console-socket %s", o->console_socket);
              goto out;
            }
          host_path_done ();
          close (master);
          master = -1;
        }
      else if (isatty (STDIN_FILENO))
        {
          berth_terminal_copy_size (STDIN_FILENO, master);
          if (berth_terminal_raw (STDIN_FILENO, &saved, err) < 0)
            goto out;
          raw = true;
        }
    }
  berth_loop_block (&old);
  pid = fork ();
  if (pid < 0)
    {
      berth_make_error_op (err, errno, "fork", "fork the exec process");
      berth_loop_unblock (&old);
      goto out;
    }
  if (pid == 0)
    {
      berth_loop_unblock (&old);
      if (master >= 0)
        close (master);
      exec_child (p, cfg ? cfg->seccomp : NULL, slave, o->detach && ! s->passthrough, o->log_format);
    }
  if (o->pid_file)
    {
      int len = snprintf (buf, sizeof (buf), "%d", (int) pid);
      path = host_path (&host, o->pid_file, err);
      if (path == NULL || berth_write_file_replace (path, buf, (size_t) len, 0644, err) < 0)
        {
          berth_error_wrap (err, "--pid-file %s", o->pid_file);
          kill (pid, SIGKILL);
          berth_loop_unblock (&old);
          goto out;
        }
      host_path_done ();
    }
  if (o->detach)
    {
      berth_loop_unblock (&old);
      ret = 0;
      goto out;
    }
  loop.child = pid;
  if (slave >= 0)
    {
      close (slave);
      slave = -1;
    }
  if (master >= 0)
    {
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = master, .to = STDOUT_FILENO, .stream = "stdout" };
      /* Over pipes (no terminal of our own), the end of stdin is the terminal's ^D.  */
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = STDIN_FILENO, .to = master, .stream = "stdin", .veof_at_eof = ! raw };
      if (o->resize_fd >= 0)
        {
          loop.resize_from = o->resize_fd;
          loop.resize_to = master;
        }
      if (raw)
        {
          loop.winch_from = STDIN_FILENO;
          loop.winch_to = master;
          loop.forward_signals = false;
        }
    }
  ret = berth_loop_run (&loop, &status, err);
  berth_loop_unblock (&old);
  if (ret == 0)
    *exit_code = berth_exit_code (status);
out:
  if (raw)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved);
  if (master >= 0)
    close (master);
  if (slave >= 0)
    close (slave);
  if (host.root >= 0)
    close (host.root);
  if (host.cwd >= 0)
    close (host.cwd);
  berth_process_free (owned);
  return ret;
}
