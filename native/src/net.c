/*
 * Berth runtime: networks, leases and container attachment.  See net.h.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <net/if.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "main.h"
#include "net.h"
#include "netlink.h"
#include "utils.h"

/* ---- small files of key=value lines.  */

static char *
kv_get (const char *text, const char *key)
{
  size_t klen = strlen (key);
  const char *p = text;

  while (p && *p)
    {
      const char *eol = strchr (p, '\n');
      if (strncmp (p, key, klen) == 0 && p[klen] == '=')
        return strndup (p + klen + 1, eol ? (size_t) (eol - p - klen - 1) : strlen (p + klen + 1));
      p = eol ? eol + 1 : NULL;
    }
  return NULL;
}

static void
addr_str (uint32_t a, char *buf, size_t size)
{
  snprintf (buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int
addr_parse (const char *s, uint32_t *a)
{
  struct in_addr in;
  if (s == NULL || inet_pton (AF_INET, s, &in) != 1)
    return -1;
  *a = ntohl (in.s_addr);
  return 0;
}

static char *
net_dir (const char *root, const char *name)
{
  return xasprintf ("%s/.network/%s", root, name);
}

/* Read <root>/.network/<name>/network.conf.  */
static int
load_network (const char *root, const char *name, struct berth_net_info *n, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/.network/%s/network.conf", root, name);
  cleanup_free char *text = NULL, *subnet = NULL, *nat = NULL;

  memset (n, 0, sizeof (*n));
  if (berth_read_file (path, &text, NULL, err) < 0)
    {
      if ((*err)->status == ENOENT)
        return berth_make_error_op (err, ENOENT, "network",
                                    "network `%s` does not exist in %s: create it with `berth-runtime network create %s`",
                                    name, root, name);
      return -1;
    }
  subnet = kv_get (text, "subnet");
  nat = kv_get (text, "nat");
  if (subnet == NULL || nat == NULL || berth_net_parse_cidr (subnet, &n->net, &n->prefix, err) < 0)
    {
      berth_error_release (err);
      return berth_make_error_op (err, 0, "network", "%s is damaged: remove the network with `berth-runtime network rm --force %s`",
                                  path, name);
    }
  n->name = xstrdup (name);
  n->nat = strcmp (nat, "true") == 0;
  return 0;
}

static void
free_info (struct berth_net_info *n)
{
  free (n->name);
  n->name = NULL;
}

/* Lock a network's state: a locked fd (to close), or -1.  */
static int
lock_network (const char *dir, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/lock", dir);
  int fd = open (path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);

  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "open %s", path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return berth_make_error_op (err, e, "flock", "lock %s", path);
      }
  return fd;
}

static void
veth_name (uint32_t addr, char buf[16])
{
  snprintf (buf, 16, "bv%08x", addr);
}

/* ---- groups and links (callers hold the network lock).  */

/* A container without a group of its own is a group alone, numbered after its address
   (unique in the network, and above every allocated number): no file to keep.  */
#define OWN_GROUP(addr) (0x80000000u | ((addr) & 0x7fffffffu))

/* The number of a group (its nft mark), allocated on first use from the counter
   <dir>/next-group, so allocation costs the same however many groups exist; numbers start
   at 1 so that an unmarked packet (mark 0) matches no group.  */
static int
group_id (const char *dir, const char *group, uint32_t *id, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/groups/%s", dir, group);
  cleanup_free char *counter = xasprintf ("%s/next-group", dir);
  cleanup_free char *text = NULL, *next = NULL;
  berth_error_t ignored = NULL;
  char buf[16];
  int len;

  if (berth_read_file_optional (path, &text, NULL, err) < 0)
    return -1;
  if (text)
    {
      *id = (uint32_t) strtoul (text, NULL, 10);
      return 0;
    }
  *id = 1;
  if (berth_read_file (counter, &next, NULL, &ignored) == 0)
    *id = (uint32_t) strtoul (next, NULL, 10);
  berth_error_release (&ignored);
  if (*id == 0)
    *id = 1;
  len = snprintf (buf, sizeof (buf), "%u\n", *id + 1);
  if (berth_write_file_replace (counter, buf, (size_t) len, 0600, err) < 0)
    return -1;
  len = snprintf (buf, sizeof (buf), "%u\n", *id);
  return berth_write_file_replace (path, buf, (size_t) len, 0600, err);
}

static char *
link_path (const char *dir, const char *a, const char *b)
{
  return strcmp (a, b) < 0 ? xasprintf ("%s/links/%s+%s", dir, a, b) : xasprintf ("%s/links/%s+%s", dir, b, a);
}

/* The groups linked with `group`, as a NULL-terminated vector (caller frees each).  */
static char **
linked_groups (const char *dir, const char *group)
{
  cleanup_free char *ldir = xasprintf ("%s/links", dir);
  cleanup_dir DIR *d = opendir (ldir);
  struct dirent *de;
  char **v = xmalloc0 (sizeof (char *));
  size_t n = 0, glen = strlen (group);

  while (d && (de = readdir (d)))
    {
      const char *plus = strchr (de->d_name, '+');
      char *other = NULL;

      if (plus == NULL)
        continue;
      if ((size_t) (plus - de->d_name) == glen && strncmp (de->d_name, group, glen) == 0)
        other = xstrdup (plus + 1);
      else if (strcmp (plus + 1, group) == 0)
        other = strndup (de->d_name, (size_t) (plus - de->d_name));
      if (other == NULL)
        continue;
      v = xrealloc (v, (n + 2) * sizeof (char *));
      v[n++] = other;
      v[n] = NULL;
    }
  return v;
}

static void
free_strv (char **v)
{
  size_t i;
  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

/* ---- nft elements of one container.  */

struct elems
{
  struct berth_nft_elem v[64];
  size_t n;
};

static void
elem_add (struct elems *e, enum berth_nft_op op, int family, const char *set, const void *key, size_t key_len,
          const void *data, size_t data_len)
{
  struct berth_nft_elem *x;
  if (e->n == BERTH_ARRAY_SIZE (e->v))
    return;
  x = &e->v[e->n++];
  memset (x, 0, sizeof (*x));
  x->op = op;
  x->family = family;
  x->set = set;
  memcpy (x->key, key, key_len);
  x->key_len = key_len;
  if (data_len)
    memcpy (x->data, data, data_len);
  x->data_len = data_len;
}

/* allow: (address . group) — packets from `group` may reach `addr`.  */
static void
elem_allow (struct elems *e, enum berth_nft_op op, uint32_t addr, uint32_t gid)
{
  uint8_t key[8];
  uint32_t a = htonl (addr);
  memcpy (key, &a, 4);
  memcpy (key + 4, &gid, 4); /* marks are in host byte order */
  elem_add (e, op, NFPROTO_BRIDGE, "allow", key, 8, NULL, 0);
}

static void
elem_group (struct elems *e, enum berth_nft_op op, uint32_t addr, uint32_t gid)
{
  uint32_t a = htonl (addr);
  elem_add (e, op, NFPROTO_BRIDGE, "grp", &a, 4, &gid, 4);
}

static void
elem_publish (struct elems *e, enum berth_nft_op op, uint32_t addr, const struct berth_net_port *p)
{
  uint16_t hp = htons (p->host_port), cp = htons (p->container_port);
  uint32_t a = htonl (addr);
  uint8_t data[8] = { 0 };
  memcpy (data, &a, 4);
  memcpy (data + 4, &cp, 2);
  elem_add (e, op, NFPROTO_INET, "pub", &hp, 2, data, 8);
}

static int
apply_elems (const char *name, struct elems *e, berth_error_t *err)
{
  cleanup_nl struct berth_nl nl = { .fd = -1 };
  cleanup_free char *table = berth_net_table (name);

  if (e->n == 0)
    return 0;
  if (e->n == BERTH_ARRAY_SIZE (e->v))
    return berth_make_error_op (err, E2BIG, "nft", "too many set elements for one container (links and published ports)");
  if (berth_nl_open (&nl, NETLINK_NETFILTER, err) < 0)
    return -1;
  return berth_nl_nft_elems (&nl, table, e->v, e->n, err);
}

/* The elements of a container: its port, its group, and allow for its own group and
   every linked group.  */
static int
container_elems (const char *dir, struct elems *e, enum berth_nft_op op, uint32_t addr, const char *group,
                 const char *id, berth_error_t *err)
{
  char **linked = linked_groups (dir, group);
  char port[16] = { 0 };
  uint32_t gid;
  size_t i;

  veth_name (addr, port);
  elem_add (e, op, NFPROTO_BRIDGE, "ports", port, sizeof (port), NULL, 0);
  {
    uint8_t key[20];
    uint32_t a = htonl (addr);
    memcpy (key, port, 16);
    memcpy (key + 16, &a, 4);
    elem_add (e, op, NFPROTO_BRIDGE, "src", key, sizeof (key), NULL, 0);
  }

  if (strcmp (group, id) == 0)
    gid = OWN_GROUP (addr);
  else if (group_id (dir, group, &gid, err) < 0)
    {
      free_strv (linked);
      return -1;
    }
  elem_group (e, op, addr, gid);
  elem_allow (e, op, addr, gid);
  for (i = 0; linked[i]; i++)
    {
      uint32_t other;
      if (group_id (dir, linked[i], &other, err) < 0)
        {
          free_strv (linked);
          return -1;
        }
      elem_allow (e, op, addr, other);
    }
  free_strv (linked);
  return 0;
}

/* ---- leases.  */

struct lease
{
  uint32_t addr;
  char *id;
  char *group;
  char *publish; /* as given, or "" */
};

static void
free_leases (struct lease *v, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      free (v[i].id);
      free (v[i].group);
      free (v[i].publish);
    }
  free (v);
}

/* Every lease of the network in `dir` (unreadable ones are skipped).  */
static int
read_leases (const char *dir, struct lease **out, size_t *n_out, berth_error_t *err)
{
  cleanup_free char *ldir = xasprintf ("%s/leases", dir);
  cleanup_dir DIR *d = opendir (ldir);
  struct dirent *de;
  struct lease *v = NULL;
  size_t n = 0;

  if (d == NULL)
    return berth_make_error_op (err, errno, "opendir", "opendir %s", ldir);
  while ((de = readdir (d)))
    {
      cleanup_free char *p = NULL, *text = NULL;
      berth_error_t ignored = NULL;
      struct lease l = { 0 };

      if (de->d_name[0] == '.' || addr_parse (de->d_name, &l.addr) < 0)
        continue;
      p = xasprintf ("%s/%s", ldir, de->d_name);
      if (berth_read_file (p, &text, NULL, &ignored) < 0 || berth_net_lease_parse (text, &l.id, &l.group, &l.publish, &ignored) < 0)
        {
          berth_error_release (&ignored);
          continue;
        }
      v = xrealloc (v, (n + 1) * sizeof (*v));
      v[n++] = l;
    }
  *out = v;
  *n_out = n;
  return 0;
}

struct used_arg
{
  const char *ldir;
};

static bool
lease_used (uint32_t addr, void *arg)
{
  struct used_arg *u = arg;
  char a[INET_ADDRSTRLEN];
  cleanup_free char *p = NULL;

  addr_str (addr, a, sizeof (a));
  p = xasprintf ("%s/%s", u->ldir, a);
  return access (p, F_OK) == 0;
}

/* ---- creating and removing networks.  */

static bool
subnet_free (uint32_t net, int prefix, const struct berth_nl_route *routes, size_t n, const char **why)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (berth_net_overlaps (net, prefix, ntohl (routes[i].dst.s_addr), routes[i].prefix))
      {
        *why = "route";
        return false;
      }
  return true;
}

