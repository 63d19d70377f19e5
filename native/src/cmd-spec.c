/*
 * berth-runtime spec [--bundle DIR] [--force]: write Berth's default config.json, as
 * `crun spec` does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "oci-config.h"
#include "utils.h"

struct spec_args
{
  const char *bundle;
  bool force;
  bool help;
};

static int
parse_spec_args (int argc, char **argv, struct spec_args *args, berth_error_t *err)
{
  static const struct option options[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "force", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+b:fh", options, NULL)) != -1)
    switch (c)
      {
      case 'b':
        if (*optarg == '\0')
          return berth_cmd_usage (err, "spec: option `--bundle` needs a non-empty directory");
        args->bundle = optarg;
        break;
      case 'f':
        args->force = true;
        break;
      case 'h':
        args->help = true;
        break;
      default:
        return berth_cmd_bad_option ("spec", argc, argv, err);
      }
  if (optind < argc)
    return berth_cmd_usage (err, "spec: unexpected argument `%s`", argv[optind]);
  return 0;
}

/* crun refuses to overwrite a config.json; so do we, unless --force.  */
static int
check_absent (const char *path, const char *bundle, berth_error_t *err)
{
  struct stat st;

  if (lstat (path, &st) == 0)
    return berth_make_error_op (err, 0, "spec", "config.json already exists in `%s` (use --force to replace it)",
                                bundle);
  if (errno != ENOENT)
    return berth_make_error_op (err, errno, "stat", "stat `%s`", path);
  return 0;
}

int
berth_cmd_spec (struct berth_global_args *global, int argc, char **argv, berth_error_t *err)
{
  struct spec_args args = { .bundle = ".", .force = false, .help = false };
  cleanup_free char *path = NULL;
  cleanup_free char *json = NULL;
  size_t len;

  (void) global;
  if (parse_spec_args (argc, argv, &args, err) < 0)
    return -1;
  if (args.help)
    {
      printf ("Usage: berth-runtime spec [--bundle DIR] [--force]\n"
              "\n"
              "Write Berth's default config.json into DIR (default: the current directory).\n"
              "\n"
              "  -b, --bundle=DIR  the bundle directory\n"
              "  -f, --force       replace an existing config.json\n");
      return 0;
    }

  len = strlen (args.bundle);
  path = xasprintf ("%s%sconfig.json", args.bundle, args.bundle[len - 1] == '/' ? "" : "/");
  if (!args.force && check_absent (path, args.bundle, err) < 0)
    return -1;
  json = berth_config_default_json ();
  return berth_write_file_atomic (path, json, strlen (json), 0644, err);
}
