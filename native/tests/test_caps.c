/*
 * Tests for src/caps.c.  Parsing runs in the test process; applying needs root and runs in
 * forked children (the sets only ever shrink), which write what they see (the Cap* lines of
 * /proc/self/status, the outcome of privileged calls, or the error) into a pipe: the parent
 * compares that text exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "error.h"
#include "fixtures.h"
#include "tap.h"
#include "utils.h"

#define NEED_ROOT "run the tests as root: sudo make -C native test"
#define WHERE "process.capabilities"
#define DOCKER_MASK UINT64_C (0x00000000a80425fb)
#define BIT(cap) (UINT64_C (1) << (cap))
#define UID 1000

/* ---- fixtures.  */

static void
cleanup_jsonp (json_object **o)
{
  json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (cleanup_jsonp)))

/* berth_caps_parse of a JSON text; *err holds the error on failure.  */
static int
parse_text (const char *text, const char *where, struct berth_caps *out, berth_error_t *err)
{
  cleanup_json json_object *obj = json_tokener_parse (text);

  if (obj == NULL && strcmp (text, "null") != 0)
    return berth_make_error (err, 0, "test: bad JSON `%s`", text);
  return berth_caps_parse (obj, where, out, err);
}

/* /proc/sys/kernel/cap_last_cap of the test host, or -1.  */
static int
host_last_cap (void)
{
  cleanup_free char *data = NULL;
  berth_error_t err = NULL;

  if (berth_read_file ("/proc/sys/kernel/cap_last_cap", &data, NULL, &err) < 0)
    {
      berth_error_release (&err);
      return -1;
    }
  return atoi (data);
}

/* The field ("CapPrm") of this process's /proc/self/status, or -1 with *out untouched.  */
static int
own_caps (const char *field, uint64_t *out)
{
  cleanup_free char *status = NULL;
  cleanup_free char *key = xasprintf ("\n%s:\t", field);
  berth_error_t err = NULL;
  const char *p;

  if (berth_read_file ("/proc/self/status", &status, NULL, &err) < 0)
    {
      berth_error_release (&err);
      return -1;
    }
  p = strstr (status, key);
  if (p == NULL)
    return -1;
  *out = strtoull (p + strlen (key), NULL, 16);
  return 0;
}

/* A set of "CAP_*" names (NULL-terminated) as a mask.  */
static uint64_t
names_mask (const char *const *names)
{
  uint64_t mask = 0;

  for (; *names; names++)
    mask |= BIT (berth_caps_from_name (*names));
  return mask;
}