/* The host's IPv4 nameservers must stay reachable: a subnet holding one is not free.  */
static bool
holds_nameserver (uint32_t net, int prefix)
{
  cleanup_free char *text = NULL;
  berth_error_t ignored = NULL;
  const char *p;

  if (berth_read_file ("/etc/resolv.conf", &text, NULL, &ignored) < 0)
    {
      berth_error_release (&ignored);
      return false;
    }
  for (p = text; p && *p;)
    {
      char word[16], addr[64];
      uint32_t a;
      if (sscanf (p, " %15s %63s", word, addr) == 2 && strcmp (word, "nameserver") == 0 && addr_parse (addr, &a) == 0
          && berth_net_overlaps (net, prefix, a, 32))
        return true;
      p = strchr (p, '\n');
      if (p)
        p++;
    }
  return false;
}

static int
choose_subnet (const struct berth_net_options *o, uint32_t *net, int *prefix, berth_error_t *err)
{
  cleanup_nl struct berth_nl nl = { .fd = -1 };
  cleanup_free struct berth_nl_route *routes = NULL;
  size_t n = 0, i;
  const char *why = NULL;
  int k;

  if (berth_nl_open (&nl, NETLINK_ROUTE, err) < 0 || berth_nl_routes (&nl, &routes, &n, err) < 0)
    return -1;
  if (o->subnet)
    {
      if (berth_net_parse_cidr (o->subnet, net, prefix, err) < 0)
        return -1;
      for (i = 0; i < n; i++)
        if (berth_net_overlaps (*net, *prefix, ntohl (routes[i].dst.s_addr), routes[i].prefix))
          {
            char a[INET_ADDRSTRLEN], ifname[IF_NAMESIZE + 1] = "?";
            addr_str (ntohl (routes[i].dst.s_addr), a, sizeof (a));
            if (routes[i].oif)
              if_indextoname ((unsigned) routes[i].oif, ifname);
            return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                        "subnet %s collides with the host's route %s/%d (dev %s): choose another with --subnet",
                                        o->subnet, a, routes[i].prefix, ifname);
          }
      if (holds_nameserver (*net, *prefix))
        return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                    "subnet %s holds a nameserver of /etc/resolv.conf: choose another with --subnet", o->subnet);
      return 0;
    }
  /* 10.88.0.0/16 and up, then down from 10.87: the first /16 no route and no nameserver
     of the host falls in.  */
  for (k = 0; k < 255; k++)
    {
      int second = k < 168 ? 88 + k : 87 - (k - 168);
      uint32_t cand = (10u << 24) | ((uint32_t) second << 16);
      if (second < 1)
        break;
      if (subnet_free (cand, 16, routes, n, &why) && ! holds_nameserver (cand, 16))
        {
          *net = cand;
          *prefix = 16;
          return 0;
        }
    }
  return berth_make_error_op (err, 0, "network", "no free /16 in 10.0.0.0/8: every one collides with a route of the host; give --subnet");
}

