/*
 * Berth runtime: the container lifecycle.  See container.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cgroup.h"
#include "container.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "main.h"
#include "namespaces.h"
#include "net.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp.h"
#include "spawn.h"
#include "status.h"
#include "terminal.h"
#include "utils.h"

/* ---- helpers.  */

static int
resolve_bundle (const char *bundle, char **out, berth_error_t *err)
{
  char buf[PATH_MAX];
  if (realpath (bundle ? bundle : ".", buf) == NULL)
    return berth_make_error_op (err, errno, "bundle", "bundle %s", bundle ? bundle : ".");
  *out = xstrdup (buf);
  return 0;
}

static int
load_config (const char *bundle, struct berth_config **c, berth_error_t *err)
{
  size_t i;

  if (berth_config_load (bundle, c, err) < 0)
    return -1;
  if ((*c)->process == NULL)
    {
      berth_config_free (*c);
      *c = NULL;
      return berth_make_error_op (err, 0, "config", "%s/config.json has no process: nothing to run", bundle);
    }
  /* The root filesystem is set up by mounting: without a mount namespace of its own, that
     would rearrange the host's mounts.  */
  if (! berth_config_has_namespace (*c, CLONE_NEWNS) || berth_config_namespace (*c, CLONE_NEWNS)->path)
    {
      berth_config_free (*c);
      *c = NULL;
      return berth_make_error_op (err, 0, "config", "%s/config.json: linux.namespaces needs a new mount namespace", bundle);
    }
  berth_process_clamp_rlimits ((*c)->process);
  berth_process_drop_unraisable_ambient ((*c)->process);
  for (i = 0; i < (*c)->n_mounts; i++)
    if ((*c)->mounts[i].bind_data)
      berth_warn ("mounts[%zu] (%s): options `%s` ignored: a bind mount takes no filesystem options", i,
                  (*c)->mounts[i].destination, (*c)->mounts[i].bind_data);
  return 0;
}

/* The two modes of create (docs/runtime.md, "Two modes"): Berth's monitor when the bundle
   asks for it with berth.monitor, or carries any other berth.* annotation (it was written
   for Berth); otherwise pass-through, as runc and crun: the container keeps the caller's
   stdio and becomes the child of the caller's subreaper (conmon, containerd's shim).  */
static int
wants_monitor (const struct berth_config *c, bool *monitor, berth_error_t *err)
{
  static const char *const needs_monitor[] = {
    BERTH_ANNOTATION_ATTACH,       BERTH_ANNOTATION_STDIN,         BERTH_ANNOTATION_LOG_PATH,
    BERTH_ANNOTATION_LOG_MAX_SIZE, BERTH_ANNOTATION_LOG_MAX_FILES, BERTH_ANNOTATION_DELETE_ON_EXIT,
  };
  const char *v = berth_config_annotation (c, BERTH_ANNOTATION_MONITOR);
  size_t i;

  if (v == NULL)
    {
      *monitor = false;
      for (i = 0; i < c->n_annotations && ! *monitor; i++)
        *monitor = strncmp (c->annotation_keys[i], "berth.", 6) == 0;
      return 0;
    }
  if (strcmp (v, "true") != 0 && strcmp (v, "false") != 0)
    return berth_make_error_op (err, 0, "config", "annotations[\"%s\"] \"%s\" must be \"true\" or \"false\"",
                                BERTH_ANNOTATION_MONITOR, v);
  *monitor = strcmp (v, "true") == 0;
  for (i = 0; i < BERTH_ARRAY_SIZE (needs_monitor) && ! *monitor; i++)
    if (berth_config_annotation (c, needs_monitor[i]))
      return berth_make_error_op (err, 0, "config",
                                  "annotations[\"%s\"] needs Berth's monitor, which annotations[\"%s\"] = \"false\" "
                                  "turns off: remove one of them",
                                  needs_monitor[i], BERTH_ANNOTATION_MONITOR);
  return 0;
}

/* Compile the seccomp filter before the container exists, from the cache when possible.  */
static int
prepare_seccomp (const char *root, struct berth_config *c, berth_error_t *err)
{
  cleanup_free char *cache = xasprintf ("%s/.seccomp-cache", root);
  return c->seccomp ? berth_seccomp_compile (c->seccomp, cache, err) : 0;
}

/* Keep the bundle's config.json with the state: delete runs its poststop hooks and exec
   reads the process defaults even if the bundle is gone by then.  */
static int
copy_config (const char *bundle, const char *state_dir, berth_error_t *err)
{
  cleanup_free char *from = xasprintf ("%s/config.json", bundle);
  cleanup_free char *to = xasprintf ("%s/config.json", state_dir);
  cleanup_free char *data = NULL;
  size_t len;

  if (berth_read_file (from, &data, &len, err) < 0)
    return -1;
  return berth_write_file_replace (to, data, len, 0600, err);
}

