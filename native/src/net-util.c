/*
 * Berth runtime: the pure parts of container networking (names, subnets, address
 * picking, leases, resolv.conf, hosts, published ports).  See net.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "main.h"
#include "net.h"
#include "utils.h"

int
berth_net_validate_name (const char *name, berth_error_t *err)
{
  size_t i, len = strlen (name);

  if (len == 0 || len > 15)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "network name `%s`: 1 to 15 characters (it names the bridge)", name);
  for (i = 0; i < len; i++)
    {
      char ch = name[i];
      bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && (ch == '-' || ch == '_'));
      if (! ok)
        return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                    "network name `%s`: character `%c` at %zu is not allowed; use a-z, 0-9, and - or _ after the first",
                                    name, ch, i);
    }
  return 0;
}

int
berth_net_validate_group (const char *group, berth_error_t *err)
{
  size_t i, len = strlen (group);

  if (len == 0 || len > 128)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "group `%s`: 1 to 128 characters", group);
  for (i = 0; i < len; i++)
    {
      char ch = group[i];
      bool ok = isalnum ((unsigned char) ch) || (i > 0 && (ch == '-' || ch == '_' || ch == '.'));
      if (! ok)
        return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                    "group `%s`: character `%c` at %zu is not allowed; use A-Z, a-z, 0-9, and - _ . after the first",
                                    group, ch, i);
    }
  return 0;
}

int
berth_net_parse_cidr (const char *s, uint32_t *net, int *prefix, berth_error_t *err)
{
  char buf[32];
  const char *slash = strchr (s, '/');
  struct in_addr a;
  char *end;
  long p;
  uint32_t mask;

  if (slash == NULL || (size_t) (slash - s) >= sizeof (buf))
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "subnet `%s`: write it as a.b.c.d/N", s);
  memcpy (buf, s, (size_t) (slash - s));
  buf[slash - s] = '\0';
  if (inet_pton (AF_INET, buf, &a) != 1)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "subnet `%s`: `%s` is not an IPv4 address", s, buf);
  errno = 0;
  p = strtol (slash + 1, &end, 10);
  if (errno || *end || end == slash + 1 || p < 8 || p > 30)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "subnet `%s`: the prefix length must be 8 to 30", s);
  mask = 0xffffffffu << (32 - p);
  if (ntohl (a.s_addr) & ~mask)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "subnet `%s` has host bits set: did you mean %u.%u.%u.%u/%ld?", s,
                                (ntohl (a.s_addr) & mask) >> 24, ((ntohl (a.s_addr) & mask) >> 16) & 255,
                                ((ntohl (a.s_addr) & mask) >> 8) & 255, ntohl (a.s_addr) & mask & 255, p);
  *net = ntohl (a.s_addr);
  *prefix = (int) p;
  return 0;
}

bool
berth_net_overlaps (uint32_t a, int a_prefix, uint32_t b, int b_prefix)
{
  int p = a_prefix < b_prefix ? a_prefix : b_prefix;
  uint32_t mask = p == 0 ? 0 : 0xffffffffu << (32 - p);
  return (a & mask) == (b & mask);
}

int
berth_net_pick_address (uint32_t net, int prefix, uint32_t hint, bool (*used) (uint32_t addr, void *arg), void *arg,
                        uint32_t *out, berth_error_t *err)
{
  uint32_t size = 1u << (32 - prefix), first = net + 2, last = net + size - 2, a, i, n;

  if (last < first)
    return berth_make_error_op (err, 0, "network", "subnet /%d has no room for containers", prefix);
  n = last - first + 1;
  a = (hint >= first && hint <= last) ? hint : first;
  for (i = 0; i < n; i++)
    {
      if (! used (a, arg))
        {
          *out = a;
          return 0;
        }
      a = a == last ? first : a + 1;
    }
  return berth_make_error_op (err, ENOSPC, "network", "every address of %u.%u.%u.%u/%d is leased (%u)", net >> 24,
                              (net >> 16) & 255, (net >> 8) & 255, net & 255, prefix, n);
}

int
berth_net_lease_parse (const char *text, char **id, char **group, char **publish, berth_error_t *err)
{
  const char *nl1 = strchr (text, '\n'), *nl2, *nl3 = NULL;

  if (nl1 == NULL || nl1 == text)
    return berth_make_error_op (err, 0, "lease", "lease has no container id line");
  nl2 = strchr (nl1 + 1, '\n');
  if (nl2 == NULL || nl2 == nl1 + 1)
    return berth_make_error_op (err, 0, "lease", "lease has no group line");
  if (nl2[1] != '\0')
    {
      nl3 = strchr (nl2 + 1, '\n');
      if (nl3 == NULL || nl3[1] != '\0')
        return berth_make_error_op (err, 0, "lease", "lease must be two or three lines: container id, group, published ports");
    }
  *id = strndup (text, (size_t) (nl1 - text));
  *group = strndup (nl1 + 1, (size_t) (nl2 - nl1 - 1));
  *publish = nl3 ? strndup (nl2 + 1, (size_t) (nl3 - nl2 - 1)) : xstrdup ("");
  if (*id == NULL || *group == NULL || *publish == NULL)
    abort ();
  return 0;
}

/* ---- resolv.conf.  */