static int
write_sysctl (const char *path, const char *v, berth_error_t *err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, v, strlen (v)) != (ssize_t) strlen (v))
    return berth_make_error_op (err, errno, "sysctl", "write %s to %s", v, path);
  return 0;
}

/* <dir>/network.conf, replaced atomically.  */
static int
write_conf (const char *dir, const struct berth_net_info *n, berth_error_t *err)
{
  cleanup_free char *conf = xasprintf ("%s/network.conf", dir);
  cleanup_free char *text = NULL;
  char gw[INET_ADDRSTRLEN], sn[INET_ADDRSTRLEN];

  addr_str (n->net + 1, gw, sizeof (gw));
  addr_str (n->net, sn, sizeof (sn));
  text = xasprintf ("name=%s\nsubnet=%s/%d\ngateway=%s\nnat=%s\n", n->name, sn, n->prefix, gw, n->nat ? "true" : "false");
  return berth_write_file_replace (conf, text, strlen (text), 0600, err);
}

static int
create_locked (const char *root, const char *name, const struct berth_net_options *o, berth_error_t *err)
{
  cleanup_free char *dir = net_dir (root, name);
  cleanup_free char *conf = xasprintf ("%s/network.conf", dir);
  cleanup_free char *sysctl = NULL;
  cleanup_nl struct berth_nl nl = { .fd = -1 };
  struct berth_net_info info = { .name = (char *) name, .nat = o->nat };
  const char *subs[] = { "leases", "groups", "links" };
  int index = 0;
  size_t i;
  struct in_addr gwa;

  if (access (conf, F_OK) == 0)
    return berth_make_error_op (err, EEXIST, "network", "network `%s` exists already in %s", name, root);
  if (berth_nl_open (&nl, NETLINK_ROUTE, err) < 0 || berth_nl_link_index (&nl, name, &index, err) < 0)
    return -1;
  if (index)
    return berth_make_error_op (err, EEXIST, "network",
                                "the host has a link named `%s` already (another root's network, or not Berth's): choose another name, or remove it",
                                name);
  if (choose_subnet (o, &info.net, &info.prefix, err) < 0)
    return -1;
  for (i = 0; i < BERTH_ARRAY_SIZE (subs); i++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", dir, subs[i]);
      if (berth_mkdir_p (p, 0700, err) < 0)
        return -1;
    }
  gwa.s_addr = htonl (info.net + 1);
  if (berth_nl_bridge_add (&nl, name, err) < 0)
    goto fail;
  sysctl = xasprintf ("/proc/sys/net/ipv4/conf/%s/route_localnet", name);
  if (berth_nl_link_index (&nl, name, &index, err) < 0 || berth_nl_addr_add (&nl, index, gwa, info.prefix, err) < 0
      || write_sysctl (sysctl, "1", err) < 0 || berth_nl_link_up (&nl, index, err) < 0)
    goto fail;
  if (berth_net_nft_create (&info, err) < 0)
    goto fail;
  if (o->nat && berth_net_forward_hold (name, err) < 0)
    goto fail;
  if (write_conf (dir, &info, err) < 0)
    goto fail;
  return 0;

fail:
  {
    berth_error_t ignored = NULL;
    if (berth_nl_link_del (&nl, name, true, &ignored) < 0)
      berth_error_release (&ignored);
    if (berth_net_nft_delete (name, &ignored) < 0)
      berth_error_release (&ignored);
    if (o->nat && berth_net_forward_release (name, &ignored) < 0)
      berth_error_release (&ignored);
    if (berth_remove_tree (dir, &ignored) < 0)
      berth_error_release (&ignored);
  }
  return -1;
}

