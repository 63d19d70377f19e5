/*
 * Berth runtime: rtnetlink and nfnetlink requests.  See netlink.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netlink.h"
#include "utils.h"

#ifndef NFT_MSG_DESTROYSETELEM
#define NFT_MSG_DESTROYSETELEM 30 /* Linux 6.3 */
#endif

#define NL_BUF 8192

/* A message under construction in a caller's buffer.  */
struct msg
{
  char *buf;
  size_t cap;
  struct nlmsghdr *h;
};

static void *
msg_start (struct msg *m, char *buf, size_t cap, int type, int flags, const void *hdr, size_t hdr_len)
{
  memset (buf, 0, cap);
  m->buf = buf;
  m->cap = cap;
  m->h = (struct nlmsghdr *) buf;
  m->h->nlmsg_len = NLMSG_LENGTH (hdr_len);
  m->h->nlmsg_type = (uint16_t) type;
  m->h->nlmsg_flags = (uint16_t) (NLM_F_REQUEST | flags);
  if (hdr_len)
    memcpy (NLMSG_DATA (m->h), hdr, hdr_len);
  return NLMSG_DATA (m->h);
}

/* Append to the message that starts at m->h (which may follow others in the buffer).  */
static struct nlattr *
attr_put (struct msg *m, int type, const void *data, size_t len)
{
  size_t at = (size_t) ((char *) m->h - m->buf) + NLMSG_ALIGN (m->h->nlmsg_len);
  struct nlattr *a = (struct nlattr *) (m->buf + at);

  if (at + NLA_ALIGN (NLA_HDRLEN + len) > m->cap)
    abort (); /* the buffers are sized for the largest request: a bug, not an input */
  a->nla_type = (uint16_t) type;
  a->nla_len = (uint16_t) (NLA_HDRLEN + len);
  if (len)
    memcpy ((char *) a + NLA_HDRLEN, data, len);
  m->h->nlmsg_len = (uint32_t) (NLMSG_ALIGN (m->h->nlmsg_len) + NLA_ALIGN (a->nla_len));
  return a;
}

static void
attr_str (struct msg *m, int type, const char *s)
{
  attr_put (m, type, s, strlen (s) + 1);
}

static void
attr_u32 (struct msg *m, int type, uint32_t v)
{
  attr_put (m, type, &v, sizeof (v));
}

static struct nlattr *
nest_start (struct msg *m, int type)
{
  struct nlattr *a = attr_put (m, type | NLA_F_NESTED, NULL, 0);
  return a;
}

static void
nest_end (struct msg *m, struct nlattr *a)
{
  a->nla_len = (uint16_t) ((char *) m->h + m->h->nlmsg_len - (char *) a);
}

/* Raw bytes inside the message (the ifinfomsg of a veth peer).  */
static void
raw_put (struct msg *m, const void *data, size_t len)
{
  size_t at = (size_t) ((char *) m->h - m->buf) + NLMSG_ALIGN (m->h->nlmsg_len);
  if (at + NLMSG_ALIGN (len) > m->cap)
    abort ();
  memcpy (m->buf + at, data, len);
  m->h->nlmsg_len = (uint32_t) (NLMSG_ALIGN (m->h->nlmsg_len) + NLMSG_ALIGN (len));
}

/* ---- sockets.  */

