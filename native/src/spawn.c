/*
 * Berth runtime: creating the container process.  See spawn.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "hooks.h"
#include "idmap.h"
#include "namespaces.h"
#include "net.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp.h"
#include "spawn.h"
#include "terminal.h"
#include "status.h"
#include "utils.h"

enum sync_type
{
  SYNC_GO = 1,
  SYNC_READY,
  SYNC_ERROR,
  SYNC_MAPPED, /* user namespace: the ids are mapped; carries the idmapped root mount */
};

struct sync_msg
{
  int type;
  int status;
  char op[32];
  char msg[4000];
};

static int
send_msg (int fd, int type, berth_error_t e, int value, int pass_fd)
{
  struct sync_msg m;

  memset (&m, 0, sizeof (m));
  m.type = type;
  m.status = value;
  if (e)
    {
      m.status = e->status;
      snprintf (m.op, sizeof (m.op), "%s", e->op ? e->op : "");
      snprintf (m.msg, sizeof (m.msg), "%s", e->msg);
    }
  return berth_send_fd (fd, &m, sizeof (m), pass_fd, MSG_NOSIGNAL) == (ssize_t) sizeof (m) ? 0 : -1;
}

/* Receive a message, and the file descriptor passed with it (or -1) in *got_fd.  */
static int
recv_msg (int fd, struct sync_msg *m, int *got_fd)
{
  return berth_recv_fd (fd, m, sizeof (*m), got_fd) == (ssize_t) sizeof (*m) ? 0 : -1;
}

char *
berth_spawn_hook_state (const struct berth_spawn *s, const char *status, pid_t pid)
{
  struct berth_state st = {
    .id = (char *) s->id,
    .bundle = (char *) s->bundle,
    .pid = pid,
    .annotation_keys = s->config->annotation_keys,
    .annotation_values = s->config->annotation_values,
    .n_annotations = s->config->n_annotations,
    .status = strcmp (status, "created") == 0 ? BERTH_STATUS_CREATED : BERTH_STATUS_CREATING,
  };
  return berth_state_to_json (&st, false);
}

/* ---- the container process.  */

struct child_ctx
{
  const struct berth_spawn *s;
  int sync_fd;
  pid_t host_pid; /* our pid as the caller sees it, from GO */
};

/* The caller has put us in our cgroup (and run its hooks) when GO arrives: only then may
   the cgroup namespace be unshared.  The mounts before this ran meanwhile.  */
static int
wait_for_go (void *arg, berth_error_t *err)
{
  struct child_ctx *ctx = arg;
  struct sync_msg m;

  if (recv_msg (ctx->sync_fd, &m, NULL) < 0 || m.type != SYNC_GO)
    _exit (1); /* the caller is gone, or failed and will report why */
  ctx->host_pid = (pid_t) m.status;
  return berth_ns_unshare_cgroup (ctx->s->config, err);
}

static int
create_container_hooks (void *arg, berth_error_t *err)
{
  struct child_ctx *ctx = arg;
  cleanup_free char *state_json = NULL;

  if (ctx->s->config->hooks.create_container.n == 0)
    return 0;
  state_json = berth_spawn_hook_state (ctx->s, "creating", ctx->host_pid);
  return berth_hooks_run (&ctx->s->config->hooks.create_container, "createContainer", state_json, err);
}

/* Setup up to READY.  Returns the resolved executable.  */
/* The container's terminal is made inside it, from its own devpts instance (after
   pivot_root /dev/ptmx is the container's), and bound on /dev/console, as runc does; the
   master goes to the caller with READY.  */