int
berth_net_create (const char *root, const char *name, const struct berth_net_options *o, berth_error_t *err)
{
  cleanup_close int lock = -1;

  if (berth_net_validate_name (name, err) < 0)
    return -1;
  lock = berth_net_host_lock (err);
  if (lock < 0)
    return -1;
  if (create_locked (root, name, o, err) < 0)
    return berth_error_wrap (err, "create network `%s`", name);
  return 0;
}

/* Validate the name, take the host-wide lock and then the network's, and load it.  On
   success the caller closes both locks and frees info and dir; on failure nothing is held.  */
static int
lock_network_by_name (const char *root, const char *name, int *hlock, int *lock, struct berth_net_info *info, char **dir,
                      berth_error_t *err)
{
  if (berth_net_validate_name (name, err) < 0)
    return -1;
  *hlock = berth_net_host_lock (err);
  if (*hlock < 0)
    return -1;
  if (load_network (root, name, info, err) < 0)
    goto fail;
  *dir = net_dir (root, name);
  *lock = lock_network (*dir, err);
  if (*lock >= 0)
    return 0;
  free_info (info);
  free (*dir);
  *dir = NULL;
fail:
  close (*hlock);
  *hlock = -1;
  return -1;
}

int
berth_net_update (const char *root, const char *name, bool nat, berth_error_t *err)
{
  cleanup_close int hlock = -1, lock = -1;
  cleanup_free char *dir = NULL;
  struct berth_net_info info;
  int ret = -1;

  if (lock_network_by_name (root, name, &hlock, &lock, &info, &dir, err) < 0)
    return -1;
  if (info.nat == nat)
    {
      ret = 0;
      goto out;
    }
  info.nat = nat;
  /* ip_forward is held before the rules accept forwarded packets, and released after they
     drop them: never a moment when containers' packets leave without NAT.  */
  if (nat && berth_net_forward_hold (name, err) < 0)
    goto out;
  if (berth_net_nft_set_nat (&info, err) < 0 || write_conf (dir, &info, err) < 0)
    {
      berth_error_t ignored = NULL;
      info.nat = ! nat;
      if (berth_net_nft_set_nat (&info, &ignored) < 0)
        berth_error_release (&ignored);
      if (nat && berth_net_forward_release (name, &ignored) < 0)
        berth_error_release (&ignored);
      goto out;
    }
  if (! nat && berth_net_forward_release (name, err) < 0)
    goto out;
  ret = 0;
out:
  free_info (&info);
  if (ret < 0)
    berth_error_wrap (err, "update network `%s`", name);
  return ret;
}

/* Remove what one lease holds on the host: the veth (its peer goes with it), the nft
   elements, the lease file.  The caller holds the network lock.  */
static int
drop_lease (const char *dir, const char *name, const struct lease *l, berth_error_t *err)
{
  cleanup_nl struct berth_nl nl = { .fd = -1 };
  cleanup_free char *path = NULL;
  struct elems e = { .n = 0 };
  char a[INET_ADDRSTRLEN], veth[16];

  veth_name (l->addr, veth);
  if (berth_nl_open (&nl, NETLINK_ROUTE, err) < 0 || berth_nl_link_del (&nl, veth, true, err) < 0)
    return -1;
  if (container_elems (dir, &e, BERTH_NFT_DESTROY, l->addr, l->group, l->id, err) < 0)
    return -1;
  if (l->publish && *l->publish)
    {
      cleanup_free struct berth_net_port *ports = NULL;
      size_t n = 0, i;
      if (berth_net_parse_publish (l->publish, &ports, &n, err) < 0)
        return -1;
      for (i = 0; i < n; i++)
        elem_publish (&e, BERTH_NFT_DESTROY, l->addr, &ports[i]);
    }
  if (apply_elems (name, &e, err) < 0)
    {
      /* The tables are gone (removed by hand): nothing of the lease is left in them.  */
      if ((*err)->status != ENOENT)
        return -1;
      berth_error_release (err);
    }
  addr_str (l->addr, a, sizeof (a));
  path = xasprintf ("%s/leases/%s", dir, a);
  if (unlink (path) < 0 && errno != ENOENT)
    return berth_make_error_op (err, errno, "unlink", "unlink %s", path);
  return 0;
}

int
berth_net_remove (const char *root, const char *name, bool force, berth_error_t *err)
{
  cleanup_close int hlock = -1, lock = -1;
  cleanup_free char *dir = NULL;
  cleanup_nl struct berth_nl nl = { .fd = -1 };
  struct berth_net_info info;
  struct lease *leases = NULL;
  size_t n = 0, i;
  int ret = -1;

  if (lock_network_by_name (root, name, &hlock, &lock, &info, &dir, err) < 0)
    return -1;
  if (read_leases (dir, &leases, &n, err) < 0)
    goto out;
  if (n && ! force)
    {
      berth_make_error_op (err, EBUSY, "network",
                           "network `%s` has %zu address(es) leased (container `%s`...): delete its containers first, or use --force",
                           name, n, leases[0].id);
      goto out;
    }
  for (i = 0; i < n; i++)
    {
      berth_error_t ignored = NULL;
      if (drop_lease (dir, name, &leases[i], &ignored) < 0)
        berth_error_release (&ignored);
    }
  if (berth_net_nft_delete (name, err) < 0 || berth_nl_open (&nl, NETLINK_ROUTE, err) < 0
      || berth_nl_link_del (&nl, name, true, err) < 0)
    goto out;
  if (info.nat && berth_net_forward_release (name, err) < 0)
    goto out;
  ret = berth_remove_tree (dir, err);
out:
  free_leases (leases, n);
  free_info (&info);
  if (ret < 0)
    berth_error_wrap (err, "remove network `%s`", name);
  return ret;
}