int
berth_nl_open (struct berth_nl *nl, int protocol, berth_error_t *err)
{
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  struct timeval tv = { .tv_sec = 5 };
  int one = 1;

  nl->protocol = protocol;
  nl->seq = (uint32_t) getpid () << 8;
  nl->fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (nl->fd < 0)
    return berth_make_error_op (err, errno, "socket", "open a netlink socket (protocol %d)", protocol);
  /* Bounded: a kernel that never answers fails the request instead of hanging create.  */
  if (setsockopt (nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv)) < 0
      || setsockopt (nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof (one)) < 0
      || bind (nl->fd, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    {
      int e = errno;
      close (nl->fd);
      nl->fd = -1;
      return berth_make_error_op (err, e, "socket", "set up a netlink socket");
    }
  return 0;
}

int
berth_nl_open_in (struct berth_nl *nl, int protocol, int netns_fd, berth_error_t *err)
{
  cleanup_close int ours = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int ret;

  if (ours < 0)
    return berth_make_error_op (err, errno, "open", "open /proc/self/ns/net");
  if (setns (netns_fd, CLONE_NEWNET) < 0)
    return berth_make_error_op (err, errno, "setns", "enter the container's network namespace");
  ret = berth_nl_open (nl, protocol, err);
  if (setns (ours, CLONE_NEWNET) < 0)
    {
      /* Never go on in the wrong namespace.  */
      berth_nl_close (nl);
      return berth_make_error_op (err, errno, "setns", "return to the runtime's network namespace");
    }
  return ret;
}

void
berth_nl_close (struct berth_nl *nl)
{
  if (nl->fd >= 0)
    close (nl->fd);
  nl->fd = -1;
}

/* The text of an extended ack (NLMSGERR_ATTR_MSG), if the kernel sent one.  */
static const char *
ext_ack_msg (const struct nlmsghdr *h)
{
  const struct nlmsgerr *e = NLMSG_DATA (h);
  size_t off;
  const char *end = (const char *) h + h->nlmsg_len;
  const struct nlattr *a;

  if (! (h->nlmsg_flags & NLM_F_ACK_TLVS))
    return NULL;
  off = sizeof (*e);
  if (! (h->nlmsg_flags & NLM_F_CAPPED))
    off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  for (a = (const struct nlattr *) ((const char *) e + NLMSG_ALIGN (off));
       (const char *) a + NLA_HDRLEN <= end && a->nla_len >= NLA_HDRLEN && (const char *) a + a->nla_len <= end;
       a = (const struct nlattr *) ((const char *) a + NLA_ALIGN (a->nla_len)))
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
      return (const char *) a + NLA_HDRLEN;
  return NULL;
}

/* Send `len` bytes (one message or a batch) and read until the acknowledgement of
   sequence `last` (or the first error).  For a dump, `each` sees every message.  */
static int
transact (struct berth_nl *nl, void *buf, size_t len, uint32_t last, const char *what,
          int (*each) (const struct nlmsghdr *h, void *arg), void *arg, berth_error_t *err)
{
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  char rbuf[NL_BUF] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  ssize_t n;

  do
    n = sendto (nl->fd, buf, len, 0, (struct sockaddr *) &sa, sizeof (sa));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return berth_make_error_op (err, errno, "netlink", "%s: send", what);
  for (;;)
    {
      struct nlmsghdr *h;

      do
        n = recv (nl->fd, rbuf, sizeof (rbuf), 0);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return berth_make_error_op (err, errno == EAGAIN ? ETIMEDOUT : errno, "netlink", "%s: receive", what);
      for (h = (struct nlmsghdr *) rbuf; NLMSG_OK (h, (size_t) n); h = NLMSG_NEXT (h, n))
        {
          if (h->nlmsg_type == NLMSG_ERROR)
            {
              const struct nlmsgerr *e = NLMSG_DATA (h);
              if (e->error != 0)
                {
                  const char *why = ext_ack_msg (h);
                  if (why)
                    return berth_make_error_op (err, -e->error, "netlink", "%s (%s)", what, why);
                  return berth_make_error_op (err, -e->error, "netlink", "%s", what);
                }
              if (h->nlmsg_seq == last)
                return 0;
              continue;
            }
          if (h->nlmsg_type == NLMSG_DONE)
            {
              if (h->nlmsg_seq == last)
                return 0;
              continue;
            }
          if (each && each (h, arg) < 0)
            return berth_make_error_op (err, ENOMEM, "netlink", "%s: reply", what);
        }
    }
}

static int
request (struct berth_nl *nl, struct msg *m, const char *what, berth_error_t *err)
{
  m->h->nlmsg_flags |= NLM_F_ACK;
  m->h->nlmsg_seq = ++nl->seq;
  return transact (nl, m->buf, m->h->nlmsg_len, m->h->nlmsg_seq, what, NULL, NULL, err);
}

/* ---- links.  */

struct link_index_arg
{
  int index;
};

static int
link_index_each (const struct nlmsghdr *h, void *arg)
{
  struct link_index_arg *a = arg;
  if (h->nlmsg_type == RTM_NEWLINK)
    a->index = ((const struct ifinfomsg *) NLMSG_DATA (h))->ifi_index;
  return 0;
}

int
berth_nl_link_index (struct berth_nl *nl, const char *name, int *index, berth_error_t *err)
{
  char buf[512] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct link_index_arg a = { 0 };
  struct msg m;
  int ret;
  berth_error_t e = NULL;

  msg_start (&m, buf, sizeof (buf), RTM_GETLINK, 0, &ifi, sizeof (ifi));
  attr_str (&m, IFLA_IFNAME, name);
  m.h->nlmsg_seq = ++nl->seq;
  m.h->nlmsg_flags |= NLM_F_ACK;
  ret = transact (nl, buf, m.h->nlmsg_len, m.h->nlmsg_seq, "get link", link_index_each, &a, &e);
  /* The reply to a GETLINK is the link itself, then (with ACK) an ack.  */
  if (ret < 0)
    {
      if (e->status == ENODEV)
        {
          berth_error_release (&e);
          *index = 0;
          return 0;
        }
      *err = e;
      return berth_error_wrap (err, "link %s", name);
    }
  *index = a.index;
  return 0;
}

int
berth_nl_bridge_add (struct berth_nl *nl, const char *name, berth_error_t *err)
{
  char buf[512] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nlattr *info;
  struct msg m;
  unsigned char mac[6];

  /* A bridge without an address of its own takes the lowest of its ports' and changes it as
     veths come and go.  A container that resolved the gateway to the old address then sends
     its replies to a MAC nobody owns until its ARP entry expires (seconds): requests from
     the host to it time out, as a deploy's start or retire adds or removes a veth.  An
     address given at creation is NET_ADDR_SET, which the bridge keeps (Docker and
     systemd-networkd do the same).  Random, locally administered (bit 1), unicast (bit 0).  */
  if (getrandom (mac, sizeof (mac), 0) != (ssize_t) sizeof (mac))
    return berth_make_error_op (err, errno ? errno : EIO, "getrandom", "a MAC address for bridge %s", name);
  mac[0] = (unsigned char) ((mac[0] & 0xfe) | 0x02);
  msg_start (&m, buf, sizeof (buf), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof (ifi));
  attr_str (&m, IFLA_IFNAME, name);
  attr_put (&m, IFLA_ADDRESS, mac, sizeof (mac));
  info = nest_start (&m, IFLA_LINKINFO);
  attr_str (&m, IFLA_INFO_KIND, "bridge");
  nest_end (&m, info);
  if (request (nl, &m, "create bridge", err) < 0)
    return berth_error_wrap (err, "bridge %s", name);
  return 0;
}

int
berth_nl_veth_add (struct berth_nl *nl, const char *host, int master, const char *peer, int peer_netns_fd,
                   berth_error_t *err)
{
  char buf[1024] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  /* The peer cannot be created up: veth_open fails with ENOTCONN until both ends exist.  */
  struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
  struct nlattr *info, *data, *p;
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof (ifi));
  attr_str (&m, IFLA_IFNAME, host);
  attr_u32 (&m, IFLA_MASTER, (uint32_t) master);
  info = nest_start (&m, IFLA_LINKINFO);
  attr_str (&m, IFLA_INFO_KIND, "veth");
  data = nest_start (&m, IFLA_INFO_DATA);
  p = nest_start (&m, VETH_INFO_PEER);
  raw_put (&m, &peer_ifi, sizeof (peer_ifi));
  attr_str (&m, IFLA_IFNAME, peer);
  attr_u32 (&m, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  nest_end (&m, p);
  nest_end (&m, data);
  nest_end (&m, info);
  if (request (nl, &m, "create veth", err) < 0)
    return berth_error_wrap (err, "veth %s", host);
  return 0;
}

int
berth_nl_link_up (struct berth_nl *nl, int index, berth_error_t *err)
{
  char buf[256] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_NEWLINK, 0, &ifi, sizeof (ifi));
  if (request (nl, &m, "set link up", err) < 0)
    return berth_error_wrap (err, "link %d", index);
  return 0;
}

