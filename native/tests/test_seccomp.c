/*
 * Unit tests for src/seccomp.c and src/seccomp-default.c.
 *
 * Filters are loaded in forked children (a filter cannot be removed), which report the
 * first failed check through a pipe.  Each child sets no_new_privs first, as the runtime
 * does for a container without CAP_SYS_ADMIN, so the tests need no privilege; as root the
 * Docker-profile child also moves to a private mount namespace before its filter, so that a
 * filter letting mount through could not touch the host's /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "seccomp.h"
#include "tap.h"
#include "utils.h"

#define WHERE "linux.seccomp"

static void
cleanup_jsonp (json_object **o)
{
  json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (cleanup_jsonp)))

static void
cleanup_seccompp (struct berth_seccomp **s)
{
  berth_seccomp_free (*s);
}
#define cleanup_seccomp __attribute__ ((cleanup (cleanup_seccompp)))

static void
cleanup_errorp (berth_error_t *err)
{
  berth_error_release (err);
}
#define cleanup_error __attribute__ ((cleanup (cleanup_errorp)))

/* JSON written with ' for " (as test_oci_config.c), parsed; NULL if it is not JSON.  */
static json_object *
json_q (const char *text)
{
  cleanup_free char *s = xstrdup (text);
  char *p;

  for (p = s; *p; p++)
    if (*p == '\'')
      *p = '"';
  return json_tokener_parse (s);
}

/* ---- parsing.  */

static int
test_parse_minimal (void)
{
  cleanup_json json_object *obj = json_q ("{'defaultAction':'SCMP_ACT_ALLOW'}");
  cleanup_seccomp struct berth_seccomp *s = NULL;
  cleanup_error berth_error_t err = NULL;

  TAP_CHECK (obj != NULL);
  if (berth_seccomp_parse (obj, WHERE, &s, &err) < 0)
    TAP_FAIL ("rejected: %s", err->msg);
  TAP_CHECK (s != NULL);
  return 0;
}

/* Every action, operator, flag and spelling of architecture the spec names; nulls for
   optional members; unknown syscall names and rules repeating the default are skipped.  */