static struct berth_state *
new_state (const char *id, const char *dir, const char *bundle, const struct berth_config *c, const char *cgroup)
{
  struct berth_state *s = xmalloc0 (sizeof (*s));
  char now[64];

  berth_time_now_rfc3339 (now, sizeof (now));
  s->id = xstrdup (id);
  s->dir = xstrdup (dir);
  s->bundle = xstrdup (bundle);
  s->rootfs = xstrdup (c->root_path);
  s->cgroup = xstrdup (cgroup);
  s->created = xstrdup (now);
  s->writable = c->overlay_writable ? xstrdup (c->overlay_writable) : NULL;
  /* Annotations are shared with the config, not copied: cleared before free.  */
  s->annotation_keys = c->annotation_keys;
  s->annotation_values = c->annotation_values;
  s->n_annotations = c->n_annotations;
  return s;
}

static void
free_new_state (struct berth_state *s)
{
  if (s == NULL)
    return;
  s->annotation_keys = s->annotation_values = NULL;
  s->n_annotations = 0;
  berth_state_free (s);
}

static int
write_pid_file (const char *path, pid_t pid, berth_error_t *err)
{
  char buf[32];
  int len;

  if (path == NULL)
    return 0;
  len = snprintf (buf, sizeof (buf), "%d", (int) pid);
  return berth_write_file_replace (path, buf, (size_t) len, 0644, err);
}

/* Whether boolean annotation `key` is "true" in the annotations state.json recorded.  */
static bool
state_annotation_true (const struct berth_state *s, const char *key)
{
  size_t i;

  for (i = 0; i < s->n_annotations; i++)
    if (s->annotation_keys[i] && strcmp (s->annotation_keys[i], key) == 0)
      return s->annotation_values[i] && strcmp (s->annotation_values[i], "true") == 0;
  return false;
}

/* Without a pid namespace, the program's children outlive it: kill what is left in the
   cgroup (best effort: what cannot be listed is left to the cgroup's removal to report).  */
static void
kill_leftovers (const char *cgroup)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0, i;
  berth_error_t ignored = NULL;

  if (cgroup == NULL)
    return;
  if (berth_cgroup_pids (cgroup, &pids, &n, &ignored) < 0)
    berth_error_release (&ignored);
  for (i = 0; i < n; i++)
    kill (pids[i], SIGKILL);
}

/* Remove the state directory, the cgroup and the writable layer (NULL: kept) of a dead
   container.  */
static int
cleanup_container (const char *dir, const char *cgroup, const char *writable, berth_error_t *err)
{
  if (berth_net_release (dir, err) < 0)
    return -1;
  if (cgroup && berth_cgroup_destroy (cgroup, err) < 0)
    return -1;
  if (writable && berth_rootfs_remove_writable (writable, err) < 0)
    return -1;
  return berth_remove_tree (dir, err);
}

/* ---- create: the monitor.  */

static void run_hooks_warn (const struct berth_state *s, const struct berth_config *given, enum berth_status status,
                            int which);
static int start_rendezvous (const char *dir, const char *id, pid_t pid, unsigned long long pid_start,
                             berth_error_t *err);

/* What the monitor's start frame handler works on.  */
struct monitor_start
{
  struct berth_state *st;
  const struct berth_config *c;
  struct berth_attach *attach;
};

/* An attach client's start frame (docs/runtime.md, "The attach socket"): `start`'s
   rendezvous and poststart hooks, done by the monitor, so that a client can attach and
   start with no `start` run.  Ignored once the container has started.  */
static void
monitor_start (void *arg)
{
  struct monitor_start *m = arg;
  cleanup_free char *fifo = xasprintf ("%s/exec.fifo", m->st->dir);
  berth_error_t err = NULL;

  if (access (fifo, F_OK) < 0)
    return;
  if (start_rendezvous (m->st->dir, m->st->id, m->st->pid, m->st->pid_start, &err) < 0)
    {
      /* What the container reported (op "start") is on its stderr already and its exit
         status says what failed; any other failure leaves it waiting at the fifo: it is
         killed, and the clients are told why.  */
      if (err->op == NULL || strcmp (err->op, "start") != 0)
        {
          cleanup_free char *line = xasprintf ("berth-runtime: start: %s\n", err->msg);
          kill (m->st->pid, SIGKILL);
          berth_attach_broadcast (m->attach, BERTH_FRAME_STDERR, line, strlen (line));
        }
      berth_error_release (&err);
      return;
    }
  run_hooks_warn (m->st, m->c, BERTH_STATUS_RUNNING, 0);
}

/* berth.delete-on-exit: what `delete` does, done by the monitor once exit.json is
   written; the poststop hooks after, as delete runs them.  */
static int
delete_at_exit (struct berth_state *st, const struct berth_config *c, const char *cgroup, berth_error_t *err)
{
  int ret;

  kill_leftovers (cgroup);
  ret = cleanup_container (st->dir, cgroup, c->rootfs_keep ? NULL : c->overlay_writable, err);
  if (c->hooks.poststop.n)
    run_hooks_warn (st, c, BERTH_STATUS_STOPPED, 1);
  return ret;
}

/* exit.json's content with `"deleted": true` added, for the exit frame.  */
static char *
exit_json_deleted (const char *exit_json)
{
  const char *end = strrchr (exit_json, '}');

  if (end == NULL)
    return xstrdup (exit_json);
  return xasprintf ("%.*s,\"deleted\":true}", (int) (end - exit_json), exit_json);
}