/* Names of the networks under root (caller frees).  */
static char **
network_names (const char *root)
{
  cleanup_free char *base = xasprintf ("%s/.network", root);
  cleanup_dir DIR *d = opendir (base);
  struct dirent *de;
  char **v = xmalloc0 (sizeof (char *));
  size_t n = 0;

  while (d && (de = readdir (d)))
    {
      cleanup_free char *conf = NULL;
      if (de->d_name[0] == '.')
        continue;
      conf = xasprintf ("%s/%s/network.conf", base, de->d_name);
      if (access (conf, F_OK) < 0)
        continue;
      v = xrealloc (v, (n + 2) * sizeof (char *));
      v[n++] = xstrdup (de->d_name);
      v[n] = NULL;
    }
  return v;
}

/* One network as a table row or a JSON object (with its leases when asked).  */
static void
print_network (const char *root, const char *name, bool json, bool with_leases, bool first)
{
  struct berth_net_info info;
  berth_error_t e = NULL;
  cleanup_free char *dir = net_dir (root, name);
  cleanup_free char *table = berth_net_table (name);
  struct lease *leases = NULL;
  size_t n = 0, i;
  char sn[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];

  if (load_network (root, name, &info, &e) < 0)
    {
      berth_error_release (&e);
      return;
    }
  if (read_leases (dir, &leases, &n, &e) < 0)
    berth_error_release (&e);
  addr_str (info.net, sn, sizeof (sn));
  addr_str (info.net + 1, gw, sizeof (gw));
  if (! json)
    {
      cleanup_free char *subnet = xasprintf ("%s/%d", sn, info.prefix);
      printf ("%-16s %-18s %-16s %-4s %zu\n", name, subnet, gw, info.nat ? "on" : "off", n);
    }
  else
    {
      printf ("%s{\"name\":\"%s\",\"bridge\":\"%s\",\"subnet\":\"%s/%d\",\"gateway\":\"%s\",\"nat\":%s,"
              "\"table\":\"%s\",\"leases\":%zu",
              first ? "" : ",", name, name, sn, info.prefix, gw, info.nat ? "true" : "false", table, n);
      if (with_leases)
        {
          cleanup_free char *ldir = xasprintf ("%s/links", dir);
          cleanup_dir DIR *d = opendir (ldir);
          struct dirent *de;
          bool f = true;

          printf (",\"containers\":[");
          for (i = 0; i < n; i++)
            {
              char a[INET_ADDRSTRLEN], veth[16];
              addr_str (leases[i].addr, a, sizeof (a));
              veth_name (leases[i].addr, veth);
              printf ("%s{\"id\":\"%s\",\"address\":\"%s\",\"group\":\"%s\",\"veth\":\"%s\",\"publish\":\"%s\"}",
                      i ? "," : "", leases[i].id, a, leases[i].group, veth, leases[i].publish);
            }
          printf ("],\"links\":[");
          while (d && (de = readdir (d)))
            {
              const char *plus = strchr (de->d_name, '+');
              if (plus == NULL)
                continue;
              printf ("%s[\"%.*s\",\"%s\"]", f ? "" : ",", (int) (plus - de->d_name), de->d_name, plus + 1);
              f = false;
            }
          printf ("]");
        }
      printf ("}");
    }
  free_leases (leases, n);
  free_info (&info);
}

int
berth_net_list (const char *root, bool json, berth_error_t *err)
{
  char **names = network_names (root);
  size_t i;

  (void) err;
  if (json)
    printf ("[");
  else
    printf ("%-16s %-18s %-16s %-4s %s\n", "NAME", "SUBNET", "GATEWAY", "NAT", "LEASES");
  for (i = 0; names[i]; i++)
    print_network (root, names[i], json, false, i == 0);
  if (json)
    printf ("]\n");
  free_strv (names);
  return 0;
}

int
berth_net_inspect (const char *root, const char *name, berth_error_t *err)
{
  struct berth_net_info info;

  if (berth_net_validate_name (name, err) < 0 || load_network (root, name, &info, err) < 0)
    return -1;
  free_info (&info);
  print_network (root, name, true, true, true);
  printf ("\n");
  return 0;
}

int
berth_net_gc (const char *root, bool quiet, berth_error_t *err)
{
  char **names = network_names (root);
  size_t i, j;
  int ret = 0;

  for (i = 0; names[i] && ret == 0; i++)
    {
      cleanup_free char *dir = net_dir (root, names[i]);
      cleanup_close int lock = lock_network (dir, err);
      struct lease *leases = NULL;
      size_t n = 0;

      if (lock < 0 || read_leases (dir, &leases, &n, err) < 0)
        {
          ret = -1;
          break;
        }
      for (j = 0; j < n; j++)
        {
          cleanup_free char *state = xasprintf ("%s/%s", root, leases[j].id);
          char a[INET_ADDRSTRLEN];
          if (access (state, F_OK) == 0)
            continue;
          if (drop_lease (dir, names[i], &leases[j], err) < 0)
            {
              ret = -1;
              break;
            }
          addr_str (leases[j].addr, a, sizeof (a));
          if (! quiet)
            printf ("reclaimed %s from container %s (network %s)\n", a, leases[j].id, names[i]);
        }
      free_leases (leases, n);
    }
  free_strv (names);
  return ret;
}

