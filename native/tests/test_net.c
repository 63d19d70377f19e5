/*
 * Unit tests for the pure parts of container networking (src/net-util.c): names, subnets,
 * address picking, lease files, resolv.conf and hosts, published ports.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"
#include "tap.h"
#include "utils.h"

#define A(a, b, c, d) (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))

static int
fails_with (int ret, berth_error_t *err, const char *needle)
{
  int ok = ret < 0 && *err && strstr ((*err)->msg, needle) != NULL;
  if (! ok)
    tap_diag ("expected an error containing `%s`, got %s", needle, *err ? (*err)->msg : "success");
  berth_error_release (err);
  return ok ? 0 : -1;
}

static int
test_names (void)
{
  berth_error_t err = NULL;
  TAP_CHECK (berth_net_validate_name ("berth0", &err) == 0);
  TAP_CHECK (berth_net_validate_name ("a-b_c", &err) == 0);
  TAP_CHECK (fails_with (berth_net_validate_name ("", &err), &err, "1 to 15") == 0);
  TAP_CHECK (fails_with (berth_net_validate_name ("abcdefghijklmnop", &err), &err, "1 to 15") == 0);
  TAP_CHECK (fails_with (berth_net_validate_name ("Berth", &err), &err, "`B` at 0") == 0);
  TAP_CHECK (fails_with (berth_net_validate_name ("-x", &err), &err, "`-` at 0") == 0);
  TAP_CHECK (fails_with (berth_net_validate_name ("a/b", &err), &err, "`/` at 1") == 0);
  TAP_CHECK (berth_net_validate_group ("my-app.web_1", &err) == 0);
  TAP_CHECK (fails_with (berth_net_validate_group ("a+b", &err), &err, "`+` at 1") == 0);
  TAP_CHECK (fails_with (berth_net_validate_group ("../x", &err), &err, "`.` at 0") == 0);
  return 0;
}

static int
test_cidr (void)
{
  berth_error_t err = NULL;
  uint32_t net = 0;
  int prefix = 0;

  TAP_CHECK (berth_net_parse_cidr ("10.88.0.0/16", &net, &prefix, &err) == 0);
  TAP_CHECK (net == A (10, 88, 0, 0) && prefix == 16);
  TAP_CHECK (berth_net_parse_cidr ("192.168.7.0/24", &net, &prefix, &err) == 0);
  TAP_CHECK (net == A (192, 168, 7, 0) && prefix == 24);
  TAP_CHECK (fails_with (berth_net_parse_cidr ("10.88.0.1/16", &net, &prefix, &err), &err, "did you mean 10.88.0.0/16") == 0);
  TAP_CHECK (fails_with (berth_net_parse_cidr ("10.88.0.0", &net, &prefix, &err), &err, "a.b.c.d/N") == 0);
  TAP_CHECK (fails_with (berth_net_parse_cidr ("10.88.0.0/31", &net, &prefix, &err), &err, "8 to 30") == 0);
  TAP_CHECK (fails_with (berth_net_parse_cidr ("10.88.0.0/x", &net, &prefix, &err), &err, "8 to 30") == 0);
  TAP_CHECK (fails_with (berth_net_parse_cidr ("10.300.0.0/16", &net, &prefix, &err), &err, "not an IPv4") == 0);
  TAP_CHECK (berth_net_overlaps (A (10, 88, 0, 0), 16, A (10, 88, 3, 0), 24));
  TAP_CHECK (berth_net_overlaps (A (10, 0, 0, 0), 8, A (10, 88, 0, 0), 16));
  TAP_CHECK (! berth_net_overlaps (A (10, 88, 0, 0), 16, A (10, 89, 0, 0), 16));
  TAP_CHECK (berth_net_overlaps (A (10, 88, 0, 0), 16, A (10, 88, 255, 255), 32));
  return 0;
}

/* A bitmap of used addresses of a /24, for berth_net_pick_address.  */
struct bitmap
{
  uint32_t net;
  bool used[256];
};

static bool
bitmap_used (uint32_t addr, void *arg)
{
  struct bitmap *b = arg;
  return b->used[addr - b->net];
}