static bool
usable_nameserver (const char *addr)
{
  struct in_addr a;
  if (inet_pton (AF_INET, addr, &a) != 1)
    return false; /* IPv6 (containers have IPv4 only here) or garbage */
  return (ntohl (a.s_addr) >> 24) != 127;
}

/* Append the lines of `text`, keeping nameservers that pass; count them in *kept and
   the loopback ones in *loopback.  */
static void
filter_resolv (const char *text, char **out, size_t *len, int *kept, int *loopback)
{
  const char *p = text;

  while (p && *p)
    {
      const char *eol = strchr (p, '\n');
      size_t n = eol ? (size_t) (eol - p) : strlen (p);
      cleanup_free char *line = strndup (p, n);
      char word[16], addr[64];
      bool keep = true;

      if (line == NULL)
        abort ();
      if (sscanf (line, " %15s %63s", word, addr) == 2 && strcmp (word, "nameserver") == 0)
        {
          keep = usable_nameserver (addr);
          if (keep)
            (*kept)++;
          else if (strncmp (addr, "127.", 4) == 0 || strcmp (addr, "::1") == 0)
            (*loopback)++;
        }
      if (keep)
        {
          *out = xrealloc (*out, *len + n + 2);
          memcpy (*out + *len, line, n);
          *len += n;
          (*out)[(*len)++] = '\n';
          (*out)[*len] = '\0';
        }
      p = eol ? eol + 1 : NULL;
    }
}

char *
berth_net_resolv_conf (const char *host, const char *upstream)
{
  char *out = xstrdup ("");
  size_t len = 0;
  int kept = 0, loopback = 0;

  filter_resolv (host ? host : "", &out, &len, &kept, &loopback);
  if (kept == 0 && loopback > 0 && upstream)
    {
      int k2 = 0, l2 = 0;
      free (out);
      out = xstrdup ("");
      len = 0;
      filter_resolv (upstream, &out, &len, &k2, &l2);
      kept = k2;
    }
  if (kept == 0)
    {
      char *with = xasprintf ("%snameserver 8.8.8.8\nnameserver 8.8.4.4\n", out);
      free (out);
      out = with;
    }
  return out;
}

char *
berth_net_hosts (const char *hostname, uint32_t addr)
{
  return xasprintf ("127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\n"
                    "ff00::0\tip6-mcastprefix\n"
                    "ff02::1\tip6-allnodes\n"
                    "ff02::2\tip6-allrouters\n"
                    "%u.%u.%u.%u\t%s\n",
                    addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255, hostname);
}

/* ---- published ports.  */

static int
parse_port (const char *s, const char *whole, uint16_t *port, berth_error_t *err)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 65535 || ! isdigit ((unsigned char) s[0]))
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "published port `%s`: `%s` is not a port (1-65535)", whole, s);
  *port = (uint16_t) v;
  return 0;
}

int
berth_net_parse_publish (const char *spec, struct berth_net_port **ports, size_t *n, berth_error_t *err)
{
  cleanup_free char *copy = xstrdup (spec);
  cleanup_free struct berth_net_port *v = NULL;
  size_t count = 0;
  char *save = NULL, *item;

  *ports = NULL;
  *n = 0;
  for (item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save))
    {
      char *fields[3] = { NULL, NULL, NULL }, *proto, *p = item;
      int nf = 0;
      struct berth_net_port port;
      size_t i;

      proto = strchr (item, '/');
      if (proto)
        {
          *proto++ = '\0';
          if (strcmp (proto, "tcp") != 0)
            return berth_make_error_op (err, 0, BERTH_OP_USAGE, "published port `%s`: only tcp can be published", spec);
        }
      while (nf < 3)
        {
          char *colon = strchr (p, ':');
          fields[nf++] = p;
          if (colon == NULL)
            break;
          *colon = '\0';
          p = colon + 1;
        }
      if (p != fields[nf - 1] || nf < 2)
        return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                    "published port `%s`: write 127.0.0.1:HOSTPORT:CONTAINERPORT/tcp or HOSTPORT:CONTAINERPORT", spec);
      if (nf == 3 && strcmp (fields[0], "127.0.0.1") != 0)
        return berth_make_error_op (err, 0, BERTH_OP_USAGE,
                                    "published port `%s`: ports are published on the host's loopback only (127.0.0.1), not `%s`",
                                    spec, fields[0]);
      if (parse_port (fields[nf - 2], spec, &port.host_port, err) < 0
          || parse_port (fields[nf - 1], spec, &port.container_port, err) < 0)
        return -1;
      for (i = 0; i < count; i++)
        if (v[i].host_port == port.host_port)
          return berth_make_error_op (err, 0, BERTH_OP_USAGE, "published port `%s`: host port %u is given twice", spec,
                                      port.host_port);
      v = xrealloc (v, (count + 1) * sizeof (*v));
      v[count++] = port;
    }
  if (count == 0)
    return berth_make_error_op (err, 0, BERTH_OP_USAGE, "published ports `%s`: none given", spec);
  *ports = steal_pointer (&v);
  *n = count;
  return 0;
}
