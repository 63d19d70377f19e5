/*
 * Berth runtime: container networking (docs/networking.md).
 *
 * A network is a Linux bridge with the host's gateway address on it, an IPv4 subnet, and
 * two nf_tables tables named after it (`inet berth_<name>`, `bridge berth_<name>`) that hold
 * every rule; containers only add and remove set elements there.  Its state lives under the
 * runtime's root:
 *
 *   <root>/.network/<name>/network.json   name, subnet, gateway, nat
 *   <root>/.network/<name>/lock           flock'ed around every change of what follows
 *   <root>/.network/<name>/leases/<addr>  "<id>\n<group>\n<published>\n": one per address in use
 *   <root>/.network/<name>/groups/<group> the group's number (its nft mark)
 *   <root>/.network/<name>/links/<a>+<b>  groups a and b may reach each other (a < b)
 *
 * A container asks for a network with annotations (oci-config.h): create allocates its
 * address and writes /etc/hosts and /etc/resolv.conf into its state directory (bind-mounted
 * into it), the monitor attaches it once its network namespace exists (a veth pair: host
 * end on the bridge, the other end moved in as eth0, address, default route, set elements),
 * and delete detaches it (veth, elements, lease).
 */
#ifndef BERTH_NET_H
#define BERTH_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "oci-config.h"

#define BERTH_NET_DEFAULT "berth0"

/* ---- pure helpers (unit-tested).  Addresses are host byte order here.  */

/* Network (and bridge) names: [a-z0-9][a-z0-9_-]{0,14}, as a Linux link name can hold.  */
int berth_net_validate_name (const char *name, berth_error_t *err);

/* Group (app) names: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}.  */
int berth_net_validate_group (const char *group, berth_error_t *err);

/* "a.b.c.d/n" with n in 8..30 and no host bits set.  */
int berth_net_parse_cidr (const char *s, uint32_t *net, int *prefix, berth_error_t *err);

bool berth_net_overlaps (uint32_t a, int a_prefix, uint32_t b, int b_prefix);

/* The first address of the subnet from `hint` on (wrapping), skipping the network
   address, the gateway (net+1) and the broadcast address, for which used() says no.
   -1 with an error naming the subnet when it is full.  */
int berth_net_pick_address (uint32_t net, int prefix, uint32_t hint, bool (*used) (uint32_t addr, void *arg), void *arg,
                            uint32_t *out, berth_error_t *err);

/* A lease file: "<id>\n<group>\n" and optionally "<published ports>\n" (*publish is ""
   without).  */
int berth_net_lease_parse (const char *text, char **id, char **group, char **publish, berth_error_t *err);

/* The container's /etc/resolv.conf from the host's: loopback and IPv6 nameservers dropped
   (the container cannot reach them); when the host's only resolvers are on loopback, the
   upstream file (systemd-resolved's) is used instead when given; with none left, Docker's
   fallback 8.8.8.8 and 8.8.4.4.  Caller frees.  */
char *berth_net_resolv_conf (const char *host, const char *upstream);

/* The container's /etc/hosts, as Docker writes it.  Caller frees.  */
char *berth_net_hosts (const char *hostname, uint32_t addr);

struct berth_net_port
{
  uint16_t host_port; /* on 127.0.0.1 */
  uint16_t container_port;
};

/* "127.0.0.1:HOST:CTR/tcp" or "HOST:CTR" (tcp on 127.0.0.1), ","-separated.  */
int berth_net_parse_publish (const char *spec, struct berth_net_port **ports, size_t *n, berth_error_t *err);

/* ---- networks (berth-runtime network ...).  */

struct berth_net_options
{
  const char *subnet; /* NULL: the first free 10.N.0.0/16 */
  bool nat;
};

int berth_net_create (const char *root, const char *name, const struct berth_net_options *o, berth_error_t *err);

/* Remove the bridge, the tables and the state.  Refused while addresses are leased unless
   force (then the leases' veths and elements go too).  */
int berth_net_remove (const char *root, const char *name, bool force, berth_error_t *err);

int berth_net_list (const char *root, bool json, berth_error_t *err);
int berth_net_inspect (const char *root, const char *name, berth_error_t *err);

/* Reclaim leases whose container state directory is gone (all networks).  */
int berth_net_gc (const char *root, bool quiet, berth_error_t *err);

/* Turn outbound NAT on or off for an existing network (its rules, ip_forward, network.conf).  */
int berth_net_update (const char *root, const char *name, bool nat, berth_error_t *err);

/* Let containers of groups a and b reach each other, or no longer.  */
int berth_net_link (const char *root, const char *name, const char *a, const char *b, bool linked, berth_error_t *err);

/* ---- containers (container.c and spawn.c call these).  */

/* At create, before the container process exists: if the config asks for a network,
   lease an address, write hosts/resolv.conf/hostname into `state_dir`, add their bind
   mounts to the config, and record the attachment in <state_dir>/network.json.  */
int berth_net_prepare (const char *root, const char *id, const char *state_dir, struct berth_config *c,
                       berth_error_t *err);

/* Once the container's network namespace exists (process `pid`): the veth, eth0, its
   address and route, and the nft elements.  No-op without a network.  */
int berth_net_attach (const char *state_dir, pid_t pid, berth_error_t *err);

/* At delete (and when create fails): remove what attach and prepare made.  A missing
   piece is not an error.  No-op without a network.  */
int berth_net_release (const char *state_dir, berth_error_t *err);

/* ---- nft and sysctl parts (net-nft.c).  */

struct berth_net_info
{
  char *name;
  uint32_t net; /* host byte order */
  int prefix;
  bool nat;
};

/* "berth_<name>": the tables of network `name`.  */
char *berth_net_table (const char *name);

/* Create (replace) both tables of the network with its rules and empty sets.  */
int berth_net_nft_create (const struct berth_net_info *n, berth_error_t *err);
int berth_net_nft_delete (const char *name, berth_error_t *err);
/* Replace the rules that depend on n->nat, in one transaction.  */
int berth_net_nft_set_nat (const struct berth_net_info *n, berth_error_t *err);

/* ip_forward: on for a NAT network (the first one remembers the old value), put back
   when the last NAT network on this host goes.  */
int berth_net_forward_hold (const char *name, berth_error_t *err);
int berth_net_forward_release (const char *name, berth_error_t *err);

/* The same with the state directory and the sysctl file given (tests).  */
int berth_net_forward_hold_at (const char *run_dir, const char *sysctl, const char *name, berth_error_t *err);
int berth_net_forward_release_at (const char *run_dir, const char *sysctl, const char *name, berth_error_t *err);

/* The host-wide lock around network create and remove (subnets, bridges and ip_forward
   are host-wide, whatever the runtime's root): a locked fd to close.  */
int berth_net_host_lock (berth_error_t *err);

#endif