int
berth_nl_link_no_ipv6_ll (struct berth_nl *nl, int index, berth_error_t *err)
{
  char buf[256] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
  struct nlattr *spec, *inet6;
  uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_NEWLINK, 0, &ifi, sizeof (ifi));
  spec = nest_start (&m, IFLA_AF_SPEC);
  inet6 = nest_start (&m, AF_INET6);
  attr_put (&m, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof (mode));
  nest_end (&m, inet6);
  nest_end (&m, spec);
  if (request (nl, &m, "set addrgenmode none", err) < 0)
    {
      /* A kernel without IPv6 has no link-local address to generate either.  */
      if ((*err)->status == EAFNOSUPPORT)
        return berth_error_release (err);
      return berth_error_wrap (err, "link %d", index);
    }
  return 0;
}

int
berth_nl_link_del (struct berth_nl *nl, const char *name, bool missing_ok, berth_error_t *err)
{
  char buf[256] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_DELLINK, 0, &ifi, sizeof (ifi));
  attr_str (&m, IFLA_IFNAME, name);
  if (request (nl, &m, "delete link", err) < 0)
    {
      if (missing_ok && (*err)->status == ENODEV)
        return berth_error_release (err);
      return berth_error_wrap (err, "link %s", name);
    }
  return 0;
}