/* The five Cap* lines of /proc/self/status, as they are.  */
static void
write_status_caps (int fd)
{
  cleanup_free char *status = NULL;
  berth_error_t err = NULL;
  char *line, *save = NULL;

  if (berth_read_file ("/proc/self/status", &status, NULL, &err) < 0)
    {
      dprintf (fd, "read /proc/self/status: %s\n", err->msg);
      berth_error_release (&err);
      return;
    }
  for (line = strtok_r (status, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (strncmp (line, "Cap", 3) == 0)
      dprintf (fd, "%s\n", line);
}

/* "CapInh:\t<inh>\n..." as /proc/self/status shows them.  */
static char *
expected_status (uint64_t inh, uint64_t prm, uint64_t eff, uint64_t bnd, uint64_t amb)
{
  return xasprintf ("CapInh:\t%016" PRIx64 "\nCapPrm:\t%016" PRIx64 "\nCapEff:\t%016" PRIx64
                    "\nCapBnd:\t%016" PRIx64 "\nCapAmb:\t%016" PRIx64 "\n",
                    inh, prm, eff, bnd, amb);
}

/* Run fn (out_fd) in a forked child; *out gets everything it wrote, *status its wait status.  */
static int
run_child (int (*fn) (int out_fd), char **out, int *status)
{
  cleanup_close int rfd = -1;
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 4096;
  int fds[2];
  pid_t pid;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return -1;
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      return -1;
    }
  if (pid == 0)
    {
      close (fds[0]);
      _exit (fn (fds[1]) == 0 ? 0 : 1);
    }
  close (fds[1]);
  rfd = fds[0];

  buf = xmalloc0 (cap);
  for (;;)
    {
      ssize_t n;

      if (len + 1 >= cap)
        {
          buf = xrealloc (buf, cap * 2);
          cap *= 2;
        }
      n = read (rfd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  buf[len] = '\0';
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return -1;
  *out = steal_pointer (&buf);
  return 0;
}

/* Run fn in a child; the test passes when it exits 0 and wrote exactly `expected`.  */
#define CHECK_CHILD(fn, expected)                                                   \
  do                                                                                \
    {                                                                               \
      cleanup_free char *out_ = NULL;                                               \
      int status_ = 0;                                                              \
      TAP_CHECK_INT_EQ (run_child (fn, &out_, &status_), 0);                       \
      TAP_CHECK_STR_EQ (out_, expected);                                            \
      if (!WIFEXITED (status_) || WEXITSTATUS (status_) != 0)                       \
        TAP_FAIL ("child %s: wait status %#x", #fn, (unsigned) status_);            \
    }                                                                               \
  while (0)

/* In a child: report a library error and fail.  */
static int
child_error (int fd, const char *what, berth_error_t *err)
{
  dprintf (fd, "%s: %s\n", what, *err ? (*err)->msg : "(no message)");
  berth_error_release (err);
  return -1;
}

static struct berth_caps
docker_caps (void)
{
  uint64_t docker = names_mask (berth_caps_docker_default);
  struct berth_caps c = { .bounding = docker, .effective = docker, .permitted = docker };

  return c;
}

/* In a child: bounding set to Docker's, then uid 1000 keeping the permitted set.  */
static int
child_drop_to_uid (int fd, const struct berth_caps *c)
{
  berth_error_t err = NULL;

  if (berth_caps_apply_bounding (c, &err) < 0)
    return child_error (fd, "berth_caps_apply_bounding", &err);
  if (setresuid (UID, UID, UID) < 0)
    {
      dprintf (fd, "setresuid: %s\n", strerror (errno));
      return -1;
    }
  return 0;
}

/* ---- names and the Docker set.  */

static int
test_names (void)
{
  int cap;

  TAP_CHECK_STR_EQ (berth_caps_name (0), "CAP_CHOWN");
  TAP_CHECK_STR_EQ (berth_caps_name (21), "CAP_SYS_ADMIN");
  TAP_CHECK_STR_EQ (berth_caps_name (40), "CAP_CHECKPOINT_RESTORE");
  TAP_CHECK (berth_caps_name (41) == NULL);
  TAP_CHECK (berth_caps_name (-1) == NULL);
  TAP_CHECK_INT_EQ (berth_caps_from_name ("CAP_NET_BIND_SERVICE"), 10);
  TAP_CHECK_INT_EQ (berth_caps_from_name ("CAP_BPF"), 39);
  TAP_CHECK_INT_EQ (berth_caps_from_name ("cap_chown"), -1);
  TAP_CHECK_INT_EQ (berth_caps_from_name ("CHOWN"), -1);
  TAP_CHECK_INT_EQ (berth_caps_from_name (""), -1);
  for (cap = 0; cap <= 40; cap++)
    {
      TAP_CHECK (berth_caps_name (cap) != NULL);
      TAP_CHECK_INT_EQ (berth_caps_from_name (berth_caps_name (cap)), cap);
    }
  return 0;
}

static int
test_docker_default (void)
{
  static const char *const expected[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",       "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",            "CAP_SYS_CHROOT",       "CAP_KILL",       "CAP_AUDIT_WRITE",
  };
  cleanup_json json_object *obj = json_object_new_object ();
  json_object *set = json_object_new_array ();
  struct berth_caps c;
  berth_error_t err = NULL;
  size_t i;

  for (i = 0; berth_caps_docker_default[i]; i++)
    {
      TAP_CHECK (i < BERTH_ARRAY_SIZE (expected));
      TAP_CHECK_STR_EQ (berth_caps_docker_default[i], expected[i]);
      json_object_array_add (set, json_object_new_string (berth_caps_docker_default[i]));
    }
  TAP_CHECK_INT_EQ (i, BERTH_ARRAY_SIZE (expected));
  json_object_object_add (obj, "bounding", json_object_get (set));
  json_object_object_add (obj, "effective", json_object_get (set));
  json_object_object_add (obj, "permitted", set);

  if (berth_caps_parse (obj, WHERE, &c, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK (c.bounding == DOCKER_MASK);
  TAP_CHECK (c.effective == DOCKER_MASK);
  TAP_CHECK (c.permitted == DOCKER_MASK);
  TAP_CHECK (c.inheritable == 0);
  TAP_CHECK (c.ambient == 0);
  return 0;
}

/* ---- berth_caps_parse.  */

static int
test_parse_good (void)
{
  struct berth_caps c;
  berth_error_t err = NULL;

  memset (&c, 0xff, sizeof (c));
  if (parse_text ("{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_KILL\"],"
                  "\"effective\":[\"CAP_NET_BIND_SERVICE\"],"
                  "\"permitted\":[\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_ADMIN\"],"
                  "\"inheritable\":[],\"ambient\":[\"CAP_CHECKPOINT_RESTORE\"]}",
                  WHERE, &c, &err)
      < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK (c.bounding == (BIT (0) | BIT (5)));
  TAP_CHECK (c.effective == BIT (10));
  TAP_CHECK (c.permitted == (BIT (10) | BIT (21)));
  TAP_CHECK (c.inheritable == 0);
  TAP_CHECK (c.ambient == BIT (40));

  /* Missing or null sets are empty; unknown members are left alone.  */
  memset (&c, 0xff, sizeof (c));
  if (parse_text ("{\"permitted\":null,\"ambient\":[\"CAP_BPF\"],\"futureSet\":[1]}", WHERE, &c, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK (c.bounding == 0 && c.effective == 0 && c.permitted == 0 && c.inheritable == 0);
  TAP_CHECK (c.ambient == BIT (39));

  memset (&c, 0xff, sizeof (c));
  if (parse_text ("{}", WHERE, &c, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK (c.bounding == 0 && c.effective == 0 && c.permitted == 0 && c.inheritable == 0
             && c.ambient == 0);
  TAP_CHECK (err == NULL);
  return 0;
}

static int
test_parse_every_name (void)
{
  cleanup_json json_object *obj = json_object_new_object ();
  json_object *set = json_object_new_array ();
  int last = host_last_cap ();
  struct berth_caps c;
  berth_error_t err = NULL;
  int cap;

  TAP_REQUIRE (last >= 0, "mount /proc");
  for (cap = 0; cap <= last && berth_caps_name (cap); cap++)
    json_object_array_add (set, json_object_new_string (berth_caps_name (cap)));
  json_object_object_add (obj, "bounding", set);
  if (berth_caps_parse (obj, WHERE, &c, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK (c.bounding == (BIT (cap) - 1));
  TAP_CHECK_INT_EQ (cap, last < 40 ? last + 1 : 41);
  return 0;
}

#define REJECT(text, where, expected)                                          \
  do                                                                           \
    {                                                                          \
      struct berth_caps c_;                                                    \
      berth_error_t err_ = NULL;                                               \
      int ret_ = parse_text (text, where, &c_, &err_);                         \
      if (ret_ >= 0)                                                           \
        TAP_FAIL ("accepted: %s", text);                                       \
      if (strcmp (err_->msg, expected) != 0 || err_->status != 0               \
          || err_->op == NULL || strcmp (err_->op, "config") != 0)             \
        {                                                                      \
          tap_diag ("%s\ngot:      \"%s\" (status %d, op %s)\nexpected: \"%s\"", \
                    text, err_->msg, err_->status, err_->op ? err_->op : "NULL", \
                    expected);                                                 \
          berth_error_release (&err_);                                         \
          return -1;                                                           \
        }                                                                      \
      berth_error_release (&err_);                                             \
    }                                                                          \
  while (0)

static int
test_parse_bad (void)
{
  REJECT ("{\"bounding\":[\"CAP_CHOWN\",\"CAP_NOPE\"]}", WHERE,
          "process.capabilities.bounding[1] \"CAP_NOPE\" is not a capability");
  REJECT ("{\"effective\":[\"cap_chown\"]}", WHERE,
          "process.capabilities.effective[0] \"cap_chown\" is not a capability");
  REJECT ("{\"permitted\":[\"CHOWN\"]}", WHERE,
          "process.capabilities.permitted[0] \"CHOWN\" is not a capability");
  REJECT ("{\"inheritable\":[\"\"]}", WHERE, "process.capabilities.inheritable[0] \"\" is not a capability");
  REJECT ("{\"ambient\":[\"CAP_KILL\",1]}", WHERE, "process.capabilities.ambient[1] must be a string");
  REJECT ("{\"ambient\":[null]}", WHERE, "process.capabilities.ambient[0] must be a string");
  REJECT ("{\"bounding\":[\"CAP_CHOWN\"],\"effective\":\"CAP_CHOWN\"}", WHERE,
          "process.capabilities.effective must be an array of strings");
  REJECT ("{\"permitted\":{}}", WHERE, "process.capabilities.permitted must be an array of strings");
  REJECT ("[\"CAP_CHOWN\"]", WHERE, "process.capabilities must be an object");
  REJECT ("\"CAP_CHOWN\"", WHERE, "process.capabilities must be an object");
  REJECT ("null", WHERE, "process.capabilities must be an object");
  /* A process.json names its fields from the top.  */
  REJECT ("{\"bounding\":[\"CAP_X\"]}", "capabilities", "capabilities.bounding[0] \"CAP_X\" is not a capability");
  REJECT ("{\"bounding\":[\"CAP_X\"]}", "", "bounding[0] \"CAP_X\" is not a capability");
  return 0;
}

static int
test_parse_nul (void)
{
  cleanup_json json_object *obj = json_object_new_object ();
  json_object *set = json_object_new_array ();
  struct berth_caps c;
  berth_error_t err = NULL;

  json_object_array_add (set, json_object_new_string_len ("CAP_CHOWN\0x", 11));
  json_object_object_add (obj, "bounding", set);
  TAP_CHECK (berth_caps_parse (obj, WHERE, &c, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "process.capabilities.bounding[0] must not contain a NUL character");
  berth_error_release (&err);
  return 0;
}

/* With /proc/sys/kernel/cap_last_cap saying 38 (bind-mounted over, in a private mount
   namespace), CAP_BPF (39) is refused as unknown to this kernel.  */
static int
child_old_kernel (int fd)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *fake = NULL;
  struct berth_caps c;
  berth_error_t err = NULL;

  if (dir == NULL || unshare (CLONE_NEWNS) < 0
      || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      dprintf (fd, "setup: %s\n", strerror (errno));
      return -1;
    }
  fake = xasprintf ("%s/cap_last_cap", dir);
  if (berth_write_file_replace (fake, "38\n", 3, 0644, &err) < 0)
    return child_error (fd, "write", &err);
  if (mount (fake, "/proc/sys/kernel/cap_last_cap", NULL, MS_BIND, NULL) < 0)
    {
      dprintf (fd, "bind mount over cap_last_cap: %s\n", strerror (errno));
      return -1;
    }

  if (parse_text ("{\"bounding\":[\"CAP_PERFMON\"]}", WHERE, &c, &err) < 0)
    child_error (fd, "CAP_PERFMON", &err);
  else
    dprintf (fd, "CAP_PERFMON: %#" PRIx64 "\n", c.bounding);
  if (parse_text ("{\"bounding\":[\"CAP_CHOWN\"],\"ambient\":[\"CAP_KILL\",\"CAP_BPF\"]}", WHERE, &c, &err) < 0)
    dprintf (fd, "%s (op %s, status %d)\n", err->msg, err->op, err->status);
  else
    dprintf (fd, "CAP_BPF accepted\n");
  berth_error_release (&err);
  umount2 ("/proc/sys/kernel/cap_last_cap", MNT_DETACH);
  return 0;
}

static int
test_parse_kernel_lacks (void)
{
  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  CHECK_CHILD (child_old_kernel,
               "CAP_PERFMON: 0x4000000000\n"
               "process.capabilities.ambient[1] \"CAP_BPF\" is not supported by this kernel "
               "(its last capability is CAP_PERFMON) (op config, status 0)\n");
  return 0;
}

/* ---- applying, in children.  */

/* Docker's set as uid 1000: what the kernel shows, and what the set allows.  */
static int
child_docker_uid (int fd)
{
  struct berth_caps c = docker_caps ();
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *file = NULL;
  berth_error_t err = NULL;
  struct stat st;

  if (dir == NULL)
    {
      dprintf (fd, "mkdtemp: %s\n", strerror (errno));
      return -1;
    }
  file = xasprintf ("%s/owned", dir);
  if (berth_write_file_replace (file, "x", 1, 0600, &err) < 0)
    return child_error (fd, "write", &err);

  if (child_drop_to_uid (fd, &c) < 0)
    return -1;
  /* setresuid cleared the effective set, kept the permitted one (PR_SET_KEEPCAPS).  */
  write_status_caps (fd);
  if (berth_caps_apply (&c, &err) < 0)
    return child_error (fd, "berth_caps_apply", &err);
  write_status_caps (fd);

  /* KEEPCAPS is off again.  */
  dprintf (fd, "keepcaps %d\n", prctl (PR_GET_KEEPCAPS, 0, 0, 0, 0));
  /* CAP_SYS_ADMIN is gone: a new mount namespace is refused (harmless if it were not).  */
  if (unshare (CLONE_NEWNS) < 0)
    dprintf (fd, "unshare CLONE_NEWNS: %s\n", strerror (errno));
  else
    dprintf (fd, "unshare CLONE_NEWNS: allowed\n");
  /* CAP_CHOWN and CAP_DAC_OVERRIDE are there: uid 1000 takes a root file in a 0700 dir.  */
  if (chown (file, UID, UID) < 0 || stat (file, &st) < 0)
    dprintf (fd, "chown: %s\n", strerror (errno));
  else
    dprintf (fd, "chown: owner %u\n", (unsigned) st.st_uid);
  /* The permitted set only shrinks.  */
  c.permitted |= BIT (CAP_SYS_ADMIN);
  if (berth_caps_apply (&c, &err) < 0)
    dprintf (fd, "%s (op %s)\n", err->msg, err->op);
  berth_error_release (&err);

  return 0;
}

static int
test_apply_docker_as_uid (void)
{
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  cleanup_free char *expected = NULL;

  uint64_t prm;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_CHECK (own_caps ("CapPrm", &prm) == 0);
  /* The uid change clears the effective set and keeps the permitted one as it was (the
     bounding set only limits what later capsets and execs may gain).  */
  before = expected_status (0, prm, 0, DOCKER_MASK, 0);
  after = expected_status (0, DOCKER_MASK, DOCKER_MASK, DOCKER_MASK, 0);
  expected = xasprintf ("%s%skeepcaps 0\n"
                        "unshare CLONE_NEWNS: Operation not permitted\n"
                        "chown: owner %d\n"
                        "capset: CAP_SYS_ADMIN is not in the permitted set of this process (it can only "
                        "shrink): Operation not permitted (op capset)\n",
                        before, after, UID);
  CHECK_CHILD (child_docker_uid, expected);
  return 0;
}

/* Without PR_SET_KEEPCAPS (which berth_caps_apply_bounding sets) the uid change empties the
   permitted set, and capset says which capability it can no longer have.  */
static int
child_no_keepcaps (int fd)
{
  struct berth_caps c = docker_caps ();
  berth_error_t err = NULL;

  if (berth_caps_apply_bounding (&c, &err) < 0)
    return child_error (fd, "berth_caps_apply_bounding", &err);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setresuid (UID, UID, UID) < 0)
    {
      dprintf (fd, "setup: %s\n", strerror (errno));
      return -1;
    }
  write_status_caps (fd);
  if (berth_caps_apply (&c, &err) < 0)
    dprintf (fd, "%s\n", err->msg);
  berth_error_release (&err);
  return 0;
}

static int
test_keepcaps (void)
{
  cleanup_free char *expected = NULL;
  cleanup_free char *status = NULL;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  status = expected_status (0, 0, 0, DOCKER_MASK, 0);
  expected = xasprintf ("%scapset: CAP_CHOWN is not in the permitted set of this process (it can only "
                        "shrink): Operation not permitted\n",
                        status);
  CHECK_CHILD (child_no_keepcaps, expected);
  return 0;
}

/* An ambient capability as uid 1000, kept across execve of /bin/cat (which reads its own
   status): without file capabilities only the ambient set survives the exec.  */
static int
child_ambient_exec (int fd)
{
  struct berth_caps c = docker_caps ();
  berth_error_t err = NULL;

  c.inheritable = BIT (CAP_NET_BIND_SERVICE);
  c.ambient = BIT (CAP_NET_BIND_SERVICE);
  if (child_drop_to_uid (fd, &c) < 0)
    return -1;
  if (berth_caps_apply (&c, &err) < 0)
    return child_error (fd, "berth_caps_apply", &err);
  write_status_caps (fd);
  if (dup2 (fd, STDOUT_FILENO) < 0)
    {
      dprintf (fd, "dup2: %s\n", strerror (errno));
      return -1;
    }
  execl ("/bin/grep", "grep", "^Cap", "/proc/self/status", (char *) NULL);
  dprintf (fd, "execl /bin/grep: %s\n", strerror (errno));
  return -1;
}

static int
test_apply_ambient (void)
{
  const uint64_t nbs = BIT (CAP_NET_BIND_SERVICE);
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  cleanup_free char *expected = NULL;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  TAP_REQUIRE (access ("/bin/grep", X_OK) == 0, "apt-get install -y grep");
  before = expected_status (nbs, DOCKER_MASK, DOCKER_MASK, DOCKER_MASK, nbs);
  after = expected_status (nbs, nbs, nbs, DOCKER_MASK, nbs);
  expected = xasprintf ("%s%s", before, after);
  CHECK_CHILD (child_ambient_exec, expected);
  return 0;
}

/* An ambient capability missing from inheritable (or permitted) is refused, naming it.  */
static int
child_ambient_bad (int fd)
{
  struct berth_caps c = docker_caps ();
  berth_error_t err = NULL;

  c.ambient = BIT (CAP_NET_BIND_SERVICE);
  if (berth_caps_apply (&c, &err) < 0)
    dprintf (fd, "%s (op %s, status %d)\n", err->msg, err->op, err->status);
  berth_error_release (&err);

  c.inheritable = BIT (CAP_SYS_ADMIN);
  c.ambient = BIT (CAP_SYS_ADMIN);
  if (berth_caps_apply (&c, &err) < 0)
    dprintf (fd, "%s\n", err->msg);
  berth_error_release (&err);

  /* effective must be within permitted.  */
  c = docker_caps ();
  c.effective |= BIT (CAP_SYS_PTRACE);
  if (berth_caps_apply (&c, &err) < 0)
    dprintf (fd, "%s\n", err->msg);
  berth_error_release (&err);
  return 0;
}

static int
test_apply_ambient_not_inheritable (void)
{
  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  CHECK_CHILD (child_ambient_bad,
               "prctl PR_CAP_AMBIENT_RAISE CAP_NET_BIND_SERVICE: an ambient capability must also be in the "
               "permitted and inheritable sets (it is missing from inheritable): Operation not permitted "
               "(op prctl, status 1)\n"
               "prctl PR_CAP_AMBIENT_RAISE CAP_SYS_ADMIN: an ambient capability must also be in the "
               "permitted and inheritable sets (it is missing from permitted): Operation not permitted\n"
               "capset: CAP_SYS_PTRACE is in the effective set but not in the permitted set: "
               "Operation not permitted\n");
  return 0;
}

/* The bounding set alone, as root: every other capability is dropped, and a capability
   already out of it (this host may lack some) is no error.  */
static int
child_bounding_only (int fd)
{
  struct berth_caps c = { .bounding = BIT (CAP_SETPCAP) | BIT (CAP_KILL) };
  berth_error_t err = NULL;

  if (berth_caps_apply_bounding (&c, &err) < 0)
    return child_error (fd, "berth_caps_apply_bounding", &err);
  /* A second time: nothing left to drop, so no CAP_SETPCAP needed for the rest.  */
  if (berth_caps_apply_bounding (&c, &err) < 0)
    return child_error (fd, "berth_caps_apply_bounding again", &err);
  dprintf (fd, "keepcaps %d\n", prctl (PR_GET_KEEPCAPS, 0, 0, 0, 0));
  write_status_caps (fd);
  return 0;
}

static int
test_apply_bounding (void)
{
  cleanup_free char *status = NULL;
  cleanup_free char *expected = NULL;
  uint64_t inh, prm, eff;

  TAP_REQUIRE (geteuid () == 0, NEED_ROOT);
  /* The other sets stay the test's own: bounding does not touch them.  */
  TAP_CHECK (own_caps ("CapInh", &inh) == 0);
  TAP_CHECK (own_caps ("CapPrm", &prm) == 0);
  TAP_CHECK (own_caps ("CapEff", &eff) == 0);
  status = expected_status (inh, prm, eff, BIT (CAP_SETPCAP) | BIT (CAP_KILL), 0);
  expected = xasprintf ("keepcaps 1\n%s", status);
  CHECK_CHILD (child_bounding_only, expected);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_names),
  TAP_TEST (test_docker_default),
  TAP_TEST (test_parse_good),
  TAP_TEST (test_parse_every_name),
  TAP_TEST (test_parse_bad),
  TAP_TEST (test_parse_nul),
  TAP_TEST (test_parse_kernel_lacks),
  TAP_TEST (test_apply_docker_as_uid),
  TAP_TEST (test_keepcaps),
  TAP_TEST (test_apply_ambient),
  TAP_TEST (test_apply_ambient_not_inheritable),
  TAP_TEST (test_apply_bounding),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
