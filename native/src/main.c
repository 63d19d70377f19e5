/*
 * Berth runtime: global options and subcommand dispatch.
 *
 *   berth-runtime [--root DIR] [--log-format text|json] [--debug] COMMAND [ARG...]
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "commands.h"
#include "main.h"
#include "oci-config.h"
#include "process.h"
#include "utils.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif

/* One line per subcommand, kept in alphabetical order.  To add one, write cmd-NAME.c with
   berth_cmd_NAME, declare it in commands.h (see main.h) and add it here.  */
static const struct berth_command commands[] = {
  { "create", berth_cmd_create, "create a container from an OCI bundle; it waits for start" },
  { "delete", berth_cmd_delete, "delete a stopped container (--force: any container)" },
  { "exec", berth_cmd_exec, "run a new process in a running container" },
  { "kill", berth_cmd_kill, "send a signal to a container's process" },
  { "list", berth_cmd_list, "list containers" },
  { "network", berth_cmd_network, "container networks: create, rm, ls, inspect, gc, link, unlink" },
  { "ps", berth_cmd_ps, "list the processes of a container" },
  { "run", berth_cmd_run, "create and start a container; in the foreground, exit with its status" },
  { "spec", berth_cmd_spec, "write Berth's default config.json" },
  { "start", berth_cmd_start, "start a created container" },
  { "state", berth_cmd_state, "print a container's OCI state as JSON" },
  { "stats", berth_cmd_stats, "print a container's memory, CPU and pids usage as JSON" },
  { NULL, NULL, NULL },
};

/* Compile-time features, printed by --version like crun's "+SECCOMP ...".  */
static const char *const features[] = {
  "+SECCOMP",
  NULL,
};

enum
{
  OPT_ROOT = 256,
  OPT_LOG_FORMAT,
  OPT_DEBUG,
  OPT_LOG,
  OPT_SYSTEMD_CGROUP,
};