struct report
{
  int status;
  pid_t pid;
  char op[32];
  char msg[4000];
};

/* Whether the kernel's OOM killer killed anything in the cgroup (Docker's OOMKilled).  */
static bool
oom_killed (const char *cgroup)
{
  struct berth_cgroup_stats st;
  berth_error_t err = NULL;

  if (berth_cgroup_stats (cgroup, &st, &err) < 0)
    {
      berth_error_release (&err);
      return false;
    }
  return st.oom_kills != BERTH_CGROUP_STAT_UNKNOWN && st.oom_kills > 0;
}

/* The monitor holds the terminal's master itself (berth.attach without --console-socket):
   its output goes to the log and the attach clients.  */
static bool
monitor_keeps_terminal (const struct berth_config *c, const struct berth_create_options *o)
{
  return c->process->terminal && c->attach && o->console_socket == NULL;
}

static void __attribute__ ((noreturn))
monitor_main (const char *id, const char *dir, const char *bundle, struct berth_config *c, const char *cgroup,
              const struct berth_create_options *o, int report_fd)
{
  struct report r = { 0 };
  berth_error_t err = NULL;
  struct berth_log *log = NULL;
  struct berth_state *st = NULL;
  struct berth_attach *attach = NULL;
  struct monitor_start ms;
  struct berth_loop loop = { .winch_from = -1, .winch_to = -1, .resize_from = -1, .resize_to = -1 };
  int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, in[2] = { -1, -1 }, master = -1, devnull, status = 0;
  bool keep_terminal = monitor_keeps_terminal (c, o);
  struct berth_spawn sp = { .id = id, .bundle = bundle, .state_dir = dir, .cgroup = cgroup, .config = c,
                            .wait_fifo = true, .stdio = { -1, -1, -1 } };
  sigset_t old, pipe_set;
  pid_t pid;

  setsid ();
  /* Never hold the caller's stdio: it would wait for our end of its pipes.  */
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0)
    {
      dup2 (devnull, 0);
      dup2 (devnull, 1);
      dup2 (devnull, 2);
    }
  if (c->attach)
    {
      /* Before create returns: a client may connect before start and miss nothing.  */
      cleanup_free char *sock = xasprintf ("%s/attach.sock", dir);
      if (berth_attach_listen (sock, &attach, &err) < 0)
        goto fail;
    }
  if (! c->process->terminal || keep_terminal)
    {
      cleanup_free char *log_path = c->log_path ? xstrdup (c->log_path) : xasprintf ("%s/container.log", dir);
      if (berth_log_open (log_path, c->log_max_size, c->log_max_files, &log, &err) < 0)
        goto fail;
    }
  if (! c->process->terminal)
    {
      if (pipe2 (out, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
        {
          berth_make_error_op (&err, errno, "pipe", "pipe for the container's output");
          goto fail;
        }
      if (c->attach_stdin && pipe2 (in, O_CLOEXEC) < 0)
        {
          berth_make_error_op (&err, errno, "pipe", "pipe for the container's stdin");
          goto fail;
        }
      sp.stdio[0] = in[0] >= 0 ? in[0] : devnull;
      sp.stdio[1] = out[1];
      sp.stdio[2] = errp[1];
    }
  berth_loop_block (&old);
  /* Writing to a stdin pipe the program has closed must fail with EPIPE, never kill the
     monitor: SIGPIPE stays blocked here (the container gets `old`, without it).  */
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  sigprocmask (SIG_BLOCK, &pipe_set, NULL);
  if (berth_spawn (&sp, &old, &pid, &master, &err) < 0)
    goto fail;
  if (master >= 0 && ! keep_terminal)
    {
      if (berth_terminal_send (o->console_socket, master, &err) < 0)
        {
          kill (pid, SIGKILL);
          goto fail;
        }
      close (master);
      master = -1;
    }
  loop.child = pid;
  loop.log = log;
  loop.attach = attach;
  if (master >= 0)
    {
      /* The terminal's output is the container's stdout; stdin frames go to the master.  */
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = master, .to = -1, .stream = "stdout" };
      if (berth_attach_set_stdin (attach, c->attach_stdin ? master : -1, true, master, &err) < 0)
        {
          kill (pid, SIGKILL);
          goto fail;
        }
    }
  else if (log)
    {
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = out[0], .to = -1, .stream = "stdout" };
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = errp[0], .to = -1, .stream = "stderr" };
      if (attach && berth_attach_set_stdin (attach, steal_fd (&in[1]), false, -1, &err) < 0)
        {
          kill (pid, SIGKILL);
          goto fail;
        }
    }
  st = new_state (id, dir, bundle, c, cgroup);
  st->pid = pid;
  st->pid_start = berth_pid_start_time (pid);
  st->monitor_pid = getpid ();
  st->detached = true;
  if (berth_state_save (st, &err) < 0)
    {
      kill (pid, SIGKILL);
      goto fail;
    }
  ms = (struct monitor_start){ .st = st, .c = c, .attach = attach };
  if (attach)
    berth_attach_on_start (attach, monitor_start, &ms);
  r.pid = pid;
  berth_write_all (report_fd, &r, sizeof (r));
  close (report_fd);
  if (out[1] >= 0)
    close (out[1]);
  if (errp[1] >= 0)
    close (errp[1]);
  if (in[0] >= 0)
    close (in[0]);

  /* The runtime's parse of config.json (Docker's seccomp profile alone is hundreds of
     objects) is freed but still resident in this fork, and becomes ours alone once the
     caller exits: give it back, since the monitor lives as long as the container.  */
  malloc_trim (0);

  if (berth_loop_run (&loop, &status, &err) < 0)
    {
      berth_error_release (&err);
      waitpid (pid, &status, 0);
    }
  berth_log_close (log, &err);
  berth_error_release (&err);
  berth_state_write_exit (dir, status, oom_killed (cgroup), &err);
  berth_error_release (&err);
  /* exit.json first, then the exit frame and EOF: a client that sees them can read the
     status at once.  With berth.delete-on-exit the container is deleted in between, and the
     frame says so ("deleted": true; left out when the delete failed).  */
  {
    cleanup_free char *exit_path = xasprintf ("%s/exit.json", dir);
    cleanup_free char *exit_json = NULL;
    size_t len;
    if (attach && berth_read_file (exit_path, &exit_json, &len, &err) < 0)
      berth_error_release (&err);
    if (c->delete_on_exit)
      {
        if (delete_at_exit (st, c, cgroup, &err) < 0)
          berth_error_release (&err);
        else if (exit_json)
          {
            char *deleted = exit_json_deleted (exit_json);
            free (exit_json);
            exit_json = deleted;
          }
      }
    if (attach)
      berth_attach_finish (attach, exit_json, 5000);
  }
  berth_attach_free (attach);
  if (master >= 0)
    close (master);
  _exit (0);