static int
open_console (const struct berth_process *p, int *master, int *slave, berth_error_t *err)
{
  char name[64];
  cleanup_close int console = -1;

  if (berth_terminal_open (master, slave, p->console_width, p->console_height, err) < 0)
    return berth_error_wrap (err, "create the container's terminal");
  if (ptsname_r (*master, name, sizeof (name)) != 0)
    return berth_make_error_op (err, errno, "ptsname", "name the container's terminal");
  console = open ("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (console < 0 && errno != EEXIST)
    return berth_make_error_op (err, errno, "open", "create /dev/console");
  if (mount (name, "/dev/console", NULL, MS_BIND, NULL) < 0)
    return berth_make_error_op (err, errno, "mount", "bind mount %s on /dev/console", name);
  return 0;
}

static int
child_setup (const struct berth_spawn *s, struct child_ctx *ctx, int *fifo, int *master, int *console, char **exe,
             berth_error_t *err)
{
  struct berth_config *c = s->config;
  struct berth_rootfs_options ro = { .console_fd = -1, .before_pivot = create_container_hooks, .before_pivot_arg = ctx,
                                     .before_cgroup = wait_for_go, .root_mount_fd = -1 };
  cleanup_close int root_mount = -1;

  if (berth_config_has_namespace (c, CLONE_NEWUSER))
    {
      /* Nothing can be done in the new user namespace before our ids are mapped.  */
      struct sync_msg m;
      if (recv_msg (ctx->sync_fd, &m, &root_mount) < 0 || m.type != SYNC_MAPPED)
        _exit (1); /* the caller is gone, or failed and will report why */
      ro.root_mount_fd = root_mount;
    }
  if (berth_ns_join_paths (c, ~CLONE_NEWPID, err) < 0)
    return -1;
  if (berth_ns_setup (c, err) < 0)
    return -1;
  if (s->wait_fifo)
    {
      cleanup_free char *path = xasprintf ("%s/exec.fifo", s->state_dir);
      *fifo = open (path, O_PATH | O_CLOEXEC);
      if (*fifo < 0)
        return berth_make_error_op (err, errno, "open", "open %s", path);
    }
  if (berth_rootfs_setup (c, &ro, err) < 0)
    return -1;
  if (c->process->terminal && open_console (c->process, master, console, err) < 0)
    return -1;
  berth_process_default_home (c->process);
  return berth_process_find (c->process, exe, err);
}

static int
child_stdio (const struct berth_spawn *s, int console, berth_error_t *err)
{
  int i;

  if (console >= 0)
    return berth_terminal_become (console, err);
  if (setsid () < 0)
    return berth_make_error_op (err, errno, "setsid", "setsid");
  for (i = 0; i < 3; i++)
    if (s->stdio[i] >= 0 && dup2 (s->stdio[i], i) < 0)
      return berth_make_error_op (err, errno, "dup2", "dup2 fd %d", i);
  return 0;
}

/* After READY: wait for start, then become the program.  Errors go to the container's
   stderr (its log) and the exit status says what failed.  */
static void __attribute__ ((noreturn))
child_run (const struct berth_spawn *s, pid_t host_pid, int fifo, int console, const char *exe)
{
  berth_error_t err = NULL;
  struct berth_config *c = s->config;
  int w = -1;

  if (fifo >= 0)
    {
      /* Tell start we are going, and keep the fifo open until exec: start reads on to
         end-of-file, so its poststart hooks run once the program is running (runtime.md).
         A failure from here to exec is written there too ("E" and the message), so that
         start fails with it (a startContainer hook, the user, the filter, exec).  */
      cleanup_free char *path = xasprintf ("/proc/self/fd/%d", fifo);
      w = open (path, O_WRONLY | O_CLOEXEC);
      if (w < 0 || write (w, "0", 1) != 1)
        _exit (1);
      close (fifo);
    }
  if (child_stdio (s, console, &err) < 0)
    goto fail;
  if (c->hooks.start_container.n)
    {
      cleanup_free char *state_json = berth_spawn_hook_state (s, "created", host_pid);
      if (berth_hooks_run (&c->hooks.start_container, "startContainer", state_json, &err) < 0)
        goto fail;
    }
  /* The fifo's end stays open (close-on-exec) so that a failure until exec reaches start.  */
  if (berth_process_prepare_exec (c->process, c->seccomp, w, &err) < 0)
    goto fail;
  /* The init runs as the program's user, with its capabilities and filter.  */
  if (c->init && berth_init_fork (w, &err) < 0)
    goto fail;
  berth_process_exec (c->process, exe, &err);
fail:
  dprintf (STDERR_FILENO, "berth-runtime: %s\n", err->msg);
  if (w >= 0)
    dprintf (w, "E%s", err->msg);
  _exit (berth_process_failure_status (err));
}

static void __attribute__ ((noreturn))
child_main (const struct berth_spawn *s, int sync_fd, const sigset_t *sigmask)
{
  struct child_ctx ctx = { .s = s, .sync_fd = sync_fd };
  berth_error_t err = NULL;
  cleanup_free char *exe = NULL;
  int fifo = -1, master = -1, console = -1, i;

  sigprocmask (SIG_SETMASK, sigmask, NULL);
  for (i = 0; i < 3 && s->stdio_at_clone && err == NULL; i++)
    if (dup2 (s->stdio[i], i) < 0)
      berth_make_error_op (&err, errno, "dup2", "dup2 fd %d", i);
  if (err || child_setup (s, &ctx, &fifo, &master, &console, &exe, &err) < 0)
    {
      send_msg (sync_fd, SYNC_ERROR, err, 0, -1);
      _exit (1);
    }
  if (send_msg (sync_fd, SYNC_READY, NULL, 0, master) < 0)
    _exit (1);
  close (sync_fd);
  if (master >= 0)
    close (master);
  child_run (s, ctx.host_pid, fifo, console, exe);
}

/* ---- the caller.  */

static void
kill_child (pid_t pid, const char *cgroup)
{
  berth_error_t ignored = NULL;
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  if (berth_cgroup_destroy (cgroup, &ignored) < 0)
    berth_error_release (&ignored);
}

/* The container process reopens exec.fifo for writing as the user namespace's root, an
   unprivileged host uid: the fifo (0600, in the state directory) becomes that uid's.  */
static int
give_fifo_to_namespace_root (const struct berth_spawn *s, berth_error_t *err)
{
  cleanup_free char *fifo = NULL;
  int64_t uid = berth_idmap_to_host (&s->config->uid_map, 0);
  int64_t gid = berth_idmap_to_host (&s->config->gid_map, 0);

  if (! s->wait_fifo)
    return 0;
  fifo = xasprintf ("%s/exec.fifo", s->state_dir);
  if (chown (fifo, uid < 0 ? (uid_t) -1 : (uid_t) uid, gid < 0 ? (gid_t) -1 : (gid_t) gid) < 0)
    return berth_make_error_op (err, errno, "chown", "chown %s to the user namespace's root", fifo);
  return 0;
}

int
berth_spawn (const struct berth_spawn *s, const sigset_t *sigmask, pid_t *pid_out, int *master, berth_error_t *err)
{
  int sv[2];
  pid_t pid;
  struct sync_msg m;
  int flags = berth_ns_clone_flags (s->config);

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return berth_make_error_op (err, errno, "socketpair", "socketpair to talk to the container process");
  /* Joining a pid namespace applies to the children we create from now on.  */
  if (berth_ns_join_paths (s->config, CLONE_NEWPID, err) < 0)
    {
      close (sv[0]);
      close (sv[1]);
      return -1;
    }
  pid = (pid_t) syscall (SYS_clone, (unsigned long) flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    {
      int e = errno;
      close (sv[0]);
      close (sv[1]);
      return berth_make_error_op (err, e, "clone", "clone the container process with namespaces 0x%x", flags);
    }
  if (pid == 0)
    {
      close (sv[0]);
      child_main (s, sv[1], sigmask);
    }
  close (sv[1]);

  if (berth_config_has_namespace (s->config, CLONE_NEWUSER))
    {
      int root_mount = -1;
      if (berth_idmap_write (pid, s->config, err) < 0 || berth_idmap_root (s->config, pid, &root_mount, err) < 0
          || give_fifo_to_namespace_root (s, err) < 0)
        goto fail;
      send_msg (sv[0], SYNC_MAPPED, NULL, 0, root_mount);
      close (root_mount);
    }
  if (berth_cgroup_enter (s->cgroup, pid, &s->config->resources, err) < 0)
    goto fail;
  if (berth_net_attach (s->state_dir, pid, err) < 0)
    goto fail;
  if (s->config->hooks.create_runtime.n || s->config->hooks.prestart.n)
    {
      cleanup_free char *state_json = berth_spawn_hook_state (s, "creating", pid);
      if (berth_hooks_run (&s->config->hooks.prestart, "prestart", state_json, err) < 0
          || berth_hooks_run (&s->config->hooks.create_runtime, "createRuntime", state_json, err) < 0)
        goto fail;
    }
  /* The child may have failed already: its ERROR is still queued, so read on even when
     GO cannot be sent.  */
  send_msg (sv[0], SYNC_GO, NULL, (int) pid, -1);
  if (recv_msg (sv[0], &m, master) < 0)
    {
      berth_make_error_op (err, 0, "create", "the container process died while being set up");
      goto fail;
    }
  if (m.type == SYNC_ERROR)
    {
      /* The message already ends with strerror: carry the errno without adding it again.  */
      berth_make_error_op (err, 0, m.op[0] ? m.op : NULL, "%s", m.msg);
      (*err)->status = m.status;
      goto fail;
    }
  close (sv[0]);
  *pid_out = pid;
  return 0;

fail:
  close (sv[0]);
  kill_child (pid, s->cgroup);
  return -1;
}