static int
test_parse_full (void)
{
  static const char *const good[] = {
    "{'defaultAction':'SCMP_ACT_KILL'}",
    "{'defaultAction':'SCMP_ACT_KILL_PROCESS'}",
    "{'defaultAction':'SCMP_ACT_KILL_THREAD'}",
    "{'defaultAction':'SCMP_ACT_TRAP'}",
    "{'defaultAction':'SCMP_ACT_ERRNO'}",
    "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38}",
    "{'defaultAction':'SCMP_ACT_TRACE','defaultErrnoRet':65535}",
    "{'defaultAction':'SCMP_ACT_LOG','architectures':null,'flags':null,'syscalls':null,'listenerPath':null}",
    "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86','SCMP_ARCH_X86_64','SCMP_ARCH_X32',"
    "'SCMP_ARCH_ARM','SCMP_ARCH_AARCH64','SCMP_ARCH_MIPS','SCMP_ARCH_MIPS64','SCMP_ARCH_MIPS64N32',"
    "'SCMP_ARCH_MIPSEL','SCMP_ARCH_MIPSEL64','SCMP_ARCH_MIPSEL64N32','SCMP_ARCH_PPC','SCMP_ARCH_PPC64',"
    "'SCMP_ARCH_PPC64LE','SCMP_ARCH_S390','SCMP_ARCH_S390X','SCMP_ARCH_PARISC','SCMP_ARCH_PARISC64',"
    "'SCMP_ARCH_RISCV64']}",
    "{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG',"
    "'SECCOMP_FILTER_FLAG_SPEC_ALLOW']}",
    "{'defaultAction':'SCMP_ACT_ERRNO','syscalls':["
    "{'names':['read','no_such_syscall_x'],'action':'SCMP_ACT_ALLOW'},"
    "{'names':['write'],'action':'SCMP_ACT_ERRNO'},"   /* = the default: skipped */
    "{'names':['breakpoint','arch_prctl'],'action':'SCMP_ACT_ALLOW'}," /* other arches */
    "{'names':['getpid'],'action':'SCMP_ACT_KILL_PROCESS','args':null},"
    "{'names':['getppid'],'action':'SCMP_ACT_TRACE','errnoRet':7},"
    "{'names':['close'],'action':'SCMP_ACT_ERRNO','errnoRet':0,'args':["
    "{'index':0,'value':1,'op':'SCMP_CMP_NE'},{'index':1,'value':2,'op':'SCMP_CMP_LT'},"
    "{'index':2,'value':3,'op':'SCMP_CMP_LE'},{'index':3,'value':4,'op':'SCMP_CMP_EQ'},"
    "{'index':4,'value':5,'op':'SCMP_CMP_GE'},{'index':5,'value':18446744073709551615,'op':'SCMP_CMP_GT'}]},"
    "{'names':['ioctl'],'action':'SCMP_ACT_LOG','args':[{'index':1,'value':255,'valueTwo':84,"
    "'op':'SCMP_CMP_MASKED_EQ'}]},"
    "{'names':['dup'],'action':'SCMP_ACT_TRAP','unknownField':1}]}",
  };
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (good); i++)
    {
      cleanup_json json_object *obj = json_q (good[i]);
      cleanup_seccomp struct berth_seccomp *s = NULL;
      cleanup_error berth_error_t err = NULL;

      if (obj == NULL)
        TAP_FAIL ("good[%zu] is not JSON", i);
      if (berth_seccomp_parse (obj, WHERE, &s, &err) < 0)
        TAP_FAIL ("good[%zu] rejected: %s", i, err->msg);
    }
  return 0;
}

struct bad_case
{
  const char *json;
  const char *msg;
};

