/*
 * Berth runtime: a network's nf_tables tables (created and deleted whole, with
 * libnftables, once per network) and the ip_forward sysctl.  Per-container changes are set
 * elements only (net.c, over netlink): no rule is added or removed per container.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "utils.h"

#define NET_RUN_DIR "/run/berth-network"

char *
berth_net_table (const char *name)
{
  return xasprintf ("berth_%s", name);
}

/* libnftables and what it pulls in (libnftnl, libxtables, libjansson, libgmp) cost every
   exec of berth-runtime about 4 ms of dynamic linking and each monitor its relocated
   pages, while only network create and remove use it: it is loaded on first use.  */
static struct
{
  __typeof__ (nft_ctx_new) *ctx_new;
  __typeof__ (nft_ctx_free) *ctx_free;
  __typeof__ (nft_ctx_buffer_output) *buffer_output;
  __typeof__ (nft_ctx_buffer_error) *buffer_error;
  __typeof__ (nft_ctx_get_error_buffer) *get_error_buffer;
  __typeof__ (nft_run_cmd_from_buffer) *run_cmd_from_buffer;
} nft;

static int
nft_load (berth_error_t *err)
{
  void *lib;

  if (nft.run_cmd_from_buffer)
    return 0;
  lib = dlopen ("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    return berth_make_error_op (err, 0, "dlopen", "load libnftables.so.1 (apt-get install -y libnftables1): %s",
                                dlerror ());
  *(void **) &nft.ctx_new = dlsym (lib, "nft_ctx_new");
  *(void **) &nft.ctx_free = dlsym (lib, "nft_ctx_free");
  *(void **) &nft.buffer_output = dlsym (lib, "nft_ctx_buffer_output");
  *(void **) &nft.buffer_error = dlsym (lib, "nft_ctx_buffer_error");
  *(void **) &nft.get_error_buffer = dlsym (lib, "nft_ctx_get_error_buffer");
  *(void **) &nft.run_cmd_from_buffer = dlsym (lib, "nft_run_cmd_from_buffer");
  if (! nft.ctx_new || ! nft.ctx_free || ! nft.buffer_output || ! nft.buffer_error || ! nft.get_error_buffer
      || ! nft.run_cmd_from_buffer)
    {
      nft.run_cmd_from_buffer = NULL;
      return berth_make_error_op (err, 0, "dlsym", "libnftables.so.1 lacks a function berth-runtime needs");
    }
  return 0;
}

static int
nft_run (const char *cmds, const char *what, berth_error_t *err)
{
  struct nft_ctx *ctx;
  int rc;

  if (nft_load (err) < 0)
    return berth_error_wrap (err, "%s", what);
  ctx = nft.ctx_new (NFT_CTX_DEFAULT);
  if (ctx == NULL)
    return berth_make_error_op (err, ENOMEM, "nft", "%s: nft_ctx_new", what);
  nft.buffer_output (ctx);
  nft.buffer_error (ctx);
  rc = nft.run_cmd_from_buffer (ctx, cmds);
  if (rc != 0)
    {
      const char *e = nft.get_error_buffer (ctx);
      berth_make_error_op (err, 0, "nft", "%s: %s", what, e && *e ? e : "nft failed");
      nft.ctx_free (ctx);
      return -1;
    }
  nft.ctx_free (ctx);
  return 0;
}

/* The rules that depend on NAT: the forward chain (containers out: accept with NAT, drop
   without) and the postrouting masquerades.  As "flush chain" and "add rule" commands, so
   create and update write the same rules, and an update replaces them in one transaction.  */
static char *
nat_rules (const struct berth_net_info *n, const char *t)
{
  const char *b = n->name;
  unsigned net = n->net;
  cleanup_free char *masq = n->nat ? xasprintf ("add rule inet %s postrouting ip saddr %u.%u.%u.%u/%d oifname != \"%s\" masquerade\n", t,
                                                net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255, n->prefix, b)
                                   : xstrdup ("");

  return xasprintf ("flush chain inet %1$s forward\n"
                    "add rule inet %1$s forward oifname \"%2$s\" iifname != \"%2$s\" ct state established,related accept\n"
                    "add rule inet %1$s forward oifname \"%2$s\" iifname != \"%2$s\" drop\n"
                    "add rule inet %1$s forward iifname \"%2$s\" oifname != \"%2$s\" %3$s\n"
                    "flush chain inet %1$s postrouting\n"
                    "add rule inet %1$s postrouting oifname \"%2$s\" ip saddr 127.0.0.0/8 masquerade\n"
                    "%4$s",
                    t, b, n->nat ? "accept" : "drop", masq);
}