/* ---- addresses and routes.  */

int
berth_nl_addr_add (struct berth_nl *nl, int index, struct in_addr addr, int prefix, berth_error_t *err)
{
  char buf[256] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (uint8_t) prefix, .ifa_index = (uint32_t) index };
  struct in_addr bcast = { addr.s_addr | htonl (prefix >= 32 ? 0 : 0xffffffffu >> prefix) };
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof (ifa));
  attr_put (&m, IFA_LOCAL, &addr, sizeof (addr));
  attr_put (&m, IFA_ADDRESS, &addr, sizeof (addr));
  attr_put (&m, IFA_BROADCAST, &bcast, sizeof (bcast));
  if (request (nl, &m, "add address", err) < 0)
    {
      char a[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &addr, a, sizeof (a));
      return berth_error_wrap (err, "%s/%d on link %d", a, prefix, index);
    }
  return 0;
}

int
berth_nl_route_default (struct berth_nl *nl, int index, struct in_addr gateway, berth_error_t *err)
{
  char buf[256] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                      .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof (rt));
  attr_put (&m, RTA_GATEWAY, &gateway, sizeof (gateway));
  attr_u32 (&m, RTA_OIF, (uint32_t) index);
  if (request (nl, &m, "add default route", err) < 0)
    return berth_error_wrap (err, "via link %d", index);
  return 0;
}

struct routes_arg
{
  struct berth_nl_route *v;
  size_t n, cap;
};

static int
routes_each (const struct nlmsghdr *h, void *arg)
{
  struct routes_arg *a = arg;
  const struct rtmsg *rt = NLMSG_DATA (h);
  const struct rtattr *ra;
  int len = (int) RTM_PAYLOAD (h);
  struct berth_nl_route r = { .prefix = rt->rtm_dst_len };

  if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET || rt->rtm_dst_len == 0)
    return 0;
  if (rt->rtm_table != RT_TABLE_MAIN && rt->rtm_table != RT_TABLE_LOCAL)
    return 0;
  for (ra = RTM_RTA (rt); RTA_OK (ra, len); ra = RTA_NEXT (ra, len))
    {
      if (ra->rta_type == RTA_DST && RTA_PAYLOAD (ra) == 4)
        memcpy (&r.dst, RTA_DATA (ra), 4);
      else if (ra->rta_type == RTA_OIF && RTA_PAYLOAD (ra) == 4)
        memcpy (&r.oif, RTA_DATA (ra), 4);
    }
  if (a->n == a->cap)
    {
      a->cap = a->cap ? a->cap * 2 : 16;
      a->v = xrealloc (a->v, a->cap * sizeof (*a->v));
    }
  a->v[a->n++] = r;
  return 0;
}