static int
test_parse_errors (void)
{
  static const struct bad_case bad[] = {
    { "[]", "linux.seccomp must be an object" },
    { "{}", "linux.seccomp.defaultAction is required" },
    { "{'defaultAction':3}", "linux.seccomp.defaultAction must be a string" },
    { "{'defaultAction':'SCMP_ACT_NOPE'}", "linux.seccomp.defaultAction \"SCMP_ACT_NOPE\" is not a seccomp action" },
    { "{'defaultAction':'scmp_act_allow'}", "linux.seccomp.defaultAction \"scmp_act_allow\" is not a seccomp action" },
    { "{'defaultAction':'SCMP_ACT_NOTIFY'}", "linux.seccomp.defaultAction \"SCMP_ACT_NOTIFY\" is not supported" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1}",
      "linux.seccomp.defaultErrnoRet is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW" },
    { "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1}",
      "linux.seccomp.defaultErrnoRet must be an integer from 0 to 65535" },
    { "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536}",
      "linux.seccomp.defaultErrnoRet must be an integer from 0 to 65535" },
    { "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':'1'}",
      "linux.seccomp.defaultErrnoRet must be an integer from 0 to 65535" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/x.sock'}",
      "linux.seccomp.listenerPath is not supported (no SCMP_ACT_NOTIFY)" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','architectures':'SCMP_ARCH_X86_64'}",
      "linux.seccomp.architectures must be an array" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_PDP11']}",
      "linux.seccomp.architectures[1] \"SCMP_ARCH_PDP11\" is not a seccomp architecture" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['x86_64']}",
      "linux.seccomp.architectures[0] \"x86_64\" is not a seccomp architecture" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_']}",
      "linux.seccomp.architectures[0] \"SCMP_ARCH_\" is not a seccomp architecture" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','architectures':[null]}",
      "linux.seccomp.architectures[0] must be a string" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_NEW']}",
      "linux.seccomp.flags[1] \"SECCOMP_FILTER_FLAG_NEW\" is not a seccomp filter flag" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']}",
      "linux.seccomp.flags[0] \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\" is not supported" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}", "linux.seccomp.syscalls must be an array" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':['read']}", "linux.seccomp.syscalls[0] must be an object" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ERRNO'}]}",
      "linux.seccomp.syscalls[0].names must be a non-empty array of strings" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_ERRNO'}]}",
      "linux.seccomp.syscalls[0].names must be a non-empty array of strings" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read',1],'action':'SCMP_ACT_ERRNO'}]}",
      "linux.seccomp.syscalls[0].names[1] must be a string" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read']}]}",
      "linux.seccomp.syscalls[0].action is required" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_NOTIFY'}]}",
      "linux.seccomp.syscalls[0].action \"SCMP_ACT_NOTIFY\" is not supported" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_KILL','errnoRet':1}]}",
      "linux.seccomp.syscalls[0].errnoRet is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':{}}]}",
      "linux.seccomp.syscalls[0].args must be an array" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':[7]}]}",
      "linux.seccomp.syscalls[0].args[0] must be an object" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'value':1,'op':'SCMP_CMP_EQ'}]}]}",
      "linux.seccomp.syscalls[0].args[0].index is required" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}",
      "linux.seccomp.syscalls[0].args[0].index must be an integer from 0 to 5" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':0,'op':'SCMP_CMP_EQ'}]}]}",
      "linux.seccomp.syscalls[0].args[0].value is required" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]}]}",
      "linux.seccomp.syscalls[0].args[0].value must be a non-negative integer" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':0,'value':1,'valueTwo':'2','op':'SCMP_CMP_MASKED_EQ'}]}]}",
      "linux.seccomp.syscalls[0].args[0].valueTwo must be a non-negative integer" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':0,'value':1}]}]}",
      "linux.seccomp.syscalls[0].args[0].op is required" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':1,'value':1,'op':'SCMP_CMP_MASKED_NE'}]}]}",
      "linux.seccomp.syscalls[0].args[1].op \"SCMP_CMP_MASKED_NE\" is not a seccomp operator" },
    { "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':["
      "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':1,'value':1,'op':'SCMP_CMP_EQ'},"
      "{'index':2,'value':1,'op':'SCMP_CMP_EQ'},{'index':3,'value':1,'op':'SCMP_CMP_EQ'},"
      "{'index':4,'value':1,'op':'SCMP_CMP_EQ'},{'index':5,'value':1,'op':'SCMP_CMP_EQ'},"
      "{'index':0,'value':2,'op':'SCMP_CMP_EQ'}]}]}",
      "linux.seccomp.syscalls[0].args has 7 entries: libseccomp allows at most 6" },
  };
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (bad); i++)
    {
      cleanup_json json_object *obj = json_q (bad[i].json);
      cleanup_seccomp struct berth_seccomp *s = NULL;
      cleanup_error berth_error_t err = NULL;
      int ret;

      if (obj == NULL)
        TAP_FAIL ("bad[%zu] is not JSON", i);
      ret = berth_seccomp_parse (obj, WHERE, &s, &err);
      if (ret >= 0)
        TAP_FAIL ("bad[%zu] accepted: %s", i, bad[i].json);
      TAP_CHECK (s == NULL);
      TAP_CHECK_INT_EQ (ret, -1);
      TAP_CHECK_STR_EQ (err->msg, bad[i].msg);
      TAP_CHECK_STR_EQ (err->op, "config");
      TAP_CHECK_INT_EQ (err->status, 0);
    }
  return 0;
}

