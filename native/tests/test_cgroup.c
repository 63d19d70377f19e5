/*
 * Unit tests for src/cgroup.c, cgroup-v1.c and cgroup-v2.c.  They use the host's real
 * cgroups, so they need root (a test fails, it does not skip, when not root).  Every cgroup
 * they make is under a unique "/berth-test-<pid>-<n>" and is removed again when the test
 * ends, whether it passed or not; mounts are made only in private mount namespaces of
 * forked children and go away with them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cgroup.h"
#include "error.h"
#include "fixtures.h"
#include "tap.h"
#include "utils.h"

#define NEEDS_ROOT()                                                                          \
  do                                                                                          \
    {                                                                                         \
      if (geteuid () != 0)                                                                    \
        TAP_FAIL ("this test needs root (real cgroups and mounts): run `make -C native test` " \
                  "as root");                                                                 \
    }                                                                                         \
  while (0)


/* enter as the front does it, for one backend: create, attach, roll back on failure.  */
static int
v1_enter (const struct berth_cgroup_hierarchies *hs, const char *path, pid_t pid, berth_error_t *err)
{
  struct berth_cgroup_created created = { NULL, 0 };
  int ret = berth_cgroup_v1_create (hs, path, &created, err);
  if (ret == 0)
    ret = berth_cgroup_v1_attach (hs, path, pid, err);
  if (ret < 0)
    berth_cgroup_rollback (&created);
  else
    berth_cgroup_created_free (&created);
  return ret;
}

static int
v2_enter (const char *root, const char *path, pid_t pid, berth_error_t *err)
{
  struct berth_cgroup_created created = { NULL, 0 };
  int ret = berth_cgroup_v2_create (root, path, &created, err);
  if (ret == 0)
    ret = berth_cgroup_v2_attach (root, path, pid, err);
  if (ret < 0)
    berth_cgroup_rollback (&created);
  else
    berth_cgroup_created_free (&created);
  return ret;
}

#define berth_cgroup_enter_t(path, pid, err) berth_cgroup_enter (path, pid, NULL, err)

static void
cleanup_errp (berth_error_t *err)
{
  berth_error_release (err);
}
#define cleanup_err __attribute__ ((cleanup (cleanup_errp)))

/* ---- the cgroup mount points, found here independently of the code under test.  */

struct mounts
{
  char **dirs;
  bool *v2;
  size_t n;
};

static void
mounts_free (struct mounts *m)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    free (m->dirs[i]);
  free (m->dirs);
  free (m->v2);
  m->dirs = NULL;
  m->v2 = NULL;
  m->n = 0;
}
#define cleanup_mounts __attribute__ ((cleanup (mounts_free)))

static int
read_mounts (struct mounts *m)
{
  cleanup_file FILE *f = fopen ("/proc/self/mountinfo", "re");
  cleanup_free char *line = NULL;
  size_t alloc = 0;

  if (f == NULL)
    return -1;
  while (getline (&line, &alloc, f) > 0)
    {
      char mp[PATH_MAX], fstype[64];
      const char *dash = strstr (line, " - ");
      size_t i;

      if (dash == NULL || sscanf (line, "%*s %*s %*s %*s %4095s", mp) != 1
          || sscanf (dash, " - %63s", fstype) != 1)
        continue;
      if (strcmp (fstype, "cgroup") != 0 && strcmp (fstype, "cgroup2") != 0)
        continue;
      for (i = 0; i < m->n; i++)
        if (strcmp (m->dirs[i], mp) == 0)
          break;
      if (i < m->n)
        continue;
      m->dirs = xrealloc (m->dirs, (m->n + 1) * sizeof (char *));
      m->v2 = xrealloc (m->v2, (m->n + 1) * sizeof (bool));
      m->dirs[m->n] = xstrdup (mp);
      m->v2[m->n] = strcmp (fstype, "cgroup2") == 0;
      m->n++;
    }
  return 0;
}

static bool
is_dir (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static void
rmdir_retry (const char *dir)
{
  int i;

  for (i = 0; i < 100; i++)
    {
      if (rmdir (dir) == 0 || errno != EBUSY)
        return;
      usleep (10000);
    }
}

/* ---- a test cgroup and a process to put in it, removed at the end of the test.  */

struct fixture
{
  char *parent; /* "/berth-test-<pid>-<n>" */
  char *leaf;   /* parent + "/c1" */
  pid_t child;
};

static void
fixture_cleanup (struct fixture *f)
{
  cleanup_mounts struct mounts m = { NULL, NULL, 0 };
  size_t i;

  if (f->child > 0)
    {
      kill (f->child, SIGKILL);
      waitpid (f->child, NULL, 0);
    }
  if (f->parent && read_mounts (&m) == 0)
    for (i = 0; i < m.n; i++)
      {
        cleanup_free char *leaf = xasprintf ("%s%s", m.dirs[i], f->leaf);
        cleanup_free char *parent = xasprintf ("%s%s", m.dirs[i], f->parent);

        rmdir_retry (leaf);
        rmdir_retry (parent);
      }
  free (f->parent);
  free (f->leaf);
}
#define cleanup_fixture __attribute__ ((cleanup (fixture_cleanup)))

static void
fixture_init (struct fixture *f)
{
  static int counter;

  f->parent = xasprintf ("/berth-test-%d-%d", (int) getpid (), counter++);
  f->leaf = xasprintf ("%s/c1", f->parent);
  f->child = -1;
}

/* A child that waits for its signal (and dies with the test process).  */
static pid_t
spawn_sleeper (void)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      for (;;)
        pause ();
    }
  return pid;
}

/* A pid that was just used and is gone.  */
static pid_t
dead_pid (void)
{
  pid_t pid = fork ();

  if (pid == 0)
    _exit (0);
  if (pid > 0)
    waitpid (pid, NULL, 0);
  return pid;
}

static void
kill_and_reap (pid_t *pid)
{
  if (*pid > 0)
    {
      kill (*pid, SIGKILL);
      waitpid (*pid, NULL, 0);
      *pid = -1;
    }
}

/* Whether the cgroup dir `path` exists under each of m (want true) or none (want false).  */
static bool
exists_everywhere (const struct mounts *m, const char *path, bool want)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    {
      cleanup_free char *dir = xasprintf ("%s%s", m->dirs[i], path);
      if (is_dir (dir) != want)
        {
          tap_diag ("%s %s", dir, want ? "is missing" : "still exists");
          return false;
        }
    }
  return true;
}

/* ---- paths.  */