int
berth_nl_routes (struct berth_nl *nl, struct berth_nl_route **routes, size_t *n, berth_error_t *err)
{
  char buf[256] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  struct rtmsg rt = { .rtm_family = AF_INET };
  struct routes_arg a = { 0 };
  struct msg m;

  msg_start (&m, buf, sizeof (buf), RTM_GETROUTE, NLM_F_DUMP, &rt, sizeof (rt));
  m.h->nlmsg_seq = ++nl->seq;
  if (transact (nl, buf, m.h->nlmsg_len, m.h->nlmsg_seq, "dump routes", routes_each, &a, err) < 0)
    {
      free (a.v);
      return -1;
    }
  *routes = a.v;
  *n = a.n;
  return 0;
}

/* ---- nf_tables set elements.  */

static void
nfgen (struct msg *m, char *buf, size_t cap, size_t at, int type, int flags, int family, uint16_t res_id)
{
  struct nfgenmsg g = { .nfgen_family = (uint8_t) family, .version = NFNETLINK_V0, .res_id = htons (res_id) };

  m->buf = buf;
  m->cap = cap;
  m->h = (struct nlmsghdr *) (buf + at);
  memset (m->h, 0, NLMSG_LENGTH (sizeof (g)));
  m->h->nlmsg_len = NLMSG_LENGTH (sizeof (g));
  m->h->nlmsg_type = (uint16_t) type;
  m->h->nlmsg_flags = (uint16_t) (NLM_F_REQUEST | flags);
  memcpy (NLMSG_DATA (m->h), &g, sizeof (g));
}

int
berth_nl_nft_elems (struct berth_nl *nl, const char *table, const struct berth_nft_elem *elems, size_t n,
                    berth_error_t *err)
{
  size_t cap = 512 + n * 256, at = 0, i;
  cleanup_free char *buf = xmalloc0 (cap);
  struct msg m;
  uint32_t last;

  nfgen (&m, buf, cap, at, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  m.h->nlmsg_seq = ++nl->seq;
  at += NLMSG_ALIGN (m.h->nlmsg_len);
  for (i = 0; i < n; i++)
    {
      const struct berth_nft_elem *e = &elems[i];
      int type = e->op == BERTH_NFT_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DESTROYSETELEM;
      int flags = NLM_F_ACK | (e->op == BERTH_NFT_ADD ? NLM_F_CREATE : 0);
      struct nlattr *list, *el, *key, *data;

      nfgen (&m, buf, cap, at, (NFNL_SUBSYS_NFTABLES << 8) | type, flags, e->family, 0);
      m.h->nlmsg_seq = ++nl->seq;
      attr_str (&m, NFTA_SET_ELEM_LIST_TABLE, table);
      attr_str (&m, NFTA_SET_ELEM_LIST_SET, e->set);
      list = nest_start (&m, NFTA_SET_ELEM_LIST_ELEMENTS);
      el = nest_start (&m, NFTA_LIST_ELEM);
      key = nest_start (&m, NFTA_SET_ELEM_KEY);
      attr_put (&m, NFTA_DATA_VALUE, e->key, e->key_len);
      nest_end (&m, key);
      if (e->data_len && e->op == BERTH_NFT_ADD)
        {
          data = nest_start (&m, NFTA_SET_ELEM_DATA);
          attr_put (&m, NFTA_DATA_VALUE, e->data, e->data_len);
          nest_end (&m, data);
        }
      nest_end (&m, el);
      nest_end (&m, list);
      at += NLMSG_ALIGN (m.h->nlmsg_len);
    }
  last = nl->seq;
  nfgen (&m, buf, cap, at, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  m.h->nlmsg_seq = ++nl->seq;
  at += NLMSG_ALIGN (m.h->nlmsg_len);
  if (n == 0)
    return 0;
  if (transact (nl, buf, at, last, "nft set elements", NULL, NULL, err) < 0)
    return berth_error_wrap (err, "table %s", table);
  return 0;
}