/* The message once oci-config.c has prefixed the file name.  */
static int
test_parse_error_in_config (void)
{
  cleanup_json json_object *obj
      = json_q ("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['a'],'action':'SCMP_ACT_ALLOW'},"
                "{'names':['b'],'action':'SCMP_ACT_ALLOW'},{'names':['c'],'action':'SCMP_ACT_ALLOW'},"
                "{'names':['d'],'action':'X'}]}");
  cleanup_seccomp struct berth_seccomp *s = NULL;
  cleanup_error berth_error_t err = NULL;

  TAP_CHECK (obj != NULL);
  TAP_CHECK (berth_seccomp_parse (obj, WHERE, &s, &err) < 0);
  berth_error_wrap (&err, "config.json");
  TAP_CHECK_STR_EQ (err->msg, "config.json: linux.seccomp.syscalls[3].action \"X\" is not a seccomp action");
  return 0;
}

/* ---- the Docker default profile.  */

static bool
string_in (json_object *arr, const char *s)
{
  size_t i;

  for (i = 0; i < json_object_array_length (arr); i++)
    if (strcmp (json_object_get_string (json_object_array_get_idx (arr, i)), s) == 0)
      return true;
  return false;
}

static json_object *
get (json_object *obj, const char *key)
{
  json_object *v = NULL;

  json_object_object_get_ex (obj, key, &v);
  return v;
}

/* Whether some rule with `action` lists `name`; with_args: only rules with (true) or
   without (false) argument conditions.  */
static bool
rule_lists (json_object *profile, const char *action, bool with_args, const char *name)
{
  json_object *syscalls = get (profile, "syscalls");
  size_t i;

  for (i = 0; i < json_object_array_length (syscalls); i++)
    {
      json_object *r = json_object_array_get_idx (syscalls, i);

      if (strcmp (json_object_get_string (get (r, "action")), action) == 0
          && (get (r, "args") != NULL) == with_args && string_in (get (r, "names"), name))
        return true;
    }
  return false;
}