fail:
  berth_attach_free (attach);
  r.status = err->status ? err->status : -1;
  snprintf (r.op, sizeof (r.op), "%s", err->op ? err->op : "");
  snprintf (r.msg, sizeof (r.msg), "%s", err->msg);
  berth_write_all (report_fd, &r, sizeof (r));
  _exit (1);
}

static struct berth_config *
state_config (const struct berth_state *s)
{
  cleanup_free char *path = xasprintf ("%s/config.json", s->dir);
  cleanup_free char *data = NULL;
  struct berth_config *c = NULL;
  berth_error_t err = NULL;
  size_t len;

  if (berth_read_file (path, &data, &len, &err) < 0 || berth_config_parse (data, len, s->bundle, &c, &err) < 0)
    {
      berth_error_release (&err);
      return NULL;
    }
  return c;
}

/* Run the poststart (which 0) or poststop (1) hooks of c, or of the config in the state
   directory when c is NULL; failures are warnings.  */
static void
run_hooks_warn (const struct berth_state *s, const struct berth_config *given, enum berth_status status, int which)
{
  cleanup_config struct berth_config *loaded = given ? NULL : state_config (s);
  const struct berth_config *c = given ? given : loaded;
  struct berth_state view = *s;
  cleanup_free char *json = NULL;

  if (c == NULL)
    return;
  view.status = status;
  json = berth_state_to_json (&view, false);
  if (which == 0)
    berth_hooks_run_warn (&c->hooks.poststart, "poststart", json);
  else
    berth_hooks_run_warn (&c->hooks.poststop, "poststop", json);
}

/* Pass-through create: the container process is our child, with our stdio (or the
   terminal, whose master goes to --console-socket); when we exit, it is reparented to the
   caller's subreaper, which waits for it.  No monitor: nothing writes exit.json.  */
static int
create_passthrough (const char *id, const char *dir, const char *bundle, struct berth_config *c, const char *cgroup,
                    const struct berth_create_options *o, pid_t *pid, berth_error_t *err)
{
  struct berth_spawn sp = { .id = id, .bundle = bundle, .state_dir = dir, .cgroup = cgroup, .config = c,
                            .wait_fifo = true, .stdio = { -1, -1, -1 } };
  struct berth_state *st = NULL;
  cleanup_close int null = -1;
  int master = -1, ret;
  sigset_t mask;

  if (c->process->terminal)
    {
      /* The container must not hold the caller's stdio while it waits for start
         (containerd's shim reads create's output to its end): /dev/null until it gets the
         terminal, as under runc.  */
      null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null < 0)
        return berth_make_error_op (err, errno, "open", "open /dev/null");
      sp.stdio[0] = sp.stdio[1] = sp.stdio[2] = null;
      sp.stdio_at_clone = true;
    }
  sigprocmask (SIG_SETMASK, NULL, &mask);
  if (berth_spawn (&sp, &mask, pid, &master, err) < 0)
    return -1;
  if (master >= 0)
    {
      ret = berth_terminal_send (o->console_socket, master, err);
      close (master);
      if (ret < 0)
        goto kill;
    }
  st = new_state (id, dir, bundle, c, cgroup);
  st->pid = *pid;
  st->pid_start = berth_pid_start_time (*pid);
  st->passthrough = true;
  ret = berth_state_save (st, err);
  free_new_state (st);
  if (ret == 0)
    return 0;
kill:
  kill (*pid, SIGKILL);
  waitpid (*pid, NULL, 0);
  return -1;
}