int
berth_net_link (const char *root, const char *name, const char *a, const char *b, bool linked, berth_error_t *err)
{
  cleanup_free char *dir = NULL, *path = NULL;
  cleanup_close int lock = -1;
  struct berth_net_info info;
  struct lease *leases = NULL;
  struct elems e = { .n = 0 };
  uint32_t ga, gb;
  size_t n = 0, i;
  int ret = -1;

  if (berth_net_validate_name (name, err) < 0 || berth_net_validate_group (a, err) < 0
      || berth_net_validate_group (b, err) < 0)
    return -1;
  if (strcmp (a, b) == 0)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "`%s` and `%s` are the same group: its containers reach each other already", a, b);
  if (load_network (root, name, &info, err) < 0)
    return -1;
  dir = net_dir (root, name);
  path = link_path (dir, a, b);
  lock = lock_network (dir, err);
  if (lock < 0 || group_id (dir, a, &ga, err) < 0 || group_id (dir, b, &gb, err) < 0
      || read_leases (dir, &leases, &n, err) < 0)
    goto out;
  for (i = 0; i < n; i++)
    {
      enum berth_nft_op op = linked ? BERTH_NFT_ADD : BERTH_NFT_DESTROY;
      if (strcmp (leases[i].group, a) == 0)
        elem_allow (&e, op, leases[i].addr, gb);
      else if (strcmp (leases[i].group, b) == 0)
        elem_allow (&e, op, leases[i].addr, ga);
      if (e.n == BERTH_ARRAY_SIZE (e.v) - 1)
        {
          if (apply_elems (name, &e, err) < 0)
            goto out;
          e.n = 0;
        }
    }
  if (linked)
    {
      cleanup_close int fd = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          berth_make_error_op (err, errno, "open", "create %s", path);
          goto out;
        }
    }
  else if (unlink (path) < 0 && errno != ENOENT)
    {
      berth_make_error_op (err, errno, "unlink", "unlink %s", path);
      goto out;
    }
  ret = apply_elems (name, &e, err);
out:
  free_leases (leases, n);
  free_info (&info);
  return ret;
}

/* ---- containers.  */

/* What <state_dir>/network records.  */
struct attachment
{
  char *root;
  char *network;
  uint32_t addr;
  char *group;
  char *publish;
};

static void
free_attachment (struct attachment *a)
{
  free (a->root);
  free (a->network);
  free (a->group);
  free (a->publish);
}

/* 0 and *found false when the container has no network.  */
static int
load_attachment (const char *state_dir, struct attachment *a, bool *found, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/network", state_dir);
  cleanup_free char *text = NULL, *addr = NULL;

  memset (a, 0, sizeof (*a));
  *found = false;
  if (berth_read_file_optional (path, &text, NULL, err) < 0)
    return -1;
  if (text == NULL)
    return 0;
  a->root = kv_get (text, "root");
  a->network = kv_get (text, "network");
  a->group = kv_get (text, "group");
  a->publish = kv_get (text, "publish");
  addr = kv_get (text, "address");
  if (! a->root || ! a->network || ! a->group || ! a->publish || addr_parse (addr, &a->addr) < 0)
    {
      free_attachment (a);
      return berth_make_error_op (err, 0, "network", "%s is damaged", path);
    }
  *found = true;
  return 0;
}

