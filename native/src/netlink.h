/*
 * Berth runtime: a small rtnetlink and nfnetlink client (rtnetlink(7), netlink(7)).
 *
 * Just what container networking needs, with no library: links (bridge, veth with its
 * peer created directly in another network namespace), IPv4 addresses and routes, a
 * route dump (to find a free subnet), and nf_tables set elements in one batch (so a
 * container's firewall state is a few elements, never rules).  Each request waits for
 * the kernel's acknowledgement and turns an NLMSG_ERROR into a berth error naming the
 * request and its object.
 */
#ifndef BERTH_NETLINK_H
#define BERTH_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct berth_nl
{
  int fd;
  int protocol; /* NETLINK_ROUTE or NETLINK_NETFILTER */
  uint32_t seq;
};

/* Open a netlink socket of `protocol` in the current network namespace.  */
int berth_nl_open (struct berth_nl *nl, int protocol, berth_error_t *err);

/* Open it in the network namespace `netns_fd` (an fd of /proc/PID/ns/net): the socket
   stays bound to that namespace after we return to ours.  */
int berth_nl_open_in (struct berth_nl *nl, int protocol, int netns_fd, berth_error_t *err);

void berth_nl_close (struct berth_nl *nl);

static inline void
cleanup_nlp (struct berth_nl *nl)
{
  berth_nl_close (nl);
}
#define cleanup_nl __attribute__ ((cleanup (cleanup_nlp)))

/* ---- links.  */

/* The index of link `name`, 0 when there is none.  */
int berth_nl_link_index (struct berth_nl *nl, const char *name, int *index, berth_error_t *err);

/* Create a bridge named `name` (EEXIST is an error).  */
int berth_nl_bridge_add (struct berth_nl *nl, const char *name, berth_error_t *err);

/* Create a veth pair: `host` (enslaved to the bridge of index `master`) here, and its peer
   `peer` directly in the network namespace `peer_netns_fd`; both down.  */
int berth_nl_veth_add (struct berth_nl *nl, const char *host, int master, const char *peer, int peer_netns_fd,
                       berth_error_t *err);

/* No IPv6 link-local address on a link (before it goes up): its neighbour discovery and
   MLD would be flooded to every port of the bridge, a cost that grows with the number of
   containers, for a protocol Berth's networks drop anyway.  */
int berth_nl_link_no_ipv6_ll (struct berth_nl *nl, int index, berth_error_t *err);

/* Bring a link up.  */
int berth_nl_link_up (struct berth_nl *nl, int index, berth_error_t *err);

/* Delete a link by name; a missing link is success when missing_ok.  */
int berth_nl_link_del (struct berth_nl *nl, const char *name, bool missing_ok, berth_error_t *err);

/* ---- IPv4 addresses and routes.  Addresses are in network byte order.  */

int berth_nl_addr_add (struct berth_nl *nl, int index, struct in_addr addr, int prefix, berth_error_t *err);

/* A default route via `gateway` on link `index`.  */
int berth_nl_route_default (struct berth_nl *nl, int index, struct in_addr gateway, berth_error_t *err);

struct berth_nl_route
{
  struct in_addr dst;
  int prefix;
  int oif;
};

/* Every IPv4 route of the main and local tables (default routes left out), in *routes
   (caller frees).  */
int berth_nl_routes (struct berth_nl *nl, struct berth_nl_route **routes, size_t *n, berth_error_t *err);

/* ---- nf_tables set elements (NETLINK_NETFILTER).  */

enum berth_nft_op
{
  BERTH_NFT_ADD,     /* NFT_MSG_NEWSETELEM: the same element again is fine, another value for its key is not */
  BERTH_NFT_DESTROY, /* NFT_MSG_DESTROYSETELEM: a missing element is not an error */
};

struct berth_nft_elem
{
  enum berth_nft_op op;
  const char *set;         /* set or map name in the table */
  int family;              /* NFPROTO_INET, NFPROTO_BRIDGE, ... */
  uint8_t key[24];         /* each concatenated field padded to 4 bytes */
  size_t key_len;
  uint8_t data[16];        /* map value, or none when data_len is 0 */
  size_t data_len;
};

/* Apply `n` element operations on sets of table `table` in one transaction: all or none.  */
int berth_nl_nft_elems (struct berth_nl *nl, const char *table, const struct berth_nft_elem *elems, size_t n,
                        berth_error_t *err);

#endif