int
berth_container_create (const char *root, const char *id, const struct berth_create_options *o, berth_error_t *err)
{
  cleanup_free char *bundle = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *fifo = NULL;
  cleanup_free char *cgroup = NULL;
  cleanup_config struct berth_config *c = NULL;
  struct report r;
  int fds[2];
  pid_t monitor;
  ssize_t n;
  bool spawned = false, with_monitor;

  if (berth_validate_id (id, err) < 0)
    return -1;
  if (resolve_bundle (o->bundle, &bundle, err) < 0 || load_config (bundle, &c, err) < 0
      || wants_monitor (c, &with_monitor, err) < 0 || prepare_seccomp (root, c, err) < 0)
    return -1;
  if (c->process->terminal && o->console_socket == NULL && ! c->attach)
    return berth_make_error_op (err, 0, "create",
                                "process.terminal is true: create needs --console-socket to hand the terminal to, "
                                "or annotations[\"%s\"] = \"true\" to keep it in the monitor",
                                BERTH_ANNOTATION_ATTACH);
  if (berth_config_check_host_paths (c, err) < 0)
    return -1;
  cgroup = berth_cgroup_path_for (c->cgroups_path, id);
  if (berth_state_dir_create (root, id, &dir, err) < 0)
    return -1;
  fifo = xasprintf ("%s/exec.fifo", dir);
  if (mkfifo (fifo, 0600) < 0)
    {
      berth_make_error_op (err, errno, "mkfifo", "mkfifo %s", fifo);
      goto fail;
    }
  if (copy_config (bundle, dir, err) < 0 || berth_net_prepare (root, id, dir, c, err) < 0)
    goto fail;
  if (! with_monitor)
    {
      spawned = true;
      if (create_passthrough (id, dir, bundle, c, cgroup, o, &r.pid, err) < 0)
        goto fail;
      if (write_pid_file (o->pid_file, r.pid, err) < 0)
        {
          kill (r.pid, SIGKILL);
          waitpid (r.pid, NULL, 0);
          goto fail;
        }
      return 0;
    }
  if (pipe2 (fds, O_CLOEXEC) < 0)
    {
      berth_make_error_op (err, errno, "pipe", "pipe to the monitor");
      goto fail;
    }
  monitor = fork ();
  if (monitor < 0)
    {
      berth_make_error_op (err, errno, "fork", "fork the monitor");
      close (fds[0]);
      close (fds[1]);
      goto fail;
    }
  if (monitor == 0)
    {
      close (fds[0]);
      monitor_main (id, dir, bundle, c, cgroup, o, fds[1]);
    }
  close (fds[1]);
  spawned = true;
  do
    n = read (fds[0], &r, sizeof (r));
  while (n < 0 && errno == EINTR);
  close (fds[0]);
  if (n != (ssize_t) sizeof (r))
    {
      berth_make_error_op (err, 0, "create", "the monitor of `%s` died while creating it", id);
      waitpid (monitor, NULL, 0);
      goto fail;
    }
  if (r.status != 0)
    {
      berth_make_error_op (err, 0, r.op[0] ? r.op : NULL, "%s", r.msg);
      (*err)->status = r.status > 0 ? r.status : 0;
      waitpid (monitor, NULL, 0);
      goto fail;
    }
  if (write_pid_file (o->pid_file, r.pid, err) < 0)
    {
      kill (r.pid, SIGKILL);
      goto fail;
    }
  return 0;

fail:
  {
    berth_error_t ignored = NULL;
    if (cleanup_container (dir, cgroup, c->rootfs_keep ? NULL : c->overlay_writable, &ignored) < 0)
      berth_error_release (&ignored);
  }
  /* runtime.md: a container that failed while being created (a hook, a mount) goes on to
     delete, whose last step is the poststop hooks.  */
  if (spawned && c->hooks.poststop.n)
    {
      struct berth_state view = { .id = (char *) id, .bundle = bundle, .dir = dir, .status = BERTH_STATUS_STOPPED,
                                  .annotation_keys = c->annotation_keys, .annotation_values = c->annotation_values,
                                  .n_annotations = c->n_annotations };
      run_hooks_warn (&view, c, BERTH_STATUS_STOPPED, 1);
    }
  return -1;
}

/* ---- start.  */

/* The container process failed between the rendezvous and exec and wrote "E" and its
   message to exec.fifo: read the message (up to end-of-file, a few seconds at most).  */
static int
start_failed (int fd, const char *id, berth_error_t *err)
{
  char msg[2048];
  size_t len = 0;
  int waited = 0;

  while (len < sizeof (msg) - 1 && waited < 5000)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      ssize_t n;

      poll (&p, 1, 100);
      n = read (fd, msg + len, sizeof (msg) - 1 - len);
      if (n == 0)
        break;
      if (n > 0)
        len += (size_t) n;
      else
        waited += 100;
    }
  msg[len] = '\0';
  return berth_make_error_op (err, 0, "start", "container `%s` failed to start: %s", id, len ? msg : "(no reason given)");
}

/* start's rendezvous at <dir>/exec.fifo with the waiting container process (pid, its start
   time pid_start): it goes on once we read its byte, and we wait until it has executed the
   program (the fifo's end closes) or reported why it could not; then the fifo is removed,
   and the container's status is running.  */
