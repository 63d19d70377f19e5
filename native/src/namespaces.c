/*
 * Berth runtime: namespaces.  See namespaces.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "namespaces.h"
#include "utils.h"

struct ns_name
{
  int type;
  const char *name; /* as under /proc/<pid>/ns/ */
};

/* The order joined by exec: the user namespace first (joining it gives the capabilities
   the others, which it owns, need), the mount namespace last, as it changes our root.  */
static const struct ns_name ns_names[] = {
  { CLONE_NEWUSER, "user" },     { CLONE_NEWIPC, "ipc" },       { CLONE_NEWUTS, "uts" }, { CLONE_NEWNET, "net" },
  { CLONE_NEWCGROUP, "cgroup" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWNS, "mnt" },
};

static const char *
ns_name (int type)
{
  size_t i;
  for (i = 0; i < BERTH_ARRAY_SIZE (ns_names); i++)
    if (ns_names[i].type == type)
      return ns_names[i].name;
  return "?";
}

int
berth_ns_clone_flags (const struct berth_config *c)
{
  int flags = 0;
  size_t i;

  for (i = 0; i < c->n_namespaces; i++)
    if (c->namespaces[i].path == NULL && c->namespaces[i].type != CLONE_NEWCGROUP)
      flags |= c->namespaces[i].type;
  return flags;
}

int
berth_ns_join_paths (const struct berth_config *c, int types, berth_error_t *err)
{
  size_t i;

  for (i = 0; i < c->n_namespaces; i++)
    {
      const struct berth_namespace *ns = &c->namespaces[i];
      cleanup_close int fd = -1;

      if (ns->path == NULL || (ns->type & types) == 0)
        continue;
      fd = open (ns->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return berth_make_error_op (err, errno, "open", "open %s namespace %s", ns_name (ns->type), ns->path);
      if (setns (fd, ns->type) < 0)
        return berth_make_error_op (err, errno, "setns", "setns %s namespace %s", ns_name (ns->type), ns->path);
    }
  return 0;
}

static int
loopback_up (berth_error_t *err)
{
  cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;

  if (fd < 0)
    return berth_make_error_op (err, errno, "socket", "socket AF_INET to configure lo");
  memset (&ifr, 0, sizeof (ifr));
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return berth_make_error_op (err, errno, "ioctl", "ioctl SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    return berth_make_error_op (err, errno, "ioctl", "ioctl SIOCSIFFLAGS lo up");
  return 0;
}

int
berth_ns_unshare_cgroup (const struct berth_config *c, berth_error_t *err)
{
  const struct berth_namespace *cg = berth_config_namespace (c, CLONE_NEWCGROUP);

  if (cg && cg->path == NULL && unshare (CLONE_NEWCGROUP) < 0)
    return berth_make_error_op (err, errno, "unshare", "unshare cgroup namespace");
  return 0;
}

int
berth_ns_setup (const struct berth_config *c, berth_error_t *err)
{
  const struct berth_namespace *net = berth_config_namespace (c, CLONE_NEWNET);

  if (c->hostname && sethostname (c->hostname, strlen (c->hostname)) < 0)
    return berth_make_error_op (err, errno, "sethostname", "sethostname `%s`", c->hostname);
  if (c->domainname && setdomainname (c->domainname, strlen (c->domainname)) < 0)
    return berth_make_error_op (err, errno, "setdomainname", "setdomainname `%s`", c->domainname);
  if (net && net->path == NULL && loopback_up (err) < 0)
    return -1;
  return 0;
}

int
berth_ns_join_process (pid_t pid, berth_error_t *err)
{
  int fds[BERTH_ARRAY_SIZE (ns_names)];
  size_t i;
  int ret = 0;

  for (i = 0; i < BERTH_ARRAY_SIZE (ns_names); i++)
    fds[i] = -1;
  /* Open every namespace first: after joining the mount namespace, /proc is the container's.  */
  for (i = 0; i < BERTH_ARRAY_SIZE (ns_names); i++)
    {
      cleanup_free char *theirs = xasprintf ("/proc/%d/ns/%s", (int) pid, ns_names[i].name);
      cleanup_free char *ours = xasprintf ("/proc/self/ns/%s", ns_names[i].name);
      struct stat a, b;

      if (stat (theirs, &a) < 0)
        {
          ret = berth_make_error_op (err, errno, "stat", "stat %s", theirs);
          goto out;
        }
      if (stat (ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        continue; /* shared with the host: nothing to join */
      fds[i] = open (theirs, O_RDONLY | O_CLOEXEC);
      if (fds[i] < 0)
        {
          ret = berth_make_error_op (err, errno, "open", "open %s", theirs);
          goto out;
        }
    }
  for (i = 0; i < BERTH_ARRAY_SIZE (ns_names); i++)
    if (fds[i] >= 0 && setns (fds[i], ns_names[i].type) < 0)
      {
        ret = berth_make_error_op (err, errno, "setns", "setns %s namespace of pid %d", ns_names[i].name, (int) pid);
        break;
      }
out:
  for (i = 0; i < BERTH_ARRAY_SIZE (ns_names); i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return ret;
}
