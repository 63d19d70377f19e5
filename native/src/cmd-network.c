/*
 * berth-runtime network create [--subnet CIDR] [--no-nat] NAME
 * berth-runtime network update --nat|--no-nat NAME
 * berth-runtime network rm [--force] NAME
 * berth-runtime network ls [--format table|json]
 * berth-runtime network inspect NAME
 * berth-runtime network gc [-q]
 * berth-runtime network link NAME GROUP_A GROUP_B
 * berth-runtime network unlink NAME GROUP_A GROUP_B
 */
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "net.h"

static int
operands (const char *verb, int argc, char **argv, int want, berth_error_t *err)
{
  if (argc - optind < want)
    return berth_cmd_usage (err, "network %s: missing operand (see `berth-runtime network --help`)", verb);
  if (argc - optind > want)
    return berth_cmd_usage (err, "network %s: unexpected argument `%s`", verb, argv[optind + want]);
  return 0;
}

static int
cmd_create (struct berth_global_args *g, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = {
    { "subnet", required_argument, NULL, 's' },
    { "no-nat", no_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
  };
  struct berth_net_options o = { .subnet = NULL, .nat = true };
  int c;

  while ((c = getopt_long (argc, argv, "+s:", options, NULL)) != -1)
    switch (c)
      {
      case 's':
        o.subnet = optarg;
        break;
      case 'n':
        o.nat = false;
        break;
      default:
        return berth_cmd_bad_option ("network create", argc, argv, err);
      }
  if (operands ("create", argc, argv, 1, err) < 0)
    return -1;
  return berth_net_create (g->root, argv[optind], &o, err);
}

static int
cmd_update (struct berth_global_args *g, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = {
    { "nat", no_argument, NULL, 'y' },
    { "no-nat", no_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
  };
  int nat = -1, c;

  while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1)
    switch (c)
      {
      case 'y':
      case 'n':
        if (nat != -1 && nat != (c == 'y'))
          return berth_cmd_usage (err, "network update: give one of --nat and --no-nat, not both");
        nat = c == 'y';
        break;
      default:
        return berth_cmd_bad_option ("network update", argc, argv, err);
      }
  if (nat == -1)
    return berth_cmd_usage (err, "network update: say what to change: --nat or --no-nat");
  if (operands ("update", argc, argv, 1, err) < 0)
    return -1;
  return berth_net_update (g->root, argv[optind], nat == 1, err);
}

static int
cmd_rm (struct berth_global_args *g, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool force = false;
  int c;

  while ((c = getopt_long (argc, argv, "+f", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      default:
        return berth_cmd_bad_option ("network rm", argc, argv, err);
      }
  if (operands ("rm", argc, argv, 1, err) < 0)
    return -1;
  return berth_net_remove (g->root, argv[optind], force, err);
}

static int
cmd_ls (struct berth_global_args *g, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool json = false;
  int c;

  while ((c = getopt_long (argc, argv, "+f:", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "table") != 0)
          return berth_cmd_usage (err, "network ls: --format must be table or json, not `%s`", optarg);
        json = strcmp (optarg, "json") == 0;
        break;
      default:
        return berth_cmd_bad_option ("network ls", argc, argv, err);
      }
  if (operands ("ls", argc, argv, 0, err) < 0)
    return -1;
  return berth_net_list (g->root, json, err);
}

static int
cmd_gc (struct berth_global_args *g, int argc, char **argv, berth_error_t *err)
{
  static const struct option options[] = { { "quiet", no_argument, NULL, 'q' }, { NULL, 0, NULL, 0 } };
  bool quiet = false;
  int c;

  while ((c = getopt_long (argc, argv, "+q", options, NULL)) != -1)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      default:
        return berth_cmd_bad_option ("network gc", argc, argv, err);
      }
  if (operands ("gc", argc, argv, 0, err) < 0)
    return -1;
  return berth_net_gc (g->root, quiet, err);
}

static int
cmd_plain (const char *verb, int argc, char **argv, int want, berth_error_t *err)
{
  int c;
  while ((c = getopt_long (argc, argv, "+", NULL, NULL)) != -1)
    return berth_cmd_bad_option (verb, argc, argv, err);
  return operands (verb, argc, argv, want, err);
}

static void
usage (void)
{
  printf ("Usage: berth-runtime [--root DIR] network COMMAND ...\n\n"
          "  create [--subnet CIDR] [--no-nat] NAME   a bridge NAME with its subnet (default: the first free\n"
          "                                           10.N.0.0/16), nft tables berth_NAME, outbound NAT on\n"
          "  update --nat|--no-nat NAME               turn outbound NAT on or off (running containers too)\n"
          "  rm [--force] NAME                        remove it (--force: with the containers' veths and leases)\n"
          "  ls [--format table|json]                 list the networks of this root\n"
          "  inspect NAME                             the network, its leases and links, as JSON\n"
          "  gc [-q]                                  reclaim leases of containers whose state is gone\n"
          "  link NAME GROUP_A GROUP_B                let the two groups (apps) reach each other\n"
          "  unlink NAME GROUP_A GROUP_B              and no longer\n\n"
          "A container joins a network with the annotations berth.network=NAME,\n"
          "berth.network.group=APP and berth.network.publish=127.0.0.1:HOSTPORT:PORT/tcp,...\n");
}

int
berth_cmd_network (struct berth_global_args *g, int argc, char **argv, berth_error_t *err)
{
  const char *verb;

  if (argc < 2)
    return berth_cmd_usage (err, "network: missing command (create, update, rm, ls, inspect, gc, link, unlink)");
  verb = argv[1];
  argc--;
  argv++;
  optind = 0;
  opterr = 0;
  if (strcmp (verb, "--help") == 0 || strcmp (verb, "-h") == 0 || strcmp (verb, "help") == 0)
    {
      usage ();
      return 0;
    }
  if (strcmp (verb, "create") == 0)
    return cmd_create (g, argc, argv, err);
  if (strcmp (verb, "update") == 0)
    return cmd_update (g, argc, argv, err);
  if (strcmp (verb, "rm") == 0)
    return cmd_rm (g, argc, argv, err);
  if (strcmp (verb, "ls") == 0)
    return cmd_ls (g, argc, argv, err);
  if (strcmp (verb, "gc") == 0)
    return cmd_gc (g, argc, argv, err);
  if (strcmp (verb, "inspect") == 0)
    {
      if (cmd_plain ("network inspect", argc, argv, 1, err) < 0)
        return -1;
      return berth_net_inspect (g->root, argv[optind], err);
    }
  if (strcmp (verb, "link") == 0 || strcmp (verb, "unlink") == 0)
    {
      bool link = strcmp (verb, "link") == 0;
      if (cmd_plain (link ? "network link" : "network unlink", argc, argv, 3, err) < 0)
        return -1;
      return berth_net_link (g->root, argv[optind], argv[optind + 1], argv[optind + 2], link, err);
    }
  return berth_cmd_usage (err, "network: unknown command `%s` (create, update, rm, ls, inspect, gc, link, unlink)", verb);
}