static int
start_rendezvous (const char *dir, const char *id, pid_t pid, unsigned long long pid_start, berth_error_t *err)
{
  cleanup_free char *fifo = xasprintf ("%s/exec.fifo", dir);
  cleanup_close int fd = -1;
  char byte;

  fd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open %s", fifo);
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      ssize_t n;

      if (poll (&p, 1, 100) < 0 && errno != EINTR)
        return berth_make_error_op (err, errno, "poll", "poll %s", fifo);
      n = read (fd, &byte, 1);
      if (n == 1)
        break;
      if (n == 0 && berth_pid_start_time (pid) == pid_start)
        continue; /* no writer yet */
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return berth_make_error_op (err, errno, "read", "read %s", fifo);
      if (berth_pid_start_time (pid) != pid_start)
        return berth_make_error_op (err, 0, "start", "the process of container `%s` died before it could start", id);
    }
  /* The container keeps its end open until it executes the program: wait for that, so
     poststart hooks run after the program has started.  */
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      ssize_t n;

      if (poll (&p, 1, 100) < 0 && errno != EINTR)
        return berth_make_error_op (err, errno, "poll", "poll %s", fifo);
      n = read (fd, &byte, 1);
      if (n == 1 && byte == 'E')
        return start_failed (fd, id, err);
      if (n == 0 || berth_pid_start_time (pid) != pid_start)
        break;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return berth_make_error_op (err, errno, "read", "read %s", fifo);
    }
  if (unlink (fifo) < 0)
    return berth_make_error_op (err, errno, "unlink", "unlink %s", fifo);
  return 0;
}

int
berth_container_start (const char *root, const char *id, berth_error_t *err)
{
  cleanup_state struct berth_state *s = NULL;

  if (berth_state_load (root, id, &s, err) < 0)
    return -1;
  if (s->status != BERTH_STATUS_CREATED)
    return berth_make_error_op (err, 0, "start", "container `%s` is %s, not created: only a created container can be started",
                                id, berth_status_name (s->status));
  if (start_rendezvous (s->dir, id, s->pid, s->pid_start, err) < 0)
    return -1;
  s->status = BERTH_STATUS_RUNNING;
  run_hooks_warn (s, NULL, BERTH_STATUS_RUNNING, 0);
  return 0;
}

/* ---- run.  */

static int
run_foreground (const char *root, const char *id, const struct berth_run_options *o, int *exit_code,
                berth_error_t *err)
{
  cleanup_free char *bundle = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *cgroup = NULL;
  cleanup_config struct berth_config *c = NULL;
  struct berth_state *st = NULL;
  struct berth_spawn sp = { .id = id, .stdio = { -1, -1, -1 } };
  struct berth_loop loop = { .forward_signals = true, .winch_from = -1, .winch_to = -1, .resize_from = -1, .resize_to = -1 };
  struct termios saved;
  bool raw = false, stopped = false, spawned = false, monitor; /* checked, not used: no monitor in the foreground */
  int master = -1, status = 0, ret = -1;
  sigset_t old;
  pid_t pid;

  if (berth_validate_id (id, err) < 0)
    return -1;
  if (resolve_bundle (o->create.bundle, &bundle, err) < 0 || load_config (bundle, &c, err) < 0
      || wants_monitor (c, &monitor, err) < 0 || prepare_seccomp (root, c, err) < 0)
    return -1;
  if (c->attach)
    return berth_make_error_op (err, 0, "run",
                                "annotations[\"%s\"] needs a monitor to serve the attach socket: use create and "
                                "start, or run --detach",
                                BERTH_ANNOTATION_ATTACH);
  if (o->tty)
    c->process->terminal = true;
  cgroup = berth_cgroup_path_for (c->cgroups_path, id);
  if (berth_state_dir_create (root, id, &dir, err) < 0)
    return -1;
  if (copy_config (bundle, dir, err) < 0 || berth_net_prepare (root, id, dir, c, err) < 0)
    goto out;
  sp.bundle = bundle;
  sp.state_dir = dir;
  sp.cgroup = cgroup;
  sp.config = c;
  berth_loop_block (&old);
  spawned = true;
  if (berth_spawn (&sp, &old, &pid, &master, err) < 0)
    {
      berth_loop_unblock (&old);
      if ((*err)->op && strcmp ((*err)->op, "exec") == 0)
        *exit_code = berth_process_failure_status (*err);
      goto out;
    }
  st = new_state (id, dir, bundle, c, cgroup);
  st->pid = pid;
  st->pid_start = berth_pid_start_time (pid);
  st->monitor_pid = getpid ();
  if (berth_state_save (st, err) < 0 || write_pid_file (o->create.pid_file, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      berth_loop_unblock (&old);
      goto out;
    }
  if (c->hooks.poststart.n)
    run_hooks_warn (st, c, BERTH_STATUS_RUNNING, 0);
  loop.child = pid;
  if (master >= 0 && isatty (STDIN_FILENO))
    {
      berth_terminal_copy_size (STDIN_FILENO, master);
      if (berth_terminal_raw (STDIN_FILENO, &saved, err) < 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, NULL, 0);
          berth_loop_unblock (&old);
          goto out;
        }
      raw = true;
    }
  if (master >= 0)
    {
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = master, .to = STDOUT_FILENO, .stream = "stdout" };
      loop.pumps[loop.n_pumps++] = (struct berth_pump){ .from = STDIN_FILENO, .to = master, .stream = "stdin" };
      if (raw)
        {
          loop.winch_from = STDIN_FILENO;
          loop.winch_to = master;
          loop.forward_signals = false; /* the terminal delivers ^C to the container itself */
        }
    }
  ret = berth_loop_run (&loop, &status, err);
  berth_loop_unblock (&old);
  if (ret == 0)
    *exit_code = berth_exit_code (status);
  stopped = true;