static int
test_docker_default_contents (void)
{
  static const char *const allowed[] = {
    "read", "write", "openat", "close", "execve", "exit_group", "futex", "mmap", "mprotect",
    "rt_sigaction", "epoll_wait", "accept4", "sendmsg", "pipe2", "fork", "vfork", "wait4",
    "getppid", "prctl", "seccomp", "setuid", "setgroups", "capset", "chown", "mknod",
    "statx", "rseq", "clock_adjtime",
    "name_to_handle_at", "ptrace", "process_vm_readv", "chroot", "arch_prctl", "modify_ldt",
    "set_tls", "cacheflush", "memfd_create", "landlock_create_ruleset", "pidfd_open", "faccessat2",
  };
  static const char *const denied[] = {
    "mount", "umount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
    "perf_event_open", "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module",
    "delete_module", "open_by_handle_at", "pivot_root", "swapon", "swapoff", "acct",
    "settimeofday", "clock_settime", "stime", "iopl", "ioperm", "lookup_dcookie", "quotactl",
    "quotactl_fd", "syslog", "userfaultfd", "vhangup", "_sysctl", "mbind", "set_mempolicy",
    "get_mempolicy", "move_pages", "migrate_pages", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "sethostname", "setdomainname", "kcmp",
    "pidfd_getfd", "process_madvise", "fanotify_init", "nfsservctl", "uselib", "ustat",
    "sysfs", "create_module", "get_kernel_syms", "query_module", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "clone3", "clone", "personality", "socket",
  };
  cleanup_json json_object *profile = berth_seccomp_docker_default ();
  cleanup_seccomp struct berth_seccomp *s = NULL;
  cleanup_error berth_error_t err = NULL;
  json_object *allow, *syscalls, *r, *arg;
  size_t i, n_personality = 0;

  TAP_CHECK (profile != NULL);
  if (berth_seccomp_parse (profile, WHERE, &s, &err) < 0)
    TAP_FAIL ("Docker's default rejected: %s", err->msg);

  TAP_CHECK_STR_EQ (json_object_get_string (get (profile, "defaultAction")), "SCMP_ACT_ERRNO");
  TAP_CHECK_INT_EQ (json_object_get_int (get (profile, "defaultErrnoRet")), EPERM);
  TAP_CHECK_INT_EQ (json_object_array_length (get (profile, "architectures")), 5);
  TAP_CHECK (string_in (get (profile, "architectures"), "SCMP_ARCH_X86_64"));
  TAP_CHECK (string_in (get (profile, "architectures"), "SCMP_ARCH_X86"));
  TAP_CHECK (string_in (get (profile, "architectures"), "SCMP_ARCH_X32"));
  TAP_CHECK (string_in (get (profile, "architectures"), "SCMP_ARCH_AARCH64"));
  TAP_CHECK (string_in (get (profile, "architectures"), "SCMP_ARCH_ARM"));

  syscalls = get (profile, "syscalls");
  allow = get (json_object_array_get_idx (syscalls, 0), "names");
  TAP_CHECK_INT_EQ (json_object_array_length (allow), 361); /* moby/profiles v0.2.3 */

  for (i = 0; i < BERTH_ARRAY_SIZE (allowed); i++)
    if (!rule_lists (profile, "SCMP_ACT_ALLOW", false, allowed[i]))
      TAP_FAIL ("%s is not allowed unconditionally", allowed[i]);
  for (i = 0; i < BERTH_ARRAY_SIZE (denied); i++)
    if (rule_lists (profile, "SCMP_ACT_ALLOW", false, denied[i]))
      TAP_FAIL ("%s is allowed unconditionally", denied[i]);

  /* Conditional rules: personality, clone, clone3.  */
  for (i = 0; i < json_object_array_length (syscalls); i++)
    {
      const char *name;

      r = json_object_array_get_idx (syscalls, i);
      name = json_object_get_string (json_object_array_get_idx (get (r, "names"), 0));
      if (strcmp (name, "personality") == 0)
        {
          static const uint64_t values[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

          TAP_CHECK_STR_EQ (json_object_get_string (get (r, "action")), "SCMP_ACT_ALLOW");
          arg = json_object_array_get_idx (get (r, "args"), 0);
          TAP_CHECK_INT_EQ (json_object_get_int (get (arg, "index")), 0);
          TAP_CHECK_STR_EQ (json_object_get_string (get (arg, "op")), "SCMP_CMP_EQ");
          TAP_CHECK (n_personality < BERTH_ARRAY_SIZE (values));
          TAP_CHECK (json_object_get_uint64 (get (arg, "value")) == values[n_personality]);
          n_personality++;
        }
      else if (strcmp (name, "clone") == 0)
        {
          TAP_CHECK_STR_EQ (json_object_get_string (get (r, "action")), "SCMP_ACT_ALLOW");
          TAP_CHECK_INT_EQ (json_object_array_length (get (r, "args")), 1);
          arg = json_object_array_get_idx (get (r, "args"), 0);
          TAP_CHECK_INT_EQ (json_object_get_int (get (arg, "index")), 0);
          TAP_CHECK_INT_EQ (json_object_get_int64 (get (arg, "value")), 2114060288);
          TAP_CHECK_INT_EQ (json_object_get_int64 (get (arg, "valueTwo")), 0);
          TAP_CHECK_STR_EQ (json_object_get_string (get (arg, "op")), "SCMP_CMP_MASKED_EQ");
        }
      else if (strcmp (name, "clone3") == 0)
        {
          TAP_CHECK_STR_EQ (json_object_get_string (get (r, "action")), "SCMP_ACT_ERRNO");
          TAP_CHECK_INT_EQ (json_object_get_int (get (r, "errnoRet")), ENOSYS);
        }
    }
  TAP_CHECK_INT_EQ (n_personality, 5);
  TAP_CHECK (rule_lists (profile, "SCMP_ACT_ALLOW", true, "clone"));
  TAP_CHECK (rule_lists (profile, "SCMP_ACT_ERRNO", false, "clone3"));
  TAP_CHECK (rule_lists (profile, "SCMP_ACT_ALLOW", true, "socket"));

  /* It serializes: `berth-runtime spec` may print it.  */
  TAP_CHECK (json_object_to_json_string (profile) != NULL);
  return 0;
}

/* ---- loading, in children.  */

typedef int (*child_fn) (char *msg, size_t size);

static int child_fail (char *msg, size_t size, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static int
child_fail (char *msg, size_t size, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, size, fmt, ap);
  va_end (ap);
  return -1;
}

/* expr must fail with errno e.  */
#define CHILD_EXPECT_ERRNO(expr, e)                                                                 \
  do                                                                                                \
    {                                                                                               \
      long ret_ = (long) (expr);                                                                    \
      if (ret_ != -1 || errno != (e))                                                               \
        return child_fail (msg, size, "%s: expected -1/%s, got %ld/%s", #expr, strerror (e), ret_, \
                           ret_ == -1 ? strerror (errno) : "no error");                             \
    }                                                                                               \
  while (0)

#define CHILD_EXPECT_OK(expr)                                                                      \
  do                                                                                               \
    {                                                                                              \
      if ((long) (expr) < 0)                                                                       \
        return child_fail (msg, size, "%s failed: %s", #expr, strerror (errno));                  \
    }                                                                                              \
  while (0)

/* Parse the profile and load it after no_new_privs; the error, if any, into msg.  */
static int
child_load (json_object *profile, char *msg, size_t size)
{
  cleanup_seccomp struct berth_seccomp *s = NULL;
  cleanup_error berth_error_t err = NULL;

  if (berth_seccomp_parse (profile, WHERE, &s, &err) < 0 || berth_seccomp_load (s, &err) < 0)
    return child_fail (msg, size, "%s", err->msg);
  return 0;
}

static int
child_load_text (const char *text, char *msg, size_t size)
{
  cleanup_json json_object *profile = json_q (text);

  if (profile == NULL)
    return child_fail (msg, size, "not JSON: %s", text);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return child_fail (msg, size, "prctl PR_SET_NO_NEW_PRIVS: %s", strerror (errno));
  return child_load (profile, msg, size);
}

/* Run fn in a child; 0 if it returned 0, else -1 with its message as a diagnostic.  */
static int
run_child (const char *name, child_fn fn, bool leak_check)
{
  char msg[1024] = "";
  int fds[2], status;
  ssize_t n;
  pid_t pid;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    TAP_FAIL ("pipe2: %s", strerror (errno));
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    TAP_FAIL ("fork: %s", strerror (errno));
  if (pid == 0)
    {
      char child_msg[1024] = "";
      int ret;

      close (fds[0]);
      ret = fn (child_msg, sizeof (child_msg));
      if (ret < 0)
        {
          berth_write_all (fds[1], child_msg, strlen (child_msg));
          _exit (1);
        }
      /* exit, not _exit: under test-asan LeakSanitizer then checks the child too, with its
         filter loaded (stdout was flushed before the fork).  Not when getppid is denied:
         LeakSanitizer's tracer would take that for its parent's death and the child would
         wait for it forever.  */
      if (leak_check)
        exit (0);
      _exit (0);
    }
  close (fds[1]);
  n = read (fds[0], msg, sizeof (msg) - 1);
  close (fds[0]);
  if (n > 0)
    msg[n] = '\0';
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      TAP_FAIL ("waitpid: %s", strerror (errno));
  if (WIFSIGNALED (status))
    TAP_FAIL ("%s: child killed by signal %d %s", name, WTERMSIG (status), msg);
  if (WEXITSTATUS (status) != 0)
    TAP_FAIL ("%s: %s", name, *msg ? msg : "child failed without a message");
  return 0;
}

/* (a) getppid denied with EPERM, everything else allowed.  Also: listed architectures
   (the native one among them: EEXIST), flags, an unknown name, a rule equal to the default,
   names of other architectures.  */
static int
child_deny_getppid (char *msg, size_t size)
{
  if (child_load_text ("{'defaultAction':'SCMP_ACT_ALLOW',"
                       "'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32',"
                       "'SCMP_ARCH_AARCH64','SCMP_ARCH_ARM'],"
                       "'flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG'],"
                       "'syscalls':[{'names':['getppid','no_such_syscall'],'action':'SCMP_ACT_ERRNO',"
                       "'errnoRet':1},{'names':['getpid'],'action':'SCMP_ACT_ALLOW'},"
                       "{'names':['breakpoint','arch_prctl'],'action':'SCMP_ACT_ERRNO'}]}",
                       msg, size)
      < 0)
    return -1;
  CHILD_EXPECT_ERRNO (syscall (SYS_getppid), EPERM);
  if (syscall (SYS_getpid) != getpid ())
    return child_fail (msg, size, "getpid() does not work");
  CHILD_EXPECT_OK (syscall (SYS_gettid));
  return 0;
}

static int
test_load_deny_getppid (void)
{
  return run_child ("deny getppid", child_deny_getppid, false);
}

/* (b) Docker's default.  */
static int
child_docker_default (char *msg, size_t size)
{
  cleanup_json json_object *profile = berth_seccomp_docker_default ();
  char buf[8] = "";
  int fds[2], status;
  long ret;
  pid_t pid;

  /* As root, a private mount namespace: should the filter let mount through, it would
     mount on this namespace's /tmp only.  */
  if (geteuid () == 0)
    {
      CHILD_EXPECT_OK (unshare (CLONE_NEWNS));
      CHILD_EXPECT_OK (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    }
  CHILD_EXPECT_OK (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  if (child_load (profile, msg, size) < 0)
    return -1;

  CHILD_EXPECT_ERRNO (mount ("none", "/tmp", "tmpfs", 0, NULL), EPERM);
  CHILD_EXPECT_ERRNO (umount2 ("/proc", MNT_DETACH), EPERM);
  CHILD_EXPECT_ERRNO (unshare (CLONE_NEWNS), EPERM);
  CHILD_EXPECT_ERRNO (setns (0, CLONE_NEWNET), EPERM);
  CHILD_EXPECT_ERRNO (syscall (SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0), EPERM);
  CHILD_EXPECT_ERRNO (syscall (SYS_add_key, "user", "berth-test", "x", 1, -2 /* process keyring */), EPERM);
  CHILD_EXPECT_ERRNO (syscall (SYS_bpf, 0, NULL, 0), EPERM);
  CHILD_EXPECT_ERRNO (syscall (SYS_clone3, NULL, 0), ENOSYS);
  CHILD_EXPECT_ERRNO (personality (0x0006 /* PER_BSD */), EPERM);
  CHILD_EXPECT_ERRNO (socket (40 /* AF_VSOCK */, SOCK_STREAM, 0), EPERM);

  /* clone with a namespace flag: denied, so no child may appear.  */
  ret = syscall (SYS_clone, CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, NULL);
  if (ret == 0)
    _exit (0);
  if (ret > 0)
    {
      waitpid ((pid_t) ret, NULL, 0);
      return child_fail (msg, size, "clone(CLONE_NEWUTS) was allowed");
    }
  if (errno != EPERM)
    return child_fail (msg, size, "clone(CLONE_NEWUTS): expected EPERM, got %s", strerror (errno));

  /* What programs need still works.  */
  CHILD_EXPECT_OK (personality (0xffffffff));
  CHILD_EXPECT_OK (syscall (SYS_getppid));
  pid = fork ();
  if (pid < 0)
    return child_fail (msg, size, "fork: %s", strerror (errno));
  if (pid == 0)
    _exit (7);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 7)
    return child_fail (msg, size, "fork: the grandchild did not exit with 7");
  CHILD_EXPECT_OK (pipe2 (fds, O_CLOEXEC));
  if (write (fds[1], "ok", 2) != 2 || read (fds[0], buf, sizeof (buf) - 1) != 2 || strcmp (buf, "ok") != 0)
    return child_fail (msg, size, "write/read on a pipe: %s", strerror (errno));
  close (fds[0]);
  close (fds[1]);
  ret = socket (AF_UNIX, SOCK_STREAM, 0);
  CHILD_EXPECT_OK (ret);
  close ((int) ret);
  return 0;
}

static int
test_load_docker_default (void)
{
  return run_child ("Docker default", child_docker_default, true);
}

/* (c) argument conditions: personality only for 0 (NE); getpriority denied for
   which & 3 == 2 (PRIO_USER, MASKED_EQ with valueTwo).  */
static int
child_arg_filter (char *msg, size_t size)
{
  if (child_load_text ("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':["
                       "{'names':['personality'],'action':'SCMP_ACT_ERRNO','errnoRet':13,"
                       "'args':[{'index':0,'value':0,'op':'SCMP_CMP_NE'}]},"
                       "{'names':['getpriority'],'action':'SCMP_ACT_ERRNO','errnoRet':22,"
                       "'args':[{'index':0,'value':3,'valueTwo':2,'op':'SCMP_CMP_MASKED_EQ'}]}]}",
                       msg, size)
      < 0)
    return -1;
  CHILD_EXPECT_OK (personality (0));
  CHILD_EXPECT_ERRNO (personality (0x0008), EACCES);
  CHILD_EXPECT_ERRNO (personality (0xffffffff), EACCES);
  CHILD_EXPECT_OK (syscall (SYS_getpriority, 0 /* PRIO_PROCESS */, 0));
  CHILD_EXPECT_OK (syscall (SYS_getpriority, 1 /* PRIO_PGRP */, 0));
  CHILD_EXPECT_ERRNO (syscall (SYS_getpriority, 2 /* PRIO_USER */, 0), EINVAL);
  return 0;
}

static int
test_load_arg_filter (void)
{
  return run_child ("argument filter", child_arg_filter, true);
}

/* Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses the filter; the error
   names the call.  libseccomp must not have set no_new_privs behind our back.  */
static int
child_load_refused (char *msg, size_t size)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  cleanup_json json_object *profile = json_q ("{'defaultAction':'SCMP_ACT_ALLOW'}");
  cleanup_seccomp struct berth_seccomp *s = NULL;
  cleanup_error berth_error_t err = NULL;

  memset (data, 0, sizeof (data));
  CHILD_EXPECT_OK (syscall (SYS_capset, &hdr, data)); /* no capabilities left */
  if (berth_seccomp_parse (profile, WHERE, &s, &err) < 0)
    return child_fail (msg, size, "%s", err->msg);
  if (berth_seccomp_load (s, &err) == 0)
    return child_fail (msg, size, "the filter was loaded without no_new_privs or CAP_SYS_ADMIN");
  if (strcmp (err->msg, "seccomp_load (needs no_new_privs or CAP_SYS_ADMIN): Permission denied") != 0
      || strcmp (err->op, "seccomp_load") != 0 || err->status != EACCES)
    return child_fail (msg, size, "unexpected error: %s (op %s, errno %d)", err->msg, err->op, err->status);
  if (prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
    return child_fail (msg, size, "no_new_privs was set");
  return 0;
}

static int
test_load_refused (void)
{
  return run_child ("load refused", child_load_refused, true);
}

static const struct tap_test tests[] = {
  TAP_TEST (test_parse_minimal),         TAP_TEST (test_parse_full),
  TAP_TEST (test_parse_errors),          TAP_TEST (test_parse_error_in_config),
  TAP_TEST (test_docker_default_contents), TAP_TEST (test_load_deny_getppid),
  TAP_TEST (test_load_docker_default),   TAP_TEST (test_load_arg_filter),
  TAP_TEST (test_load_refused),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