int
berth_net_nft_create (const struct berth_net_info *n, berth_error_t *err)
{
  cleanup_free char *t = berth_net_table (n->name);
  cleanup_free char *rules = nat_rules (n, t);
  cleanup_free char *cmds = NULL;

  /* inet: the host side (input, forward, NAT, published ports).  bridge: between the
     containers of the bridge, keyed by each source address's group (mark).  The bridge
     family's hooks see every bridge of the host: `ports` (the veths of this network) picks
     ours, since `meta ibrname` needs a kernel module these machines lack.  `src` pins each
     port to its container's address: a container (which has CAP_NET_RAW) cannot pass for
     another app's by forging its source address.  */
  cmds = xasprintf (
      "add table inet %1$s\n"
      "delete table inet %1$s\n"
      "add table bridge %1$s\n"
      "delete table bridge %1$s\n"
      "table inet %1$s {\n"
      "  map pub { type inet_service : ipv4_addr . inet_service; }\n"
      "  chain input {\n"
      "    type filter hook input priority filter; policy accept;\n"
      "    iifname \"%2$s\" ct state established,related accept\n"
      "    iifname \"%2$s\" drop\n"
      "  }\n"
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "  }\n"
      "  chain output {\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    ip daddr 127.0.0.1 dnat ip to tcp dport map @pub\n"
      "  }\n"
      "  chain postrouting {\n"
      "    type nat hook postrouting priority 100; policy accept;\n"
      "  }\n"
      "}\n"
      "%3$s"
      "table bridge %1$s {\n"
      "  set ports { type ifname; }\n"
      "  set src { type ifname . ipv4_addr; }\n"
      "  map grp { type ipv4_addr : mark; }\n"
      "  set allow { type ipv4_addr . mark; }\n"
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    iifname != @ports accept\n"
      "    ether type arp accept\n"
      "    iifname . ip saddr != @src drop\n"
      "    meta mark set ip saddr map @grp\n"
      "    ip daddr . meta mark @allow accept\n"
      "    drop\n"
      "  }\n"
      "}\n",
      t, n->name, rules);
  return nft_run (cmds, "create the tables of the network", err);
}

int
berth_net_nft_set_nat (const struct berth_net_info *n, berth_error_t *err)
{
  cleanup_free char *t = berth_net_table (n->name);
  cleanup_free char *rules = nat_rules (n, t);

  return nft_run (rules, n->nat ? "turn NAT on" : "turn NAT off", err);
}

int
berth_net_nft_delete (const char *name, berth_error_t *err)
{
  cleanup_free char *t = berth_net_table (name);
  cleanup_free char *cmds = xasprintf ("add table inet %1$s\ndelete table inet %1$s\n"
                                       "add table bridge %1$s\ndelete table bridge %1$s\n",
                                       t);
  return nft_run (cmds, "delete the tables of the network", err);
}

/* ---- ip_forward.  */

static int
read_forward (const char *sysctl, char *v, berth_error_t *err)
{
  cleanup_free char *data = NULL;
  if (berth_read_file (sysctl, &data, NULL, err) < 0)
    return -1;
  *v = data[0] == '1' ? '1' : '0';
  return 0;
}

static int
write_forward (const char *sysctl, char v, berth_error_t *err)
{
  cleanup_close int fd = open (sysctl, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, &v, 1) != 1)
    return berth_make_error_op (err, errno, "sysctl", "write %c to %s", v, sysctl);
  return 0;
}

int
berth_net_forward_hold_at (const char *run_dir, const char *sysctl, const char *name, berth_error_t *err)
{
  cleanup_free char *dir = xasprintf ("%s/forward", run_dir);
  cleanup_free char *mark = xasprintf ("%s/forward/%s", run_dir, name);
  cleanup_free char *orig = xasprintf ("%s/ip_forward.orig", run_dir);
  cleanup_close int fd = -1;
  char v;

  if (berth_mkdir_p (dir, 0700, err) < 0)
    return -1;
  /* The first holder remembers the value to put back.  */
  if (access (orig, F_OK) < 0)
    {
      if (read_forward (sysctl, &v, err) < 0 || berth_write_file_replace (orig, &v, 1, 0600, err) < 0)
        return -1;
    }
  fd = open (mark, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "create %s", mark);
  return write_forward (sysctl, '1', err);
}

int
berth_net_forward_release_at (const char *run_dir, const char *sysctl, const char *name, berth_error_t *err)
{
  cleanup_free char *dir = xasprintf ("%s/forward", run_dir);
  cleanup_free char *mark = xasprintf ("%s/forward/%s", run_dir, name);
  cleanup_free char *orig_path = xasprintf ("%s/ip_forward.orig", run_dir);
  cleanup_free char *orig = NULL;
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (unlink (mark) < 0 && errno != ENOENT)
    return berth_make_error_op (err, errno, "unlink", "unlink %s", mark);
  d = opendir (dir);
  while (d && (de = readdir (d)))
    if (de->d_name[0] != '.')
      return 0; /* another NAT network still needs it */
  if (access (orig_path, F_OK) < 0)
    return 0;
  if (berth_read_file (orig_path, &orig, NULL, err) < 0 || write_forward (sysctl, orig[0] == '1' ? '1' : '0', err) < 0)
    return -1;
  if (unlink (orig_path) < 0)
    return berth_make_error_op (err, errno, "unlink", "unlink %s", orig_path);
  return 0;
}

int
berth_net_forward_hold (const char *name, berth_error_t *err)
{
  return berth_net_forward_hold_at (NET_RUN_DIR, "/proc/sys/net/ipv4/ip_forward", name, err);
}

int
berth_net_forward_release (const char *name, berth_error_t *err)
{
  return berth_net_forward_release_at (NET_RUN_DIR, "/proc/sys/net/ipv4/ip_forward", name, err);
}

int
berth_net_host_lock (berth_error_t *err)
{
  int fd;

  if (berth_mkdir_p (NET_RUN_DIR, 0700, err) < 0)
    return -1;
  fd = open (NET_RUN_DIR "/lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open " NET_RUN_DIR "/lock");
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return berth_make_error_op (err, e, "flock", "lock " NET_RUN_DIR "/lock");
      }
  return fd;
}