static int
test_pick_address (void)
{
  struct bitmap b = { .net = A (10, 1, 2, 0) };
  berth_error_t err = NULL;
  uint32_t a = 0;
  int i;

  /* Empty: the first after the gateway (.1).  */
  TAP_CHECK (berth_net_pick_address (b.net, 24, 0, bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 2));
  /* From the hint on, skipping used ones.  */
  b.used[10] = b.used[11] = true;
  TAP_CHECK (berth_net_pick_address (b.net, 24, A (10, 1, 2, 10), bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 12));
  /* Wraps after the last (.254; .255 is broadcast).  */
  b.used[254] = true;
  TAP_CHECK (berth_net_pick_address (b.net, 24, A (10, 1, 2, 254), bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 2));
  /* A hint outside the subnet (or on the gateway) starts at the first.  */
  TAP_CHECK (berth_net_pick_address (b.net, 24, A (10, 1, 2, 1), bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 2));
  TAP_CHECK (berth_net_pick_address (b.net, 24, A (10, 9, 9, 9), bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 2));
  /* Full.  */
  for (i = 0; i < 256; i++)
    b.used[i] = true;
  TAP_CHECK (fails_with (berth_net_pick_address (b.net, 24, 0, bitmap_used, &b, &a, &err), &err, "every address of 10.1.2.0/24 is leased") == 0);
  /* The last free one is found wherever the hint is.  */
  b.used[77] = false;
  TAP_CHECK (berth_net_pick_address (b.net, 24, A (10, 1, 2, 200), bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 77));
  /* A /30 has room for one container: .2 (.1 gateway, .3 broadcast).  */
  memset (b.used, 0, sizeof (b.used));
  TAP_CHECK (berth_net_pick_address (b.net, 30, 0, bitmap_used, &b, &a, &err) == 0);
  TAP_CHECK (a == A (10, 1, 2, 2));
  b.used[2] = true;
  TAP_CHECK (fails_with (berth_net_pick_address (b.net, 30, 0, bitmap_used, &b, &a, &err), &err, "is leased") == 0);
  return 0;
}

static int
test_lease_parse (void)
{
  berth_error_t err = NULL;
  char *id = NULL, *group = NULL, *publish = NULL;

  TAP_CHECK (berth_net_lease_parse ("c1\nweb\n", &id, &group, &publish, &err) == 0);
  TAP_CHECK_STR_EQ (id, "c1");
  TAP_CHECK_STR_EQ (group, "web");
  TAP_CHECK_STR_EQ (publish, "");
  free (id), free (group), free (publish);
  TAP_CHECK (berth_net_lease_parse ("c2\napp\n127.0.0.1:8080:80/tcp\n", &id, &group, &publish, &err) == 0);
  TAP_CHECK_STR_EQ (publish, "127.0.0.1:8080:80/tcp");
  free (id), free (group), free (publish);
  TAP_CHECK (berth_net_lease_parse ("c2\napp\n\n", &id, &group, &publish, &err) == 0);
  TAP_CHECK_STR_EQ (publish, "");
  free (id), free (group), free (publish);
  TAP_CHECK (fails_with (berth_net_lease_parse ("", &id, &group, &publish, &err), &err, "no container id") == 0);
  TAP_CHECK (fails_with (berth_net_lease_parse ("c1\n", &id, &group, &publish, &err), &err, "no group") == 0);
  TAP_CHECK (fails_with (berth_net_lease_parse ("c1\nweb", &id, &group, &publish, &err), &err, "no group") == 0);
  TAP_CHECK (fails_with (berth_net_lease_parse ("c1\nweb\nx\ny\n", &id, &group, &publish, &err), &err, "two or three lines") == 0);
  return 0;
}