/* Nothing else listens on 127.0.0.1:port (a published port would steal its traffic).  */
static int
port_free (uint16_t port, berth_error_t *err)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  cleanup_close int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return berth_make_error_op (err, errno, "socket", "socket to check port %u", port);
  if (bind (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    return berth_make_error_op (err, errno, "publish", "publish 127.0.0.1:%u: the port is in use on the host", port);
  return 0;
}

static int
add_bind_mount (struct berth_config *c, const char *source, const char *destination)
{
  struct berth_mount *m;

  c->mounts = xrealloc (c->mounts, (c->n_mounts + 1) * sizeof (*c->mounts));
  m = &c->mounts[c->n_mounts++];
  memset (m, 0, sizeof (*m));
  m->destination = xstrdup (destination);
  m->type = xstrdup ("bind");
  m->source = xstrdup (source);
  m->options = xmalloc0 (2 * sizeof (char *));
  m->options[0] = xstrdup ("bind");
  m->flags = MS_BIND;
  return 0;
}

/* Lease an address for `id` (under the network lock): the first free one from the hint
   on, so addresses are not reused at once.  */
static int
lease_address (const char *dir, const char *id, const char *group, const char *publish, struct berth_net_info *info,
               uint32_t *addr, berth_error_t *err)
{
  cleanup_close int lock = lock_network (dir, err);
  cleanup_free char *ldir = xasprintf ("%s/leases", dir);
  cleanup_free char *hint_path = xasprintf ("%s/next", dir);
  cleanup_free char *hint_text = NULL;
  cleanup_free char *path = NULL, *text = NULL;
  struct used_arg u = { .ldir = ldir };
  berth_error_t ignored = NULL;
  uint32_t hint = 0, gid;
  char a[INET_ADDRSTRLEN];
  cleanup_close int fd = -1;
  int len;
  char buf[16];

  if (lock < 0)
    return -1;
  if (berth_read_file (hint_path, &hint_text, NULL, &ignored) == 0)
    addr_parse (hint_text, &hint);
  berth_error_release (&ignored);
  if (berth_net_pick_address (info->net, info->prefix, hint, lease_used, &u, addr, err) < 0)
    return -1;
  if (strcmp (group, id) != 0 && group_id (dir, group, &gid, err) < 0)
    return -1;
  addr_str (*addr, a, sizeof (a));
  path = xasprintf ("%s/%s", ldir, a);
  text = xasprintf ("%s\n%s\n%s\n", id, group, publish);
  fd = open (path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "create lease %s", path);
  if (berth_write_all (fd, text, strlen (text)) < 0)
    {
      int e = errno;
      unlink (path);
      return berth_make_error_op (err, e, "write", "write lease %s", path);
    }
  /* The hint is only read under the lock: overwritten in place.  */
  addr_str (*addr + 1, buf, sizeof (buf));
  len = (int) strlen (buf);
  {
    cleanup_close int hfd = open (hint_path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    if (hfd < 0 || berth_write_all (hfd, buf, (size_t) len) < 0)
      {
        int e = errno;
        unlink (path);
        return berth_make_error_op (err, e, "write", "write %s", hint_path);
      }
  }
  return 0;
}

/* A new file in the container's new state directory: nothing to replace, no rename.  */
static int
write_state_file (const char *dir, const char *name, const char *text, berth_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  cleanup_close int fd = open (path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

  if (fd < 0)
    return berth_make_error_op (err, errno, "open", "create %s", path);
  if (berth_write_all (fd, text, strlen (text)) < 0)
    return berth_make_error_op (err, errno, "write", "write %s", path);
  return 0;
}

int
berth_net_prepare (const char *root, const char *id, const char *state_dir, struct berth_config *c,
                   berth_error_t *err)
{
  const char *name = berth_config_annotation (c, BERTH_ANNOTATION_NETWORK);
  const char *group = berth_config_annotation (c, BERTH_ANNOTATION_NETWORK_GROUP);
  const char *publish = berth_config_annotation (c, BERTH_ANNOTATION_NETWORK_PUBLISH);
  const struct berth_namespace *netns = berth_config_namespace (c, CLONE_NEWNET);
  cleanup_free struct berth_net_port *ports = NULL;
  cleanup_free char *dir = NULL, *hosts = NULL, *resolv = NULL, *host_resolv = NULL, *upstream = NULL;
  cleanup_free char *record = NULL, *hostname = NULL, *abs_root = NULL;
  struct berth_net_info info = { 0 };
  berth_error_t ignored = NULL;
  size_t n_ports = 0, i;
  uint32_t addr;
  char a[INET_ADDRSTRLEN], rp[PATH_MAX];

  if (name == NULL)
    return 0;
  if (netns == NULL || netns->path)
    return berth_make_error_op (err, 0, "network", "annotation %s asks for network `%s`: linux.namespaces needs a new network namespace",
                                BERTH_ANNOTATION_NETWORK, name);
  if (group == NULL)
    group = id;
  if (berth_net_validate_name (name, err) < 0 || berth_net_validate_group (group, err) < 0)
    return berth_error_wrap (err, "annotations %s", BERTH_ANNOTATION_NETWORK);
  if (publish && berth_net_parse_publish (publish, &ports, &n_ports, err) < 0)
    return berth_error_wrap (err, "annotation %s", BERTH_ANNOTATION_NETWORK_PUBLISH);
  for (i = 0; i < n_ports; i++)
    if (port_free (ports[i].host_port, err) < 0)
      return -1;
  abs_root = xstrdup (realpath (root, rp) ? rp : root);
  if (load_network (abs_root, name, &info, err) < 0)
    {
      /* Created on demand, with the defaults (NAT on, the first free /16).  */
      struct berth_net_options o = { .subnet = NULL, .nat = true };
      if ((*err)->status != ENOENT)
        return -1;
      berth_error_release (err);
      if (berth_net_create (abs_root, name, &o, err) < 0 && (*err)->status != EEXIST)
        return -1;
      berth_error_release (err);
      if (load_network (abs_root, name, &info, err) < 0)
        return -1;
    }
  dir = net_dir (abs_root, name);
  if (lease_address (dir, id, group, publish ? publish : "", &info, &addr, err) < 0)
    {
      free_info (&info);
      return berth_error_wrap (err, "network `%s`", name);
    }
  free_info (&info);
  addr_str (addr, a, sizeof (a));
  record = xasprintf ("root=%s\nnetwork=%s\naddress=%s\ngroup=%s\npublish=%s\n", abs_root, name, a, group,
                      publish ? publish : "");
  hostname = xstrdup (c->hostname ? c->hostname : id);
  hosts = berth_net_hosts (hostname, addr);
  if (berth_read_file ("/etc/resolv.conf", &host_resolv, NULL, &ignored) < 0)
    berth_error_release (&ignored);
  if (berth_read_file ("/run/systemd/resolve/resolv.conf", &upstream, NULL, &ignored) < 0)
    berth_error_release (&ignored);
  resolv = berth_net_resolv_conf (host_resolv, upstream);
  {
    cleanup_free char *hn = xasprintf ("%s\n", hostname);
    cleanup_free char *hosts_path = xasprintf ("%s/hosts", state_dir);
    cleanup_free char *resolv_path = xasprintf ("%s/resolv.conf", state_dir);
    cleanup_free char *hostname_path = xasprintf ("%s/hostname", state_dir);
    if (write_state_file (state_dir, "network", record, err) < 0)
      {
        /* Without the record, release cannot find the lease: drop it here.  */
        cleanup_free char *lease = xasprintf ("%s/leases/%s", dir, a);
        unlink (lease);
        return -1;
      }
    if (write_state_file (state_dir, "hosts", hosts, err) < 0
        || write_state_file (state_dir, "resolv.conf", resolv, err) < 0
        || write_state_file (state_dir, "hostname", hn, err) < 0)
      {
        berth_error_t e2 = NULL;
        if (berth_net_release (state_dir, &e2) < 0)
          berth_error_release (&e2);
        return -1;
      }
    add_bind_mount (c, hosts_path, "/etc/hosts");
    add_bind_mount (c, resolv_path, "/etc/resolv.conf");
    add_bind_mount (c, hostname_path, "/etc/hostname");
  }
  return 0;
}

int
berth_net_attach (const char *state_dir, pid_t pid, berth_error_t *err)
{
  cleanup_nl struct berth_nl host = { .fd = -1 };
  cleanup_nl struct berth_nl inner = { .fd = -1 };
  cleanup_free char *ns_path = NULL, *dir = NULL;
  cleanup_close int ns = -1, lock = -1;
  cleanup_free struct berth_net_port *ports = NULL;
  struct berth_net_info info = { 0 };
  struct attachment at;
  struct elems e = { .n = 0 };
  struct in_addr addr, gw;
  size_t n_ports = 0, i;
  char veth[16];
  int bridge = 0, eth0 = 0, veth_index = 0, ret = -1;
  bool found;

  const char *id = strrchr (state_dir, '/') ? strrchr (state_dir, '/') + 1 : state_dir;

  if (load_attachment (state_dir, &at, &found, err) < 0)
    return -1;
  if (! found)
    return 0;
  if (load_network (at.root, at.network, &info, err) < 0)
    goto out;
  dir = net_dir (at.root, at.network);
  veth_name (at.addr, veth);
  addr.s_addr = htonl (at.addr);
  gw.s_addr = htonl (info.net + 1);
  ns_path = xasprintf ("/proc/%d/ns/net", (int) pid);
  ns = open (ns_path, O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    {
      berth_make_error_op (err, errno, "open", "open %s", ns_path);
      goto out;
    }
  if (berth_nl_open (&host, NETLINK_ROUTE, err) < 0)
    goto out;
  bridge = (int) if_nametoindex (at.network); /* an ioctl: cheaper than a GETLINK and its stats */
  if (bridge == 0)
    {
      berth_make_error_op (err, ENODEV, "network",
                           "the bridge `%s` of network `%s` is gone: remove the network (network rm --force) and create it again",
                           at.network, at.network);
      goto out;
    }
  if (berth_nl_veth_add (&host, veth, bridge, "eth0", ns, err) < 0)
    goto out;
  veth_index = (int) if_nametoindex (veth);
  if (veth_index == 0)
    {
      berth_make_error_op (err, errno, "if_nametoindex", "find veth %s", veth);
      goto fail_veth;
    }
  if (berth_nl_link_no_ipv6_ll (&host, veth_index, err) < 0 || berth_nl_link_up (&host, veth_index, err) < 0)
    goto fail_veth;
  if (berth_nl_open_in (&inner, NETLINK_ROUTE, ns, err) < 0 || berth_nl_link_index (&inner, "eth0", &eth0, err) < 0
      || berth_nl_link_no_ipv6_ll (&inner, eth0, err) < 0
      || berth_nl_link_up (&inner, eth0, err) < 0 || berth_nl_addr_add (&inner, eth0, addr, info.prefix, err) < 0
      || berth_nl_route_default (&inner, eth0, gw, err) < 0)
    goto fail_veth;
  if (*at.publish && berth_net_parse_publish (at.publish, &ports, &n_ports, err) < 0)
    goto fail_veth;
  for (i = 0; i < n_ports; i++)
    elem_publish (&e, BERTH_NFT_ADD, at.addr, &ports[i]);
  /* Under the lock, so a link or unlink in between cannot be missed.  */
  lock = lock_network (dir, err);
  if (lock < 0 || container_elems (dir, &e, BERTH_NFT_ADD, at.addr, at.group, id, err) < 0
      || apply_elems (at.network, &e, err) < 0)
    goto fail_veth;
  ret = 0;
  goto out;

fail_veth:
  {
    berth_error_t ignored = NULL;
    if (berth_nl_link_del (&host, veth, true, &ignored) < 0)
      berth_error_release (&ignored);
  }
out:
  if (ret < 0)
    berth_error_wrap (err, "attach to network `%s`", at.network);
  free_info (&info);
  free_attachment (&at);
  return ret;
}

int
berth_net_release (const char *state_dir, berth_error_t *err)
{
  cleanup_free char *dir = NULL, *lease_path = NULL, *text = NULL, *conf = NULL;
  cleanup_close int lock = -1;
  struct attachment at;
  struct lease l = { 0 };
  char a[INET_ADDRSTRLEN];
  bool found;
  int ret = -1;

  if (load_attachment (state_dir, &at, &found, err) < 0)
    return -1;
  if (! found)
    return 0;
  dir = net_dir (at.root, at.network);
  conf = xasprintf ("%s/network.conf", dir);
  if (access (conf, F_OK) < 0)
    {
      ret = 0; /* the network was removed (with --force): nothing of ours is left in it */
      goto out;
    }
  lock = lock_network (dir, err);
  if (lock < 0)
    goto out;
  addr_str (at.addr, a, sizeof (a));
  lease_path = xasprintf ("%s/leases/%s", dir, a);
  if (berth_read_file_optional (lease_path, &text, NULL, err) < 0)
    goto out;
  if (text == NULL)
    {
      ret = 0; /* reclaimed already (gc) */
      goto out;
    }
  if (berth_net_lease_parse (text, &l.id, &l.group, &l.publish, err) < 0)
    goto out;
  {
    cleanup_free char *id = xstrdup (state_dir);
    const char *base = strrchr (id, '/');
    if (strcmp (base ? base + 1 : id, l.id) != 0)
      {
        ret = 0; /* the address went to another container since */
        goto out;
      }
  }
  l.addr = at.addr;
  ret = drop_lease (dir, at.network, &l, err);
out:
  if (ret == 0)
    {
      cleanup_free char *rec = xasprintf ("%s/network", state_dir);
      if (unlink (rec) < 0 && errno != ENOENT)
        ret = berth_make_error_op (err, errno, "unlink", "unlink %s", rec);
    }
  else
    berth_error_wrap (err, "detach from network `%s`", at.network);
  free (l.id);
  free (l.group);
  free (l.publish);
  free_attachment (&at);
  return ret;
}