out:
  if (raw)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved);
  if (master >= 0)
    close (master);
  {
    berth_error_t e2 = NULL;
    int cleaned = cleanup_container (dir, cgroup, c->rootfs_keep ? NULL : c->overlay_writable, &e2);
    /* runtime.md: poststop hooks after the container is deleted, also when it failed
       while being created.  */
    if ((stopped || spawned) && c->hooks.poststop.n)
      {
        struct berth_state view = { .id = (char *) id, .bundle = bundle, .dir = dir, .status = BERTH_STATUS_STOPPED,
                                    .annotation_keys = c->annotation_keys, .annotation_values = c->annotation_values,
                                    .n_annotations = c->n_annotations };
        run_hooks_warn (st ? st : &view, c, BERTH_STATUS_STOPPED, 1);
      }
    free_new_state (st);
    if (cleaned < 0)
      {
        if (ret == 0)
          {
            *err = e2;
            return -1;
          }
        berth_error_release (&e2);
      }
  }
  return ret;
}

int
berth_container_run (const char *root, const char *id, const struct berth_run_options *o, int *exit_code,
                     berth_error_t *err)
{
  *exit_code = 0;
  if (! o->detach)
    return run_foreground (root, id, o, exit_code, err);
  if (berth_container_create (root, id, &o->create, err) < 0)
    return -1;
  if (berth_container_start (root, id, err) < 0)
    {
      berth_error_t ignored = NULL;
      if (berth_container_delete (root, id, true, &ignored) < 0)
        berth_error_release (&ignored);
      return -1;
    }
  return 0;
}

/* ---- state, kill, delete.  */

int
berth_container_state (const char *root, const char *id, berth_error_t *err)
{
  cleanup_state struct berth_state *s = NULL;
  cleanup_free char *json = NULL;

  if (berth_state_load (root, id, &s, err) < 0)
    return -1;
  json = berth_state_to_json (s, true);
  printf ("%s\n", json);
  return 0;
}