static int
test_resolv_conf (void)
{
  cleanup_free char *plain = berth_net_resolv_conf ("search example.org\nnameserver 192.0.2.53\noptions ndots:2\n", NULL);
  cleanup_free char *mixed = berth_net_resolv_conf ("nameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver ::1\n", NULL);
  cleanup_free char *stub = berth_net_resolv_conf ("# systemd-resolved\nnameserver 127.0.0.53\noptions edns0\n",
                                                   "nameserver 198.51.100.1\nnameserver 2001:db8::1\nsearch lan\n");
  cleanup_free char *stub_only = berth_net_resolv_conf ("nameserver 127.0.0.1\n", NULL);
  cleanup_free char *empty = berth_net_resolv_conf (NULL, NULL);

  TAP_CHECK_STR_EQ (plain, "search example.org\nnameserver 192.0.2.53\noptions ndots:2\n");
  /* Loopback and IPv6 resolvers are unreachable from the container: dropped.  */
  TAP_CHECK_STR_EQ (mixed, "nameserver 192.0.2.53\n");
  /* Only a loopback stub: its upstreams instead (systemd-resolved's file), as Docker does.  */
  TAP_CHECK_STR_EQ (stub, "nameserver 198.51.100.1\nsearch lan\n");
  /* Nothing usable: Docker's fallback.  */
  TAP_CHECK_STR_EQ (stub_only, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  TAP_CHECK_STR_EQ (empty, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  return 0;
}

static int
test_hosts (void)
{
  cleanup_free char *h = berth_net_hosts ("web-1", A (10, 88, 0, 7));
  TAP_CHECK (strncmp (h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 61) == 0);
  TAP_CHECK (strstr (h, "\n10.88.0.7\tweb-1\n") != NULL);
  TAP_CHECK (h[strlen (h) - 1] == '\n');
  return 0;
}

static int
test_publish (void)
{
  berth_error_t err = NULL;
  struct berth_net_port *p = NULL;
  size_t n = 0;

  TAP_CHECK (berth_net_parse_publish ("127.0.0.1:8080:80/tcp,5432:5432", &p, &n, &err) == 0);
  TAP_CHECK (n == 2);
  TAP_CHECK (p[0].host_port == 8080 && p[0].container_port == 80);
  TAP_CHECK (p[1].host_port == 5432 && p[1].container_port == 5432);
  free (p);
  TAP_CHECK (fails_with (berth_net_parse_publish ("0.0.0.0:80:80", &p, &n, &err), &err, "loopback only") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish ("80:80/udp", &p, &n, &err), &err, "only tcp") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish ("80", &p, &n, &err), &err, "HOSTPORT:CONTAINERPORT") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish ("1:2:3:4", &p, &n, &err), &err, "HOSTPORT:CONTAINERPORT") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish ("70000:80", &p, &n, &err), &err, "`70000` is not a port") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish ("-1:80", &p, &n, &err), &err, "is not a port") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish ("8080:80,8080:81", &p, &n, &err), &err, "given twice") == 0);
  TAP_CHECK (fails_with (berth_net_parse_publish (",", &p, &n, &err), &err, "none given") == 0);
  return 0;
}

/* The first character of `path`, or 0.  */
static char
first_char (const char *path)
{
  cleanup_free char *data = NULL;
  berth_error_t err = NULL;
  if (berth_read_file (path, &data, NULL, &err) < 0)
    {
      berth_error_release (&err);
      return 0;
    }
  return data[0];
}

static int
test_ip_forward (void)
{
  char tmpl[] = "/tmp/berth-test-forward-XXXXXX";
  char *dir = mkdtemp (tmpl);
  cleanup_free char *sysctl = NULL, *orig = NULL, *run = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  sysctl = xasprintf ("%s/ip_forward", dir);
  run = xasprintf ("%s/run", dir);
  orig = xasprintf ("%s/run/ip_forward.orig", dir);
  TAP_CHECK (berth_write_file_replace (sysctl, "0\n", 2, 0600, &err) == 0);
  /* Two NAT networks: on with the first, still on when one goes, back to 0 with the last.  */
  TAP_CHECK (berth_net_forward_hold_at (run, sysctl, "a", &err) == 0);
  TAP_CHECK (first_char (sysctl) == '1');
  TAP_CHECK (berth_net_forward_hold_at (run, sysctl, "b", &err) == 0);
  TAP_CHECK (berth_net_forward_release_at (run, sysctl, "a", &err) == 0);
  TAP_CHECK (first_char (sysctl) == '1');
  TAP_CHECK (berth_net_forward_release_at (run, sysctl, "b", &err) == 0);
  TAP_CHECK (first_char (sysctl) == '0');
  TAP_CHECK (access (orig, F_OK) < 0);
  /* On before Berth: stays on after.  */
  TAP_CHECK (berth_write_file_replace (sysctl, "1\n", 2, 0600, &err) == 0);
  TAP_CHECK (berth_net_forward_hold_at (run, sysctl, "a", &err) == 0);
  TAP_CHECK (berth_net_forward_release_at (run, sysctl, "a", &err) == 0);
  TAP_CHECK (first_char (sysctl) == '1');
  /* Releasing what was never held changes nothing.  */
  TAP_CHECK (berth_net_forward_release_at (run, sysctl, "nope", &err) == 0);
  TAP_CHECK (first_char (sysctl) == '1');
  TAP_CHECK (berth_remove_tree (dir, &err) == 0);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_names),      TAP_TEST (test_cidr),         TAP_TEST (test_pick_address), TAP_TEST (test_lease_parse),
  TAP_TEST (test_resolv_conf), TAP_TEST (test_hosts),       TAP_TEST (test_publish),     TAP_TEST (test_ip_forward),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