static int
test_path_for (void)
{
  cleanup_free char *a = berth_cgroup_path_for (NULL, "web.1");
  cleanup_free char *b = berth_cgroup_path_for ("", "web.1");
  cleanup_free char *c = berth_cgroup_path_for ("/machine/web", "web.1");
  cleanup_free char *d = berth_cgroup_path_for ("apps/web", "web.1");

  TAP_CHECK_STR_EQ (a, "/berth/web.1");
  TAP_CHECK_STR_EQ (b, "/berth/web.1");
  TAP_CHECK_STR_EQ (c, "/machine/web");
  TAP_CHECK_STR_EQ (d, "/berth/apps/web");
  return 0;
}

static int
test_validate_path (void)
{
  static const char *const good[] = { "/berth/x", "/a", "/a//b/", "/a/.hidden/..b" };
  cleanup_err berth_error_t err = NULL;
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (good); i++)
    if (berth_cgroup_validate_path (good[i], &err) < 0)
      TAP_FAIL ("%s rejected: %s", good[i], err->msg);

  TAP_CHECK (berth_cgroup_validate_path ("/berth/../etc", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid cgroup path `/berth/../etc`: component `..` is not allowed");
  TAP_CHECK_STR_EQ (err->op, "validate_cgroup_path");
  TAP_CHECK_INT_EQ (err->status, 0);
  TAP_CHECK (berth_cgroup_validate_path ("/a/./b", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid cgroup path `/a/./b`: component `.` is not allowed");
  TAP_CHECK (berth_cgroup_validate_path ("/x/..", &err) < 0);
  TAP_CHECK (berth_cgroup_validate_path ("berth/x", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid cgroup path `berth/x`: not an absolute path");
  TAP_CHECK (berth_cgroup_validate_path ("/", &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "invalid cgroup path `/`: it names the root cgroup");
  TAP_CHECK (berth_cgroup_validate_path ("//", &err) < 0);
  TAP_CHECK (berth_cgroup_validate_path ("", &err) < 0);
  TAP_CHECK (berth_cgroup_validate_path (NULL, &err) < 0);

  /* The operations check too: nothing is touched for a bad path.  */
  TAP_CHECK (berth_cgroup_enter_t ("/berth/../../x", getpid (), &err) < 0);
  TAP_CHECK_STR_EQ (err->op, "validate_cgroup_path");
  TAP_CHECK (berth_cgroup_destroy ("/", &err) < 0);
  TAP_CHECK_STR_EQ (err->op, "validate_cgroup_path");
  return 0;
}

/* ---- mountinfo parsing.  */

static int
test_parse_mountinfo (void)
{
  static const char text[]
      = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "32 30 0:29 /sub /mnt/mem\\040sub rw - cgroup cgroup rw,memory\n"
        "33 30 0:29 / /sys/fs/cgroup/memory rw master:3 - cgroup cgroup rw,memory\n"
        "34 30 0:29 / /other/memory rw - cgroup cgroup rw,memory\n"
        "35 30 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,noprefix,"
        "release_agent=/x\n"
        "36 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "37 30 0:32 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
        "38 30 0:33 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio,"
        "name=odd\n";
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  const struct berth_cgroup_hierarchy *h;

  if (berth_cgroup_parse_mountinfo (text, &hs, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK_INT_EQ (hs.n, 6);

  h = &hs.items[0];
  TAP_CHECK_STR_EQ (h->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  TAP_CHECK_STR_EQ (h->name, "cpu,cpuacct");
  TAP_CHECK_STR_EQ (h->controllers, "cpu,cpuacct");
  TAP_CHECK_STR_EQ (h->mount_data, "cpu,cpuacct");
  TAP_CHECK_STR_EQ (h->proc_key, "cpu,cpuacct");
  TAP_CHECK (berth_cgroup_hierarchy_has (h, "cpu") && berth_cgroup_hierarchy_has (h, "cpuacct"));
  TAP_CHECK (! berth_cgroup_hierarchy_has (h, "cpus") && ! berth_cgroup_hierarchy_has (h, "cp"));

  /* The subtree mount came first; the mount of the root replaced it; the third is ignored.  */
  h = &hs.items[1];
  TAP_CHECK_STR_EQ (h->mount_point, "/sys/fs/cgroup/memory");
  TAP_CHECK_STR_EQ (h->controllers, "memory");
  TAP_CHECK (h->whole);

  h = &hs.items[2];
  TAP_CHECK_STR_EQ (h->controllers, "cpuset");
  TAP_CHECK (h->noprefix);
  TAP_CHECK_STR_EQ (h->mount_data, "cpuset");

  h = &hs.items[3];
  TAP_CHECK_STR_EQ (h->name, "systemd");
  TAP_CHECK_STR_EQ (h->controllers, "");
  TAP_CHECK_STR_EQ (h->named, "systemd");
  TAP_CHECK_STR_EQ (h->mount_data, "none,name=systemd");
  TAP_CHECK_STR_EQ (h->proc_key, "name=systemd");
  TAP_CHECK (! h->v2);

  h = &hs.items[4];
  TAP_CHECK (h->v2);
  TAP_CHECK_STR_EQ (h->name, "unified");
  TAP_CHECK (h->mount_data == NULL);
  TAP_CHECK_STR_EQ (h->proc_key, "");

  h = &hs.items[5];
  TAP_CHECK_STR_EQ (h->mount_data, "net_cls,net_prio,name=odd");
  TAP_CHECK_STR_EQ (h->proc_key, "net_cls,net_prio,name=odd");

  TAP_CHECK (berth_cgroup_hierarchies_find (&hs, "cpuacct") == &hs.items[0]);
  TAP_CHECK (berth_cgroup_hierarchies_find (&hs, "pids") == NULL);
  berth_cgroup_hierarchies_free (&hs);

  /* Only a subtree is mounted: that mount is used.  An escaped space is undone.  */
  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo ("1 0 0:29 /sub /mnt/mem\\040sub rw - cgroup "
                                                  "cgroup rw,memory\n",
                                                  &hs, &err),
                    0);
  TAP_CHECK_INT_EQ (hs.n, 1);
  TAP_CHECK_STR_EQ (hs.items[0].mount_point, "/mnt/mem sub");
  TAP_CHECK (! hs.items[0].whole);
  berth_cgroup_hierarchies_free (&hs);

  TAP_CHECK (berth_cgroup_parse_mountinfo ("1 0 0:29 / /x rw cgroup\n", &hs, &err) < 0);
  TAP_CHECK_STR_EQ (err->op, "parse");
  return 0;
}

/* A mount with another mounted over it at the same place is out of sight, and so is
   everything below it: the hybrid host's cgroup2 with a tmpfs over it (the trick that lets
   crun run here), then a tmpfs over the whole of /sys/fs/cgroup.  */
static int
test_parse_mountinfo_overmounted (void)
{
  static const char hybrid[]
      = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "37 30 0:32 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
        "38 30 0:33 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  cleanup_free char *text = NULL;

  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo (hybrid, &hs, &err), 0);
  TAP_CHECK_INT_EQ (hs.n, 3);
  TAP_CHECK (hs.items[1].v2);
  berth_cgroup_hierarchies_free (&hs);

  /* The tmpfs over unified is a child of the cgroup2 mount, at the same mount point.  */
  text = xasprintf ("%s%s", hybrid, "90 37 0:95 / /sys/fs/cgroup/unified rw,relatime - tmpfs none rw\n");
  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo (text, &hs, &err), 0);
  TAP_CHECK_INT_EQ (hs.n, 2);
  TAP_CHECK_STR_EQ (hs.items[0].mount_point, "/sys/fs/cgroup/memory");
  TAP_CHECK_STR_EQ (hs.items[1].mount_point, "/sys/fs/cgroup/pids");
  TAP_CHECK (! hs.items[0].v2 && ! hs.items[1].v2);
  berth_cgroup_hierarchies_free (&hs);

  /* A mount somewhere else under the cgroup2 mount hides nothing.  */
  free (text);
  text = xasprintf ("%s%s", hybrid, "90 37 0:95 / /sys/fs/cgroup/unified/sub rw - tmpfs none rw\n");
  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo (text, &hs, &err), 0);
  TAP_CHECK_INT_EQ (hs.n, 3);
  berth_cgroup_hierarchies_free (&hs);

  /* A tmpfs over /sys/fs/cgroup hides every hierarchy mounted below the old one; a
     hierarchy mounted again on the new tmpfs is in sight.  */
  free (text);
  text = xasprintf ("%s%s", hybrid,
                    "91 30 0:96 / /sys/fs/cgroup rw - tmpfs none rw\n"
                    "92 91 0:33 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo (text, &hs, &err), 0);
  TAP_CHECK_INT_EQ (hs.n, 1);
  TAP_CHECK_STR_EQ (hs.items[0].mount_point, "/sys/fs/cgroup/pids");
  TAP_CHECK (berth_cgroup_hierarchies_find (&hs, "memory") == NULL);
  return 0;
}

static int
test_mode (void)
{
  cleanup_err berth_error_t err = NULL;
  enum berth_cgroup_mode mode;
  struct statfs sfs;

  if (berth_cgroup_mode (&mode, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  TAP_CHECK_INT_EQ (statfs ("/sys/fs/cgroup", &sfs), 0);
  TAP_CHECK_INT_EQ (mode, sfs.f_type == CGROUP2_SUPER_MAGIC ? BERTH_CGROUP_V2 : BERTH_CGROUP_V1);
  tap_diag ("this host: cgroup %s", mode == BERTH_CGROUP_V2 ? "v2" : "v1");
  return 0;
}

/* ---- enter, pids, stats, destroy.  */

/* Check that every line of /proc/<pid>/cgroup names path, and that the pids, memory and
   cpuset hierarchies (v1) and the unified one ("0::") are among them.  */
static int
check_proc_cgroup (pid_t pid, const char *path, enum berth_cgroup_mode mode)
{
  cleanup_free char *file = xasprintf ("/proc/%d/cgroup", (int) pid);
  cleanup_free char *text = NULL;
  cleanup_err berth_error_t err = NULL;
  bool pids = false, memory = false, cpuset = false, unified = false;
  char *line, *saveptr = NULL;
  size_t plen = strlen (path);

  if (berth_read_file (file, &text, NULL, &err) < 0)
    TAP_FAIL ("%s", err->msg);
  for (line = strtok_r (text, "\n", &saveptr); line; line = strtok_r (NULL, "\n", &saveptr))
    {
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      size_t len = strlen (line);

      if (c2 == NULL || len < plen || strcmp (c2 + 1, path) != 0)
        TAP_FAIL ("/proc/%d/cgroup: `%s` is not in %s", (int) pid, line, path);
      *c2 = '\0';
      if (strcmp (line, "0:") == 0)
        unified = true;
      if (strstr (c1 + 1, "pids"))
        pids = true;
      if (strstr (c1 + 1, "memory"))
        memory = true;
      if (strstr (c1 + 1, "cpuset"))
        cpuset = true;
    }
  if (mode == BERTH_CGROUP_V1)
    {
      TAP_CHECK (pids);
      TAP_CHECK (memory);
      TAP_CHECK (cpuset);
    }
  TAP_CHECK (unified);
  return 0;
}

static int
test_enter_pids_destroy (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_mounts struct mounts m = { NULL, NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  cleanup_free pid_t *pids = NULL;
  struct berth_cgroup_stats st;
  enum berth_cgroup_mode mode;
  size_t n = 99, i;

  NEEDS_ROOT ();
  fixture_init (&f);
  TAP_CHECK_INT_EQ (read_mounts (&m), 0);
  TAP_CHECK (m.n > 0);
  TAP_CHECK_INT_EQ (berth_cgroup_mode (&mode, &err), 0);
  f.child = spawn_sleeper ();
  TAP_CHECK (f.child > 0);

  if (berth_cgroup_enter_t (f.leaf, f.child, &err) < 0)
    TAP_FAIL ("enter %s: %s", f.leaf, err->msg);
  if (check_proc_cgroup (f.child, f.leaf, mode) < 0)
    return -1;
  if (mode == BERTH_CGROUP_V1)
    TAP_CHECK (exists_everywhere (&m, f.leaf, true));

  /* cpuset.cpus / cpuset.mems were copied down to each new level.  */
  for (i = 0; mode == BERTH_CGROUP_V1 && i < m.n; i++)
    {
      static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
      size_t k;

      if (strstr (m.dirs[i], "cpuset") == NULL)
        continue;
      for (k = 0; k < 2; k++)
        {
          cleanup_free char *root_file = xasprintf ("%s/%s", m.dirs[i], files[k]);
          cleanup_free char *leaf_file = xasprintf ("%s%s/%s", m.dirs[i], f.leaf, files[k]);
          cleanup_free char *root_value = NULL;
          cleanup_free char *leaf_value = NULL;

          TAP_CHECK_INT_EQ (berth_read_file (root_file, &root_value, NULL, &err), 0);
          TAP_CHECK_INT_EQ (berth_read_file (leaf_file, &leaf_value, NULL, &err), 0);
          TAP_CHECK (strlen (leaf_value) > 1);
          TAP_CHECK_STR_EQ (leaf_value, root_value);
        }
    }

  /* Entering again (as `exec` does) is fine.  */
  if (berth_cgroup_enter_t (f.leaf, f.child, &err) < 0)
    TAP_FAIL ("enter again: %s", err->msg);

  if (berth_cgroup_pids (f.leaf, &pids, &n, &err) < 0)
    TAP_FAIL ("pids: %s", err->msg);
  TAP_CHECK_INT_EQ (n, 1);
  TAP_CHECK_INT_EQ (pids[0], f.child);
  free (steal_pointer (&pids));

  if (berth_cgroup_stats (f.leaf, &st, &err) < 0)
    TAP_FAIL ("stats: %s", err->msg);
  tap_diag ("stats: memory %llu, cpu %llu ns, pids %llu", (unsigned long long) st.memory_bytes,
            (unsigned long long) st.cpu_usage_ns, (unsigned long long) st.pids);
  TAP_CHECK (st.cpu_usage_ns != BERTH_CGROUP_STAT_UNKNOWN);
  if (mode == BERTH_CGROUP_V1)
    {
      TAP_CHECK (st.memory_bytes != BERTH_CGROUP_STAT_UNKNOWN);
      TAP_CHECK_INT_EQ (st.pids, 1);
    }

  /* Busy: destroy retries for about a second, kills nothing and fails.  */
  TAP_CHECK (berth_cgroup_destroy (f.leaf, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, EBUSY);
  TAP_CHECK_STR_EQ (err->op, "rmdir");
  TAP_CHECK (strstr (err->msg, f.leaf) != NULL);
  TAP_CHECK (strstr (err->msg, ": Device or resource busy") != NULL);
  berth_error_release (&err);
  TAP_CHECK_INT_EQ (kill (f.child, 0), 0);

  kill_and_reap (&f.child);
  if (berth_cgroup_destroy (f.leaf, &err) < 0)
    TAP_FAIL ("destroy: %s", err->msg);
  TAP_CHECK (exists_everywhere (&m, f.leaf, false));
  if (mode == BERTH_CGROUP_V1)
    TAP_CHECK (exists_everywhere (&m, f.parent, true)); /* the leaf only */

  /* Gone: destroy again succeeds, pids is empty, stats are unknown.  */
  if (berth_cgroup_destroy (f.leaf, &err) < 0)
    TAP_FAIL ("destroy again: %s", err->msg);
  TAP_CHECK_INT_EQ (berth_cgroup_pids (f.leaf, &pids, &n, &err), 0);
  TAP_CHECK_INT_EQ (n, 0);
  TAP_CHECK (pids != NULL);
  TAP_CHECK_INT_EQ (berth_cgroup_stats (f.leaf, &st, &err), 0);
  TAP_CHECK (st.memory_bytes == BERTH_CGROUP_STAT_UNKNOWN);
  TAP_CHECK (st.cpu_usage_ns == BERTH_CGROUP_STAT_UNKNOWN);
  TAP_CHECK (st.pids == BERTH_CGROUP_STAT_UNKNOWN);

  /* The parent was made by enter; the test removes it (destroy leaves parents).  */
  if (berth_cgroup_destroy (f.parent, &err) < 0)
    TAP_FAIL ("destroy parent: %s", err->msg);
  TAP_CHECK (exists_everywhere (&m, f.parent, false));
  return 0;
}

static int
test_enter_dead_pid_rolls_back (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_mounts struct mounts m = { NULL, NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  pid_t pid;

  NEEDS_ROOT ();
  fixture_init (&f);
  TAP_CHECK_INT_EQ (read_mounts (&m), 0);
  pid = dead_pid ();
  TAP_CHECK (pid > 0);

  TAP_CHECK (berth_cgroup_enter_t (f.leaf, pid, &err) < 0);
  tap_diag ("error: %s", err->msg);
  TAP_CHECK_INT_EQ (err->status, ESRCH);
  TAP_CHECK_STR_EQ (err->op, "write");
  TAP_CHECK (strncmp (err->msg, "write /", 7) == 0);
  TAP_CHECK (strstr (err->msg, f.leaf) != NULL);
  TAP_CHECK (strstr (err->msg, "/cgroup.procs: No such process") != NULL);

  /* Nothing is left: neither the leaf nor the parent that enter made.  */
  TAP_CHECK (exists_everywhere (&m, f.leaf, false));
  TAP_CHECK (exists_everywhere (&m, f.parent, false));
  return 0;
}

/* A pid moved into some hierarchies before a later one fails is moved back.  The failing
   "hierarchy" is a plain directory posing as one (its cgroup.procs cannot be opened).  */
static int
test_v1_rollback_moves_back (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_hierarchies struct berth_cgroup_hierarchies real = { NULL, 0 };
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  cleanup_free char *fake = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  cleanup_free char *proc = NULL;
  cleanup_free char *dir = NULL;
  const struct berth_cgroup_hierarchy *pids_h;
  enum berth_cgroup_mode mode;
  int ret;

  NEEDS_ROOT ();
  fixture_init (&f);
  TAP_CHECK_INT_EQ (berth_cgroup_mode (&mode, &err), 0);
  TAP_CHECK_INT_EQ (berth_cgroup_read_hierarchies (&real, &err), 0);
  pids_h = berth_cgroup_hierarchies_find (&real, "pids");
  if (mode != BERTH_CGROUP_V1 || pids_h == NULL)
    TAP_FAIL ("this test needs a cgroup v1 host with the pids controller mounted");

  fake = xstrdup ("/tmp/berth-test-fakecg-XXXXXX");
  TAP_CHECK (mkdtemp (fake) != NULL);
  text = xasprintf ("1 0 0:9001 / %s rw - cgroup cgroup rw,pids\n"
                    "2 0 0:9002 / %s rw - cgroup cgroup rw,nosuchcontroller\n",
                    pids_h->mount_point, fake);
  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo (text, &hs, &err), 0);

  f.child = spawn_sleeper ();
  TAP_CHECK (f.child > 0);
  proc = xasprintf ("/proc/%d/cgroup", (int) f.child);
  TAP_CHECK_INT_EQ (berth_read_file (proc, &before, NULL, &err), 0);

  ret = v1_enter (&hs, f.leaf, f.child, &err);
  dir = xasprintf ("%s%s", fake, f.parent);
  if (ret == 0)
    {
      rmdir (dir);
      rmdir (fake);
      TAP_FAIL ("enter succeeded with a fake hierarchy");
    }
  tap_diag ("error: %s", err->msg);
  TAP_CHECK_INT_EQ (err->status, ENOENT);
  TAP_CHECK_STR_EQ (err->op, "open");

  TAP_CHECK_INT_EQ (berth_read_file (proc, &after, NULL, &err), 0);
  TAP_CHECK_STR_EQ (after, before);
  TAP_CHECK (! is_dir (dir));
  TAP_CHECK_INT_EQ (rmdir (fake), 0);
  free (dir);
  dir = xasprintf ("%s%s", pids_h->mount_point, f.parent);
  TAP_CHECK (! is_dir (dir));
  return 0;
}

/* The v2 backend, on the host's cgroup2 hierarchy (the hybrid "unified" one on a v1 host):
   controllers available in a parent are enabled for the new levels.  */
static int
test_v2_backend (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  cleanup_free char *root_before = NULL;
  cleanup_free char *file = NULL;
  cleanup_free char *value = NULL;
  cleanup_free char *value2 = NULL;
  cleanup_free pid_t *pids = NULL;
  cleanup_free char *leaf_dir = NULL;
  cleanup_free char *parent_dir = NULL;
  const char *root = NULL;
  struct berth_cgroup_hierarchies v2_only = { NULL, 0 }; /* borrows hs's cgroup2 entry */
  struct berth_cgroup_stats st;
  char *saveptr = NULL, *c;
  size_t i, n = 0;
  pid_t dead;
  int ret = 0;

  NEEDS_ROOT ();
  fixture_init (&f);
  TAP_CHECK_INT_EQ (berth_cgroup_read_hierarchies (&hs, &err), 0);
  for (i = 0; i < hs.n; i++)
    if (hs.items[i].v2)
      root = hs.items[i].mount_point;
  if (root == NULL)
    TAP_FAIL ("this test needs a cgroup2 mount (pure v2 or hybrid unified/)");
  for (i = 0; i < hs.n; i++)
    if (hs.items[i].v2)
      {
        v2_only.items = &hs.items[i];
        v2_only.n = 1;
      }

  file = xasprintf ("%s/cgroup.subtree_control", root);
  TAP_CHECK_INT_EQ (berth_read_file (file, &root_before, NULL, &err), 0);

  /* A dead pid: the error names the file; nothing is left.  */
  dead = dead_pid ();
  TAP_CHECK (v2_enter (root, f.leaf, dead, &err) < 0);
  TAP_CHECK_INT_EQ (err->status, ESRCH);
  TAP_CHECK (strstr (err->msg, "/cgroup.procs: No such process") != NULL);
  berth_error_release (&err);
  parent_dir = xasprintf ("%s%s", root, f.parent);
  leaf_dir = xasprintf ("%s%s", root, f.leaf);
  TAP_CHECK (! is_dir (parent_dir));

  f.child = spawn_sleeper ();
  TAP_CHECK (f.child > 0);
  if (v2_enter (root, f.leaf, f.child, &err) < 0)
    {
      tap_diag ("v2 enter: %s", err->msg);
      ret = -1;
      goto out;
    }

  /* Every controller the parent has is enabled for its children.  */
  free (file);
  file = xasprintf ("%s/cgroup.controllers", parent_dir);
  if (berth_read_file (file, &value, NULL, &err) < 0)
    {
      ret = -1;
      goto out;
    }
  free (file);
  file = xasprintf ("%s/cgroup.subtree_control", parent_dir);
  if (berth_read_file (file, &value2, NULL, &err) < 0)
    {
      ret = -1;
      goto out;
    }
  tap_diag ("%s: controllers `%.*s`, subtree_control `%.*s`", parent_dir,
            (int) strcspn (value, "\n"), value, (int) strcspn (value2, "\n"), value2);
  if (strcmp (value, value2) != 0)
    {
      tap_diag ("not all controllers enabled");
      ret = -1;
      goto out;
    }

  if (berth_cgroup_v2_pids (root, f.leaf, &pids, &n, &err) < 0 || n != 1 || pids[0] != f.child)
    {
      tap_diag ("v2 pids: %zu entries", n);
      ret = -1;
      goto out;
    }
  if (berth_cgroup_read_stats (&v2_only, f.leaf, &st, &err) < 0 || st.cpu_usage_ns == BERTH_CGROUP_STAT_UNKNOWN)
    {
      tap_diag ("v2 stats");
      ret = -1;
      goto out;
    }

  kill_and_reap (&f.child);
  if (berth_cgroup_v2_destroy (root, f.leaf, &err) < 0 || is_dir (leaf_dir) || ! is_dir (parent_dir))
    {
      tap_diag ("v2 destroy");
      ret = -1;
      goto out;
    }
  if (berth_cgroup_v2_destroy (root, f.parent, &err) < 0 || is_dir (parent_dir))
    {
      tap_diag ("v2 destroy parent");
      ret = -1;
    }

out:
  if (err)
    tap_diag ("error: %s", err->msg);
  /* Give the hierarchy's root back its subtree_control as it was.  */
  kill_and_reap (&f.child);
  rmdir_retry (leaf_dir);
  rmdir_retry (parent_dir);
  free (file);
  file = xasprintf ("%s/cgroup.subtree_control", root);
  free (value);
  value = NULL;
  if (berth_read_file (file, &value, NULL, &err) == 0)
    for (c = strtok_r (value, " \n", &saveptr); c; c = strtok_r (NULL, " \n", &saveptr))
      {
        size_t len = strlen (c);
        const char *p = root_before;
        bool was = false;

        while ((p = strstr (p, c)) != NULL)
          {
            if ((p == root_before || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || p[len] == '\0'))
              was = true;
            p += len;
          }
        if (! was)
          {
            cleanup_free char *op = xasprintf ("-%s", c);
            berth_error_t e = NULL;

            berth_cgroup_write_file (file, op, &e);
            berth_error_release (&e);
          }
      }
  return ret;
}

/* ---- mount.  */

static int
check_fs (const char *path, long magic, bool ro, FILE *out)
{
  struct statfs sfs;
  struct statvfs svfs;

  if (statfs (path, &sfs) < 0 || statvfs (path, &svfs) < 0)
    {
      fprintf (out, "statfs %s: %s\n", path, strerror (errno));
      return -1;
    }
  if ((long) sfs.f_type != magic)
    {
      fprintf (out, "%s: f_type %#lx, expected %#lx\n", path, (long) sfs.f_type, magic);
      return -1;
    }
  if (((svfs.f_flag & ST_RDONLY) != 0) != ro)
    {
      fprintf (out, "%s: %s, expected %s\n", path, ro ? "read-write" : "read-only",
               ro ? "read-only" : "read-write");
      return -1;
    }
  return 0;
}

/* In a forked child with its own mount namespace: mount into dir and check.  Returns the
   child's complaints (empty when all is well) in out.  */
static int
mount_child (const char *dir, enum berth_cgroup_mode mode, const struct mounts *m, FILE *out)
{
  cleanup_free char *dest = xasprintf ("%s/rw", dir);
  cleanup_free char *dest_ro = xasprintf ("%s/ro", dir);
  cleanup_free char *missing = xasprintf ("%s/missing/x", dir);
  berth_error_t err = NULL;
  const char *names[] = { "memory", "pids" };
  bool has_v2 = false;
  size_t i;
  int bad = 0;

  for (i = 0; i < m->n; i++)
    has_v2 |= m->v2[i];

  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      fprintf (out, "unshare/mount private: %s\n", strerror (errno));
      return -1;
    }
  if (mkdir (dest, 0755) < 0 || mkdir (dest_ro, 0755) < 0)
    {
      fprintf (out, "mkdir: %s\n", strerror (errno));
      return -1;
    }

  if (berth_cgroup_mount (dest, MS_NOSUID | MS_NODEV | MS_NOEXEC, &err) < 0)
    {
      fprintf (out, "mount: %s\n", err->msg);
      berth_error_release (&err);
      return -1;
    }
  if (berth_cgroup_mount (dest_ro, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, &err) < 0)
    {
      fprintf (out, "mount ro: %s\n", err->msg);
      berth_error_release (&err);
      return -1;
    }

  if (mode == BERTH_CGROUP_V2)
    {
      bad |= check_fs (dest, CGROUP2_SUPER_MAGIC, false, out);
      bad |= check_fs (dest_ro, CGROUP2_SUPER_MAGIC, true, out);
    }
  else
    {
      bad |= check_fs (dest, TMPFS_MAGIC, false, out);
      bad |= check_fs (dest_ro, TMPFS_MAGIC, true, out);

      /* One mount per host hierarchy, under the same name, of the same kind.  */
      for (i = 0; i < m->n; i++)
        {
          const char *base = strrchr (m->dirs[i], '/') + 1;
          cleanup_free char *sub = xasprintf ("%s/%s", dest, base);
          cleanup_free char *sub_ro = xasprintf ("%s/%s", dest_ro, base);
          cleanup_free char *procs = xasprintf ("%s/cgroup.procs", sub);
          long magic = m->v2[i] ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC;

          bad |= check_fs (sub, magic, false, out);
          bad |= check_fs (sub_ro, magic, true, out);
          if (access (procs, F_OK) < 0)
            {
              fprintf (out, "%s: %s\n", procs, strerror (errno));
              bad = -1;
            }
        }

      /* The ones the brief names, explicitly.  */
      for (i = 0; i < BERTH_ARRAY_SIZE (names); i++)
        {
          cleanup_free char *sub = xasprintf ("%s/%s", dest, names[i]);
          bad |= check_fs (sub, CGROUP_SUPER_MAGIC, false, out);
        }
      {
        cleanup_free char *memfile = xasprintf ("%s/memory/memory.limit_in_bytes", dest);
        cleanup_free char *unified = xasprintf ("%s/unified", dest);
        cleanup_free char *probe = xasprintf ("%s/x", dest_ro);

        if (access (memfile, F_OK) < 0)
          {
            fprintf (out, "%s: %s\n", memfile, strerror (errno));
            bad = -1;
          }
        if (has_v2)
          bad |= check_fs (unified, CGROUP2_SUPER_MAGIC, false, out);
        if (mkdir (probe, 0755) == 0 || errno != EROFS)
          {
            fprintf (out, "mkdir %s: not EROFS\n", probe);
            bad = -1;
          }
      }
    }

  /* A destination that does not exist: the error names the mount.  */
  if (berth_cgroup_mount (missing, 0, &err) == 0)
    {
      fprintf (out, "mount on %s succeeded\n", missing);
      bad = -1;
    }
  else
    {
      if (strstr (err->msg, missing) == NULL || err->status != ENOENT || strcmp (err->op, "mount") != 0)
        {
          fprintf (out, "unexpected error: %s\n", err->msg);
          bad = -1;
        }
      berth_error_release (&err);
    }
  return bad ? -1 : 0;
}

static int
test_mount (void)
{
  cleanup_free char *dir = xstrdup ("/tmp/berth-test-cgmount-XXXXXX");
  cleanup_err berth_error_t err = NULL;
  cleanup_free char *rw = NULL;
  cleanup_free char *ro = NULL;
  cleanup_mounts struct mounts m = { NULL, NULL, 0 };
  enum berth_cgroup_mode mode;
  struct statfs sfs, tmp_sfs;
  char buf[4096];
  int fds[2], status;
  size_t len = 0;
  ssize_t r;
  pid_t pid;

  NEEDS_ROOT ();
  TAP_CHECK_INT_EQ (berth_cgroup_mode (&mode, &err), 0);
  TAP_CHECK_INT_EQ (read_mounts (&m), 0);
  TAP_CHECK (mkdtemp (dir) != NULL);
  rw = xasprintf ("%s/rw", dir);
  ro = xasprintf ("%s/ro", dir);
  if (pipe2 (fds, O_CLOEXEC) < 0)
    {
      rmdir (dir);
      TAP_FAIL ("pipe: %s", strerror (errno));
    }

  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      FILE *out = fdopen (fds[1], "w");
      int rc;

      close (fds[0]);
      if (out == NULL)
        _exit (2);
      rc = mount_child (dir, mode, &m, out);
      fclose (out);
      _exit (rc == 0 ? 0 : 1);
    }
  close (fds[1]);
  while ((r = read (fds[0], buf + len, sizeof (buf) - 1 - len)) > 0 && len < sizeof (buf) - 1)
    len += (size_t) r;
  buf[len] = '\0';
  close (fds[0]);
  waitpid (pid, &status, 0);

  /* The mounts went with the child's namespace.  */
  statfs (dir, &sfs);
  statfs ("/tmp", &tmp_sfs);
  rmdir (rw);
  rmdir (ro);
  if (rmdir (dir) < 0)
    TAP_FAIL ("rmdir %s: %s", dir, strerror (errno));
  if (len > 0)
    tap_diag ("child: %s", buf);
  TAP_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  TAP_CHECK (sfs.f_type == tmp_sfs.f_type);
  return 0;
}

/* ---- resources.  */

static void
resources_example (struct berth_cgroup_resources *r, struct berth_cgroup_device_rule *rules)
{
  berth_cgroup_resources_init (r);
  r->memory_limit = 64 << 20;
  r->memory_swap = 64 << 20;
  r->memory_reservation = 32 << 20;
  r->cpu_shares = 512;
  r->cpu_quota = 50000;
  r->cpu_period = 100000;
  r->pids_limit = 42;
  rules[0] = (struct berth_cgroup_device_rule){ false, 'a', -1, -1, "rwm" };
  rules[1] = (struct berth_cgroup_device_rule){ true, 'c', -1, -1, "m" };
  rules[2] = (struct berth_cgroup_device_rule){ true, 'c', 1, 3, "rwm" };
  r->devices = rules;
  r->n_devices = 3;
  r->has_devices = true;
}

/* The value of file in the hierarchy that has controller, or NULL when it is on cgroup2.  */
static char *
v1_value (const struct berth_cgroup_hierarchies *hs, const char *controller, const char *path, const char *file)
{
  const struct berth_cgroup_hierarchy *h = berth_cgroup_hierarchies_find (hs, controller);
  cleanup_free char *full = NULL;
  berth_error_t e = NULL;
  char *text = NULL;

  if (h == NULL || h->v2)
    return NULL;
  full = xasprintf ("%s%s/%s", h->mount_point, path, file);
  if (berth_read_file (full, &text, NULL, &e) < 0)
    {
      berth_error_release (&e);
      return xstrdup ("(unreadable)");
    }
  if (*text && text[strlen (text) - 1] == '\n')
    text[strlen (text) - 1] = '\0';
  return text;
}

/* Under the deny-all rule `crun spec` and `runc spec` write, the standard devices and the
   config's own (linux.devices) stay usable, as with runc and crun; anything else is denied.
   Checked by opening the devices from inside the cgroup, which holds on v1 and v2 alike.  */
static int
test_device_rules_keep_standard_devices (void)
{
  /* Nodes of our own, so that the test does not depend on the host's /dev.  */
  static const struct
  {
    const char *name;
    unsigned major, minor;
  } nodes[] = { { "null", 1, 3 }, { "kmsg", 1, 11 }, { "mem", 1, 1 } };
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_err berth_error_t err = NULL;
  struct berth_cgroup_device_rule deny_all = { false, 'a', -1, -1, "rwm" };
  struct berth_cgroup_device_rule kmsg = { true, 'c', 1, 11, "rwm" }; /* as from linux.devices */
  struct berth_cgroup_resources r;
  int go[2], status = 0;
  size_t i;

  NEEDS_ROOT ();
  TAP_CHECK (dir != NULL);
  for (i = 0; i < BERTH_ARRAY_SIZE (nodes); i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", dir, nodes[i].name);
      TAP_CHECK (mknod (path, S_IFCHR | 0600, makedev (nodes[i].major, nodes[i].minor)) == 0);
    }
  fixture_init (&f);
  berth_cgroup_resources_init (&r);
  r.devices = &deny_all;
  r.n_devices = 1;
  r.has_devices = true;
  r.config_devices = &kmsg;
  r.n_config_devices = 1;
  TAP_CHECK (pipe2 (go, O_CLOEXEC) == 0);
  f.child = fork ();
  TAP_CHECK (f.child >= 0);
  if (f.child == 0)
    {
      char byte;
      int result = 0;

      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (go[1]);
      if (read (go[0], &byte, 1) != 1)
        _exit (99);
      /* Bit i: nodes[i] was refused with EPERM.  */
      for (i = 0; i < BERTH_ARRAY_SIZE (nodes); i++)
        {
          cleanup_free char *path = xasprintf ("%s/%s", dir, nodes[i].name);
          int fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd >= 0)
            close (fd);
          else if (errno == EPERM)
            result |= 1 << i;
          else
            _exit (64 + (int) i);
        }
      _exit (result);
    }
  close (go[0]);
  if (berth_cgroup_enter (f.leaf, f.child, &r, &err) < 0)
    {
      close (go[1]);
      TAP_FAIL ("enter: %s", err->msg);
    }
  TAP_CHECK (write (go[1], "g", 1) == 1);
  close (go[1]);
  TAP_CHECK (waitpid (f.child, &status, 0) == f.child);
  f.child = -1;
  TAP_CHECK (WIFEXITED (status));
  tap_diag ("refused (bit 0 null, 1 kmsg, 2 mem; 64+i: another error): %d", WEXITSTATUS (status));
  TAP_CHECK_INT_EQ (WEXITSTATUS (status), 1 << 2); /* only the node no rule allows */
  return 0;
}

/* Limits are in place before the process joins, wherever each controller is; stats read
   them back.  */
static int
test_resources_applied (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  struct berth_cgroup_device_rule rules[3];
  struct berth_cgroup_resources r;
  struct berth_cgroup_stats st;
  cleanup_free char *mem = NULL, *shares = NULL, *quota = NULL, *pids = NULL, *devices = NULL;

  NEEDS_ROOT ();
  fixture_init (&f);
  resources_example (&r, rules);
  f.child = spawn_sleeper ();
  TAP_CHECK (f.child > 0);
  if (berth_cgroup_enter (f.leaf, f.child, &r, &err) < 0)
    TAP_FAIL ("enter: %s", err->msg);
  TAP_CHECK_INT_EQ (berth_cgroup_stats (f.leaf, &st, &err), 0);
  TAP_CHECK (st.memory_limit == 64 << 20);
  TAP_CHECK (st.pids_limit == 42);
  TAP_CHECK (st.pids == 1);
  TAP_CHECK (st.oom_kills == 0);

  TAP_CHECK_INT_EQ (berth_cgroup_read_hierarchies (&hs, &err), 0);
  mem = v1_value (&hs, "memory", f.leaf, "memory.soft_limit_in_bytes");
  shares = v1_value (&hs, "cpu", f.leaf, "cpu.shares");
  quota = v1_value (&hs, "cpu", f.leaf, "cpu.cfs_quota_us");
  pids = v1_value (&hs, "pids", f.leaf, "pids.max");
  devices = v1_value (&hs, "devices", f.leaf, "devices.list");
  tap_diag ("v1 values: soft limit %s, shares %s, quota %s, pids %s, devices `%s`", mem ? mem : "(v2)",
            shares ? shares : "(v2)", quota ? quota : "(v2)", pids ? pids : "(v2)", devices ? devices : "(v2)");
  if (mem)
    TAP_CHECK_STR_EQ (mem, "33554432");
  if (shares)
    TAP_CHECK_STR_EQ (shares, "512");
  if (quota)
    TAP_CHECK_STR_EQ (quota, "50000");
  if (pids)
    TAP_CHECK_STR_EQ (pids, "42");
  if (devices)
    {
      /* devices.list shows the allow list only; the first line is the char wildcard.  */
      TAP_CHECK (strstr (devices, "c *:* m") != NULL);
      TAP_CHECK (strstr (devices, "c 1:3 rwm") != NULL);
      TAP_CHECK (strstr (devices, "a *:* rwm") == NULL);
    }
  return 0;
}

/* A resource whose controller the host lacks is an error naming both; nothing is written.  */
static int
test_resources_missing_controller (void)
{
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  struct berth_cgroup_resources r;

  berth_cgroup_resources_init (&r);
  TAP_CHECK_INT_EQ (berth_cgroup_parse_mountinfo ("1 0 0:9001 / /nonexistent/pids rw - cgroup cgroup rw,pids\n",
                                                  &hs, &err),
                    0);
  r.memory_limit = 1 << 20;
  TAP_CHECK (berth_cgroup_resources_apply (&hs, "/x", &r, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "linux.resources.memory needs the memory controller, which this host has neither as "
                              "a cgroup v1 hierarchy nor in cgroup2's cgroup.controllers; remove the setting or "
                              "enable the controller: Operation not supported");
  berth_error_release (&err);
  berth_cgroup_resources_init (&r);
  r.pids_limit = 10;
  TAP_CHECK (berth_cgroup_resources_apply (&hs, "/x", &r, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "set linux.resources.pids.limit to 10: open /nonexistent/pids/x/pids.max: No such file "
                              "or directory");
  return 0;
}

/* The device program: each rule is one block, every compare jumps to the block's end.  */
static int
test_bpf_build (void)
{
  cleanup_err berth_error_t err = NULL;
  cleanup_free void *insns = NULL;
  struct berth_cgroup_device_rule rule = { true, 'c', 1, 3, "rw" };
  const struct bpf_insn *p;
  size_t n, i;

  TAP_CHECK_INT_EQ (berth_cgroup_bpf_build (NULL, 0, &insns, &n, &err), 0);
  TAP_CHECK_INT_EQ ((int) n, 8); /* 6 loads, r0 = 1, exit */
  free (insns);
  insns = NULL;
  TAP_CHECK_INT_EQ (berth_cgroup_bpf_build (&rule, 1, &insns, &n, &err), 0);
  TAP_CHECK_INT_EQ ((int) n, 16);
  p = insns;
  /* The block is 6..13: type, access (3), major, minor, r0 = 1, exit.  */
  for (i = 6; i < 14; i++)
    if (BPF_CLASS (p[i].code) == BPF_JMP && BPF_OP (p[i].code) == BPF_JNE)
      TAP_CHECK_INT_EQ ((int) (i + 1 + (size_t) p[i].off), 14);
  TAP_CHECK_INT_EQ (p[6].imm, BPF_DEVCG_DEV_CHAR);
  TAP_CHECK_INT_EQ (p[8].imm, ~(BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE));
  TAP_CHECK_INT_EQ (p[12].imm, 1);
  return 0;
}

/* The program really holds on cgroup2 (the hybrid unified hierarchy here: the v1 devices
   controller of the process stays allow-all, so a denial can only come from the program).  */
static int
test_bpf_device_program (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_hierarchies struct berth_cgroup_hierarchies hs = { NULL, 0 };
  cleanup_err berth_error_t err = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *procs = NULL;
  cleanup_free char *pid_str = NULL;
  struct berth_cgroup_device_rule rules[2] = { { false, 'a', -1, -1, "rwm" }, { true, 'c', 1, 3, "rw" } };
  const char *root = NULL;
  int go[2], status = 0;
  size_t i;

  NEEDS_ROOT ();
  fixture_init (&f);
  TAP_CHECK_INT_EQ (berth_cgroup_read_hierarchies (&hs, &err), 0);
  for (i = 0; i < hs.n; i++)
    if (hs.items[i].v2)
      root = hs.items[i].mount_point;
  if (root == NULL)
    TAP_FAIL ("this test needs a cgroup2 mount (pure v2 or hybrid unified/)");
  dir = xasprintf ("%s%s", root, f.parent);
  TAP_CHECK (mkdir (dir, 0755) == 0);
  TAP_CHECK (pipe (go) == 0);
  f.child = fork ();
  if (f.child == 0)
    {
      char c;
      int null_fd, zero_fd, code = 0;

      close (go[1]);
      if (read (go[0], &c, 1) != 1)
        _exit (100);
      null_fd = open ("/dev/null", O_RDWR);
      zero_fd = open ("/dev/zero", O_RDONLY);
      if (null_fd < 0)
        code |= 1;
      if (zero_fd >= 0 || errno != EPERM)
        code |= 2;
      _exit (code);
    }
  close (go[0]);
  if (berth_cgroup_bpf_attach (dir, rules, 2, &err) < 0)
    {
      close (go[1]);
      TAP_FAIL ("attach: %s", err->msg);
    }
  procs = xasprintf ("%s/cgroup.procs", dir);
  pid_str = xasprintf ("%d", (int) f.child);
  TAP_CHECK_INT_EQ (berth_cgroup_write_file (procs, pid_str, &err), 0);
  TAP_CHECK (write (go[1], "g", 1) == 1);
  close (go[1]);
  TAP_CHECK (waitpid (f.child, &status, 0) == f.child);
  f.child = -1;
  tap_diag ("child exit %d (1: /dev/null refused, 2: /dev/zero allowed)", WEXITSTATUS (status));
  TAP_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  TAP_CHECK (rmdir (dir) == 0);
  return 0;
}

/* A process over its memory limit is killed by the kernel and the kill is counted.  */
static int
test_oom_kill_counted (void)
{
  cleanup_fixture struct fixture f = { NULL, NULL, -1 };
  cleanup_err berth_error_t err = NULL;
  struct berth_cgroup_resources r;
  struct berth_cgroup_stats st;
  int go[2], status = 0;

  NEEDS_ROOT ();
  fixture_init (&f);
  berth_cgroup_resources_init (&r);
  r.memory_limit = 16 << 20;
  r.memory_swap = 16 << 20;
  TAP_CHECK (pipe (go) == 0);
  f.child = fork ();
  if (f.child == 0)
    {
      char c;
      size_t i;

      close (go[1]);
      if (read (go[0], &c, 1) != 1)
        _exit (100);
      for (i = 0; i < 64; i++) /* 256 MiB, touched */
        {
          char *p = malloc (4 << 20);
          if (p == NULL)
            _exit (101);
          memset (p, 1, 4 << 20);
        }
      _exit (0);
    }
  close (go[0]);
  if (berth_cgroup_enter (f.leaf, f.child, &r, &err) < 0)
    {
      close (go[1]);
      TAP_FAIL ("enter: %s", err->msg);
    }
  TAP_CHECK (write (go[1], "g", 1) == 1);
  close (go[1]);
  TAP_CHECK (waitpid (f.child, &status, 0) == f.child);
  f.child = -1;
  TAP_CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  TAP_CHECK_INT_EQ (berth_cgroup_stats (f.leaf, &st, &err), 0);
  tap_diag ("oom kills: %llu", (unsigned long long) st.oom_kills);
  TAP_CHECK (st.oom_kills >= 1 && st.oom_kills != BERTH_CGROUP_STAT_UNKNOWN);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_path_for),
  TAP_TEST (test_validate_path),
  TAP_TEST (test_parse_mountinfo),
  TAP_TEST (test_parse_mountinfo_overmounted),
  TAP_TEST (test_mode),
  TAP_TEST (test_enter_pids_destroy),
  TAP_TEST (test_enter_dead_pid_rolls_back),
  TAP_TEST (test_v1_rollback_moves_back),
  TAP_TEST (test_v2_backend),
  TAP_TEST (test_mount),
  TAP_TEST (test_resources_applied),
  TAP_TEST (test_device_rules_keep_standard_devices),
  TAP_TEST (test_resources_missing_controller),
  TAP_TEST (test_bpf_build),
  TAP_TEST (test_bpf_device_program),
  TAP_TEST (test_oom_kill_counted),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