static const struct
{
  const char *name;
  int sig;
} signal_names[] = {
  { "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT }, { "ILL", SIGILL },   { "TRAP", SIGTRAP },
  { "ABRT", SIGABRT }, { "IOT", SIGIOT },     { "BUS", SIGBUS },   { "FPE", SIGFPE },   { "KILL", SIGKILL },
  { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },   { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
  { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },   { "TTOU", SIGTTOU }, { "URG", SIGURG },   { "XCPU", SIGXCPU },
  { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
  { "PWR", SIGPWR },   { "SYS", SIGSYS },
};

int
berth_parse_signal (const char *name, int *sig, berth_error_t *err)
{
  const char *n = name;
  char *end;
  long v;
  size_t i;

  v = strtol (name, &end, 10);
  if (*name && *end == '\0')
    {
      if (v <= 0 || v >= NSIG)
        return berth_make_error_op (err, 0, BERTH_OP_USAGE, "invalid signal `%s`: a number from 1 to %d", name, NSIG - 1);
      *sig = (int) v;
      return 0;
    }
  if (strncasecmp (n, "SIG", 3) == 0)
    n += 3;
  for (i = 0; i < BERTH_ARRAY_SIZE (signal_names); i++)
    if (strcasecmp (n, signal_names[i].name) == 0)
      {
        *sig = signal_names[i].sig;
        return 0;
      }
  return berth_make_error_op (err, 0, BERTH_OP_USAGE, "invalid signal `%s`: use a name such as TERM or KILL, or a number", name);
}

int
berth_container_kill (const char *root, const char *id, int sig, bool all, berth_error_t *err)
{
  cleanup_state struct berth_state *s = NULL;

  if (berth_state_load (root, id, &s, err) < 0)
    return -1;
  if (s->status != BERTH_STATUS_CREATED && s->status != BERTH_STATUS_RUNNING)
    return berth_make_error_op (err, 0, "kill", "container `%s` is %s: only a created or running container can be signalled",
                                id, berth_status_name (s->status));
  if (all)
    {
      cleanup_free pid_t *pids = NULL;
      size_t n = 0, i;
      if (berth_cgroup_pids (s->cgroup, &pids, &n, err) < 0)
        return -1;
      for (i = 0; i < n; i++)
        kill (pids[i], sig);
      return 0;
    }
  if (kill (s->pid, sig) < 0)
    return berth_make_error_op (err, errno, "kill", "kill -%d %d (container `%s`)", sig, (int) s->pid, id);
  return 0;
}

static bool
wait_gone (pid_t pid, unsigned long long start, int ms)
{
  for (; ms > 0; ms -= 10)
    {
      if (berth_pid_start_time (pid) != start)
        return true;
      poll (NULL, 0, 10);
    }
  return berth_pid_start_time (pid) != start;
}

int
berth_container_delete (const char *root, const char *id, bool force, berth_error_t *err)
{
  cleanup_state struct berth_state *s = NULL;
  cleanup_config struct berth_config *stopped = NULL;
  int ret;

  if (berth_state_load (root, id, &s, err) < 0)
    return -1;
  if (s->status == BERTH_STATUS_CREATING && ! force)
    return berth_make_error_op (err, 0, "delete", "container `%s` is still being created: use --force to remove what is left", id);
  if ((s->status == BERTH_STATUS_RUNNING || s->status == BERTH_STATUS_CREATED) && ! force)
    return berth_make_error_op (err, 0, "delete",
                                "container `%s` is %s: stop it first (kill) or use delete --force", id,
                                berth_status_name (s->status));
  if (s->status == BERTH_STATUS_RUNNING || s->status == BERTH_STATUS_CREATED)
    {
      kill (s->pid, SIGKILL);
      if (! wait_gone (s->pid, s->pid_start, 5000))
        return berth_make_error_op (err, 0, "delete", "container `%s` (pid %d) did not die after SIGKILL", id, (int) s->pid);
    }
  kill_leftovers (s->cgroup);
  if (s->status != BERTH_STATUS_CREATING && s->monitor_pid > 0 && s->monitor_pid != getpid ()
      && state_annotation_true (s, BERTH_ANNOTATION_DELETE_ON_EXIT))
    {
      /* The monitor deletes it (berth.delete-on-exit): wait for that rather than race it;
         a monitor that died first leaves it to us.  */
      int ms;
      for (ms = 0; ms < 10000 && kill (s->monitor_pid, 0) == 0 && access (s->dir, F_OK) == 0; ms += 10)
        poll (NULL, 0, 10);
      if (access (s->dir, F_OK) < 0 && errno == ENOENT)
        return 0;
    }
  if (s->status != BERTH_STATUS_CREATING)
    {
      /* The monitor exits once it has recorded the exit status.  */
      if (s->monitor_pid > 0 && s->monitor_pid != getpid ())
        {
          int ms;
          for (ms = 0; ms < 2000 && kill (s->monitor_pid, 0) == 0; ms += 10)
            {
              cleanup_free char *exit_path = xasprintf ("%s/exit.json", s->dir);
              if (access (exit_path, F_OK) == 0)
                break;
              poll (NULL, 0, 10);
            }
        }
      s->status = BERTH_STATUS_STOPPED;
      stopped = state_config (s);
    }
  /* runtime.md: poststop hooks run after the container is deleted, before delete returns
     (its config is read first: the state directory goes with the container).  */
  ret = cleanup_container (s->dir, s->cgroup, state_annotation_true (s, BERTH_ANNOTATION_ROOTFS_KEEP) ? NULL : s->writable, err);
  if (stopped)
    run_hooks_warn (s, stopped, BERTH_STATUS_STOPPED, 1);
  return ret;
}

/* ---- list, ps.  */

int
berth_container_list (const char *root, bool json, bool quiet, berth_error_t *err)
{
  cleanup_dir DIR *d = opendir (root);
  struct dirent *de;
  bool first = true;

  if (d == NULL)
    {
      if (errno != ENOENT)
        return berth_make_error_op (err, errno, "opendir", "opendir %s", root);
    }
  if (json)
    printf ("[");
  else if (! quiet)
    printf ("%-24s %-8s %-10s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  while (d && (de = readdir (d)))
    {
      cleanup_state struct berth_state *s = NULL;
      berth_error_t ignored = NULL;

      if (de->d_name[0] == '.')
        continue;
      if (berth_state_load (root, de->d_name, &s, &ignored) < 0)
        {
          berth_error_release (&ignored);
          continue;
        }
      if (json)
        {
          cleanup_free char *one = berth_state_to_json (s, false);
          printf ("%s%s", first ? "" : ",", one);
        }
      else if (quiet)
        printf ("%s\n", s->id);
      else
        printf ("%-24s %-8d %-10s %-32s %s\n", s->id,
                s->status == BERTH_STATUS_STOPPED ? 0 : (int) s->pid, berth_status_name (s->status),
                s->bundle ? s->bundle : "", s->created ? s->created : "");
      first = false;
    }
  if (json)
    printf ("]\n");
  return 0;
}

int
berth_container_ps (const char *root, const char *id, bool json, berth_error_t *err)
{
  cleanup_state struct berth_state *s = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0, i;

  if (berth_state_load (root, id, &s, err) < 0)
    return -1;
  if (s->cgroup && berth_cgroup_pids (s->cgroup, &pids, &n, err) < 0)
    return -1;
  if (json)
    printf ("[");
  else
    printf ("PID\n");
  for (i = 0; i < n; i++)
    printf (json ? "%s%d" : "%.0s%d\n", i ? "," : "", (int) pids[i]);
  if (json)
    printf ("]\n");
  return 0;
}