static const struct option global_options[] = {
  { "root", required_argument, NULL, OPT_ROOT },
  { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
  { "debug", no_argument, NULL, OPT_DEBUG },
  { "log", required_argument, NULL, OPT_LOG },
  { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'v' },
  { NULL, 0, NULL, 0 },
};

static const struct berth_command *
find_command (const char *name)
{
  const struct berth_command *cmd;

  for (cmd = commands; cmd->name; cmd++)
    if (strcmp (cmd->name, name) == 0)
      return cmd;
  return NULL;
}

static int
finish_stdout (void)
{
  if (fflush (stdout) == EOF || ferror (stdout))
    {
      perror ("berth-runtime: write to stdout");
      return BERTH_EXIT_FAILURE;
    }
  return 0;
}

static int
print_help (void)
{
  const struct berth_command *cmd;

  printf ("Usage: berth-runtime [OPTION...] COMMAND [ARG...]\n"
          "\n"
          "Berth's OCI container runtime.\n"
          "\n"
          "Commands:\n");
  for (cmd = commands; cmd->name; cmd++)
    printf ("  %-12s %s\n", cmd->name, cmd->summary);
  printf ("\n"
          "Options:\n"
          "      --root=DIR           state directory (default " BERTH_DEFAULT_ROOT ")\n"
          "      --log=FILE           also append errors to FILE\n"
          "      --log-format=FORMAT  errors on stderr as `text` (default) or `json` lines\n"
          "      --debug              print debugging information\n"
          "  -h, --help               print this help and exit\n"
          "  -v, --version            print version information and exit\n");
  return finish_stdout ();
}

static int
print_version (void)
{
  const char *const *f;

  printf ("berth-runtime %s\n", BERTH_VERSION);
  printf ("spec: %s\n", BERTH_OCI_VERSION);
  for (f = features; *f; f++)
    printf ("%s%s", f == features ? "" : " ", *f);
  printf ("\n");
  return finish_stdout ();
}

/* Report err (already set) and return the exit code for it.  */
static int
report_error (struct berth_global_args *global, berth_error_t *err)
{
  int is_usage = (*err)->op && strcmp ((*err)->op, BERTH_OP_USAGE) == 0;

  berth_error_write (*err, stderr, global->log_format);
  if (global->log_file)
    {
      /* As crun's --log: the same line appended to a file the caller keeps.  */
      FILE *log = fopen (global->log_file, "ae");
      if (log)
        {
          berth_error_write (*err, log, global->log_format);
          fclose (log);
        }
    }
  if (is_usage && global->log_format == BERTH_LOG_FORMAT_TEXT)
    fprintf (stderr, "Try `berth-runtime --help` for more information.\n");
  berth_error_release (err);
  return is_usage ? BERTH_EXIT_USAGE : BERTH_EXIT_FAILURE;
}

static int usage_error (struct berth_global_args *global, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
usage_error (struct berth_global_args *global, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  berth_error_t err = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);

  berth_make_error_op (&err, 0, BERTH_OP_USAGE, "%s", msg);
  return report_error (global, &err);
}

int
main (int argc, char **argv)
{
  struct berth_global_args global = {
    .root = BERTH_DEFAULT_ROOT,
    .log_format = BERTH_LOG_FORMAT_TEXT,
    .debug = false,
    .exit_code = 0,
  };
  const struct berth_command *cmd;
  berth_error_t err = NULL;
  char short_opt[3] = "-?";
  const char *arg;
  int c;

  berth_process_save_args (argc, argv, environ);

  opterr = 0; /* we print our own messages */
  while ((c = getopt_long (argc, argv, "+:hv", global_options, NULL)) != -1)
    {
      switch (c)
        {
        case OPT_ROOT:
          if (*optarg == '\0')
            return usage_error (&global, "option `--root` needs a non-empty directory");
          global.root = optarg;
          break;

        case OPT_LOG_FORMAT:
          if (berth_log_format_parse (optarg, &global.log_format, &err) < 0)
            {
              free (err->op);
              err->op = xstrdup (BERTH_OP_USAGE);
              return report_error (&global, &err);
            }
          berth_warn_set_format (global.log_format);
          break;

        case OPT_LOG:
          if (*optarg == '\0')
            return usage_error (&global, "option `--log` needs a file name");
          /* crun accepts "file:PATH"; so do we.  */
          global.log_file = strncmp (optarg, "file:", 5) == 0 ? optarg + 5 : optarg;
          break;

        case OPT_DEBUG:
          global.debug = true;
          break;

        case OPT_SYSTEMD_CGROUP:
          /* Refused, not ignored: the caller would name systemd units ("slice:prefix:name")
             as linux.cgroupsPath and expect systemd to own them.  */
          return usage_error (&global, "option `--systemd-cgroup` is not supported: berth-runtime manages cgroups "
                                       "through cgroupfs; configure the caller for it (podman: cgroup_manager = "
                                       "\"cgroupfs\"; containerd: SystemdCgroup = false)");

        case 'h':
          return print_help ();

        case 'v':
          return print_version ();

        case ':':
          return usage_error (&global, "option `%s` requires an argument", argv[optind - 1]);

        default:
          /* optopt is 0 for an unknown long option, the option's value for a
             known long option given an argument, else the unknown short one.  */
          if (optopt == 0)
            return usage_error (&global, "unrecognized option `%s`", argv[optind - 1]);
          if (optopt >= OPT_ROOT || optopt == 'h' || optopt == 'v')
            {
              arg = argv[optind - 1];
              return usage_error (&global, "option `%.*s` does not take an argument",
                                  (int) strcspn (arg, "="), arg);
            }
          short_opt[1] = (char) optopt;
          return usage_error (&global, "unrecognized option `%s`", short_opt);
        }
    }

  if (optind >= argc)
    return usage_error (&global, "no command given");

  cmd = find_command (argv[optind]);
  if (cmd == NULL)
    return usage_error (&global, "unknown command `%s`", argv[optind]);

  if (cmd->handler (&global, argc - optind, argv + optind, &err) < 0)
    {
      int code = report_error (&global, &err);
      /* run reports why the program could not start, and exits 127 or 126 as a shell would.  */
      return global.exit_code ? global.exit_code : code;
    }

  if (finish_stdout () != 0)
    return BERTH_EXIT_FAILURE;
  return global.exit_code;
}
