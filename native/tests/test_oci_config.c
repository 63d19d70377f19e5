/*
 * Unit tests for src/oci-config.c (config.json) and src/cmd-spec.c (`spec`).
 *
 * The JSON in these tests is written with ' where JSON has ", to keep it readable;
 * parse_q() swaps them back (none of the test strings needs a real ').
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "error.h"
#include "main.h"
#include "oci-config.h"
#include "fixtures.h"
#include "tap.h"
#include "utils.h"

#define BUNDLE "/bundle"

/* The smallest valid config, and ways to add to it.  */
#define HEAD "'ociVersion':'1.2.0','root':{'path':'rootfs'}"
#define PROC "'process':{'args':['sh'],'cwd':'/'}"
#define CFG(extra) "{" HEAD "," PROC extra "}"
#define CFG_PROC(extra) "{" HEAD ",'process':{'args':['sh'],'cwd':'/'" extra "}}"
#define CFG_LINUX(extra) CFG (",'linux':{" extra "}")
#define ALL_NS "'namespaces':[{'type':'pid'},{'type':'network'},{'type':'ipc'},{'type':'uts'},{'type':'mount'}]"

/* ---- fixtures.  */

static char *
dq (const char *q)
{
  char *json = xstrdup (q), *p;

  for (p = json; *p; p++)
    if (*p == '\'')
      *p = '"';
  return json;
}

static int
parse_q (const char *q, struct berth_config **c, berth_error_t *err)
{
  cleanup_free char *json = dq (q);

  return berth_config_parse (json, strlen (json), BUNDLE, c, err);
}

/* q must parse; on failure the diagnostic shows the error.  */
static int
accept_at (int line, const char *q, struct berth_config **c)
{
  berth_error_t err = NULL;

  if (parse_q (q, c, &err) == 0 && *c != NULL && err == NULL)
    return 0;
  tap_diag_at (__FILE__, line, "rejected: %s\nconfig: %s", err ? err->msg : "(no error)", q);
  berth_error_release (&err);
  return -1;
}
#define ACCEPT(q, c)                   \
  do                                   \
    {                                  \
      if (accept_at (__LINE__, q, c) < 0) \
        return -1;                     \
    }                                  \
  while (0)

/* q must be rejected with exactly `msg`, op "config", status 0.  */
static int
reject_at (int line, const char *q, const char *msg)
{
  struct berth_config *c = NULL;
  berth_error_t err = NULL;
  int ret = parse_q (q, &c, &err);

  if (ret >= 0)
    {
      tap_diag_at (__FILE__, line, "accepted, expected: %s\nconfig: %s", msg, q);
      berth_config_free (c);
      berth_error_release (&err);
      return -1;
    }
  if (ret != -1 || c != NULL || err == NULL || strcmp (err->msg, msg) != 0 || err->op == NULL
      || strcmp (err->op, "config") != 0 || err->status != 0)
    {
      tap_diag_at (__FILE__, line, "ret %d, op %s, status %d\ngot:      %s\nexpected: %s\nconfig: %s", ret,
                   err && err->op ? err->op : "NULL", err ? err->status : -1, err ? err->msg : "(no error)",
                   msg, q);
      berth_error_release (&err);
      return -1;
    }
  berth_error_release (&err);
  return 0;
}
#define REJECT(q, msg)                   \
  do                                     \
    {                                    \
      if (reject_at (__LINE__, q, msg) < 0) \
        return -1;                       \
    }                                    \
  while (0)


static size_t
strv_len (char **v)
{
  size_t n = 0;

  while (v && v[n])
    n++;
  return n;
}

/* ---- whole configs.  */

static const char full_config[] =
  "{'ociVersion':'1.0.2-dev',"
  " 'process':{'terminal':true,'consoleSize':{'height':24,'width':80},"
  "   'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,10]},"
  "   'args':['/bin/sh','-c','echo hi'],"
  "   'env':['PATH=/usr/bin:/bin','TERM=xterm','EMPTY='],"
  "   'cwd':'/home/app',"
  "   'rlimits':[{'type':'RLIMIT_NOFILE','hard':4096,'soft':1024},"
  "              {'type':'RLIMIT_CORE','hard':18446744073709551615,'soft':0}],"
  "   'noNewPrivileges':true,'oomScoreAdj':-500,"
  "   'capabilities':null,'apparmorProfile':'','selinuxLabel':'','futureField':[1]},"
  " 'root':{'path':'/var/lib/berth/rootfs','readonly':true},"
  " 'hostname':'web','domainname':'example.org',"
  " 'mounts':["
  "   {'destination':'/proc','type':'proc','source':'proc'},"
  "   {'destination':'/dev','type':'tmpfs','source':'tmpfs',"
  "    'options':['nosuid','strictatime','mode=755','size=65536k']},"
  "   {'destination':'/dev/pts','type':'devpts','source':'devpts',"
  "    'options':['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620','gid=5']},"
  "   {'destination':'/dev/shm','type':'tmpfs','source':'shm',"
  "    'options':['nosuid','noexec','nodev','mode=1777','size=65536k']},"
  "   {'destination':'/dev/mqueue','type':'mqueue','source':'mqueue','options':['nosuid','noexec','nodev']},"
  "   {'destination':'/sys','type':'sysfs','source':'sysfs','options':['nosuid','noexec','nodev','ro']},"
  "   {'destination':'/sys/fs/cgroup','type':'cgroup','source':'cgroup',"
  "    'options':['nosuid','noexec','nodev','relatime','ro']},"
  "   {'destination':'/data','type':'bind','source':'data','options':['rbind','ro','rslave']}],"
  " 'linux':{'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/web'},{'type':'ipc'},"
  "                        {'type':'uts'},{'type':'mount'},{'type':'cgroup','path':''}],"
  "   'cgroupsPath':'/berth/web',"
  "   'sysctl':{'net.ipv4.ip_forward':'1','kernel.shmmax':'65536','fs.mqueue.queues_max':'256'},"
  "   'rootfsPropagation':'rslave',"
  "   'maskedPaths':[],'readonlyPaths':[],'resources':{},'devices':[],'uidMappings':[],"
  "   'gidMappings':[],'mountLabel':'','netDevices':{}},"
  " 'hooks':{'prestart':[{'path':'/usr/bin/pre'}],"
  "   'createRuntime':[{'path':'/usr/bin/cr','args':['cr','--x'],'env':['A=1'],'timeout':5}],"
  "   'createContainer':[{'path':'/cc'}],'startContainer':[{'path':'/sc'}],"
  "   'poststart':[{'path':'/ps1'},{'path':'/ps2'}],'poststop':[{'path':'/stop'}]},"
  " 'annotations':{'org.example.a':'x','berth.rootfs.lower':'/l/top:/l/base',"
  "   'berth.rootfs.writable':'/w/c1','berth.init':'true','berth.log.max-size':'5m',"
  "   'berth.log.max-files':'7'},"
  " 'somethingNew':{'x':1}}";

static int
check_full_process (const struct berth_process *p)
{
  TAP_CHECK (p != NULL);
  TAP_CHECK (p->terminal);
  TAP_CHECK_INT_EQ (p->console_height, 24);
  TAP_CHECK_INT_EQ (p->console_width, 80);
  TAP_CHECK_INT_EQ (p->uid, 1000);
  TAP_CHECK_INT_EQ (p->gid, 1001);
  TAP_CHECK (p->has_umask);
  TAP_CHECK_INT_EQ (p->umask, 022);
  TAP_CHECK_INT_EQ (p->n_additional_gids, 2);
  TAP_CHECK_INT_EQ (p->additional_gids[0], 5);
  TAP_CHECK_INT_EQ (p->additional_gids[1], 10);
  TAP_CHECK_INT_EQ (strv_len (p->args), 3);
  TAP_CHECK_STR_EQ (p->args[2], "echo hi");
  TAP_CHECK_INT_EQ (strv_len (p->env), 3);
  TAP_CHECK_STR_EQ (p->env[2], "EMPTY=");
  TAP_CHECK_STR_EQ (p->cwd, "/home/app");
  TAP_CHECK_INT_EQ (p->n_rlimits, 2);
  TAP_CHECK_INT_EQ (p->rlimits[0].resource, RLIMIT_NOFILE);
  TAP_CHECK_STR_EQ (p->rlimits[0].type, "RLIMIT_NOFILE");
  TAP_CHECK (p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 4096);
  TAP_CHECK_INT_EQ (p->rlimits[1].resource, RLIMIT_CORE);
  TAP_CHECK (p->rlimits[1].soft == 0 && p->rlimits[1].hard == UINT64_MAX);
  TAP_CHECK (p->rlimits[1].hard == RLIM_INFINITY);
  TAP_CHECK (p->no_new_privileges);
  TAP_CHECK (p->has_oom_score_adj);
  TAP_CHECK_INT_EQ (p->oom_score_adj, -500);
  return 0;
}

static int
check_full_mounts (const struct berth_config *c)
{
  const struct berth_mount *m;

  TAP_CHECK_INT_EQ (c->n_mounts, 8);
  m = &c->mounts[0];
  TAP_CHECK_STR_EQ (m->destination, "/proc");
  TAP_CHECK_STR_EQ (m->type, "proc");
  TAP_CHECK_STR_EQ (m->source, "proc");
  TAP_CHECK (m->options == NULL && m->flags == 0 && m->propagation == 0 && m->data == NULL);
  m = &c->mounts[2];
  TAP_CHECK_STR_EQ (m->destination, "/dev/pts");
  TAP_CHECK_INT_EQ (strv_len (m->options), 6);
  TAP_CHECK_INT_EQ (m->flags, MS_NOSUID | MS_NOEXEC);
  TAP_CHECK_STR_EQ (m->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  m = &c->mounts[6];
  TAP_CHECK_INT_EQ (m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
  TAP_CHECK (m->data == NULL);
  m = &c->mounts[7];
  TAP_CHECK_STR_EQ (m->type, "bind");
  TAP_CHECK_STR_EQ (m->source, "/bundle/data"); /* relative bind source: in the bundle */
  TAP_CHECK_INT_EQ (m->flags, MS_BIND | MS_REC | MS_RDONLY);
  TAP_CHECK_INT_EQ (m->propagation, MS_SLAVE | MS_REC);
  return 0;
}

static int
check_full_linux (const struct berth_config *c)
{
  const struct berth_namespace *ns;

  TAP_CHECK_INT_EQ (c->n_namespaces, 6);
  TAP_CHECK_INT_EQ (c->namespaces[0].type, CLONE_NEWPID);
  TAP_CHECK_INT_EQ (c->namespaces[1].type, CLONE_NEWNET);
  TAP_CHECK_INT_EQ (c->namespaces[2].type, CLONE_NEWIPC);
  TAP_CHECK_INT_EQ (c->namespaces[3].type, CLONE_NEWUTS);
  TAP_CHECK_INT_EQ (c->namespaces[4].type, CLONE_NEWNS);
  TAP_CHECK_INT_EQ (c->namespaces[5].type, CLONE_NEWCGROUP);
  ns = berth_config_namespace (c, CLONE_NEWNET);
  TAP_CHECK (ns == &c->namespaces[1]);
  TAP_CHECK_STR_EQ (ns->path, "/var/run/netns/web");
  TAP_CHECK (c->namespaces[5].path == NULL); /* "" is no path */
  TAP_CHECK (c->namespaces[0].path == NULL);
  TAP_CHECK (berth_config_has_namespace (c, CLONE_NEWCGROUP));
  TAP_CHECK_STR_EQ (c->cgroups_path, "/berth/web");
  TAP_CHECK_INT_EQ (c->n_sysctl, 3);
  TAP_CHECK_STR_EQ (c->sysctl_keys[0], "net.ipv4.ip_forward");
  TAP_CHECK_STR_EQ (c->sysctl_values[0], "1");
  TAP_CHECK_STR_EQ (c->sysctl_keys[2], "fs.mqueue.queues_max");
  TAP_CHECK_STR_EQ (c->sysctl_values[2], "256");
  TAP_CHECK_INT_EQ (c->rootfs_propagation, MS_SLAVE | MS_REC);
  return 0;
}

static int
check_full_hooks (const struct berth_config *c)
{
  const struct berth_hook *h;

  TAP_CHECK_INT_EQ (c->hooks.prestart.n, 1);
  TAP_CHECK_STR_EQ (c->hooks.prestart.hooks[0].path, "/usr/bin/pre");
  TAP_CHECK (c->hooks.prestart.hooks[0].args == NULL && c->hooks.prestart.hooks[0].env == NULL);
  TAP_CHECK_INT_EQ (c->hooks.prestart.hooks[0].timeout, 0);
  TAP_CHECK_INT_EQ (c->hooks.create_runtime.n, 1);
  h = &c->hooks.create_runtime.hooks[0];
  TAP_CHECK_STR_EQ (h->path, "/usr/bin/cr");
  TAP_CHECK_INT_EQ (strv_len (h->args), 2);
  TAP_CHECK_STR_EQ (h->args[1], "--x");
  TAP_CHECK_INT_EQ (strv_len (h->env), 1);
  TAP_CHECK_STR_EQ (h->env[0], "A=1");
  TAP_CHECK_INT_EQ (h->timeout, 5);
  TAP_CHECK_STR_EQ (c->hooks.create_container.hooks[0].path, "/cc");
  TAP_CHECK_STR_EQ (c->hooks.start_container.hooks[0].path, "/sc");
  TAP_CHECK_INT_EQ (c->hooks.poststart.n, 2);
  TAP_CHECK_STR_EQ (c->hooks.poststart.hooks[1].path, "/ps2");
  TAP_CHECK_STR_EQ (c->hooks.poststop.hooks[0].path, "/stop");
  return 0;
}

static int
check_full_annotations (const struct berth_config *c)
{
  TAP_CHECK_INT_EQ (c->n_annotations, 6);
  TAP_CHECK_STR_EQ (c->annotation_keys[0], "org.example.a");
  TAP_CHECK_STR_EQ (c->annotation_keys[5], "berth.log.max-files");
  TAP_CHECK_STR_EQ (berth_config_annotation (c, "org.example.a"), "x");
  TAP_CHECK (berth_config_annotation (c, "org.example.b") == NULL);
  TAP_CHECK_INT_EQ (strv_len (c->overlay_lower), 2);
  TAP_CHECK_STR_EQ (c->overlay_lower[0], "/l/top");
  TAP_CHECK_STR_EQ (c->overlay_lower[1], "/l/base");
  TAP_CHECK_STR_EQ (c->overlay_writable, "/w/c1");
  TAP_CHECK (c->init);
  TAP_CHECK (c->log_max_size == 5 * 1024 * 1024);
  TAP_CHECK_INT_EQ (c->log_max_files, 7);
  return 0;
}

static int
test_full_config (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (full_config, &c);
  TAP_CHECK_STR_EQ (c->oci_version, "1.0.2-dev");
  TAP_CHECK_STR_EQ (c->root_path, "/var/lib/berth/rootfs");
  TAP_CHECK (c->root_readonly);
  TAP_CHECK_STR_EQ (c->hostname, "web");
  TAP_CHECK_STR_EQ (c->domainname, "example.org");
  if (check_full_process (c->process) < 0 || check_full_mounts (c) < 0 || check_full_linux (c) < 0
      || check_full_hooks (c) < 0 || check_full_annotations (c) < 0)
    return -1;
  return 0;
}

static int
test_minimal_config (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG (""), &c);
  TAP_CHECK_STR_EQ (c->oci_version, "1.2.0");
  TAP_CHECK_STR_EQ (c->root_path, "/bundle/rootfs");
  TAP_CHECK (!c->root_readonly);
  TAP_CHECK (c->process != NULL);
  TAP_CHECK_INT_EQ (strv_len (c->process->args), 1);
  TAP_CHECK_STR_EQ (c->process->args[0], "sh");
  TAP_CHECK (c->process->env != NULL && c->process->env[0] == NULL); /* empty, not NULL */
  TAP_CHECK_STR_EQ (c->process->cwd, "/");
  TAP_CHECK (!c->process->terminal && !c->process->has_umask && !c->process->has_oom_score_adj);
  TAP_CHECK (!c->process->no_new_privileges);
  TAP_CHECK_INT_EQ (c->process->uid, 0);
  TAP_CHECK_INT_EQ (c->process->n_rlimits, 0);
  TAP_CHECK (c->hostname == NULL && c->domainname == NULL && c->cgroups_path == NULL);
  TAP_CHECK (c->n_mounts == 0 && c->n_namespaces == 0 && c->n_sysctl == 0 && c->n_annotations == 0);
  TAP_CHECK (c->hooks.poststop.n == 0 && c->hooks.prestart.hooks == NULL);
  TAP_CHECK_INT_EQ (c->rootfs_propagation, 0);
  TAP_CHECK (c->overlay_lower == NULL && c->overlay_writable == NULL && !c->init);
  TAP_CHECK (c->log_max_size == 10 * 1024 * 1024);
  TAP_CHECK_INT_EQ (c->log_max_files, 3);
  berth_config_free (steal_pointer (&c));

  /* No process at all is allowed (create needs one; that is create's business).  */
  ACCEPT ("{" HEAD "}", &c);
  TAP_CHECK (c->process == NULL);
  return 0;
}

static int
test_default_json (void)
{
  cleanup_free char *json = berth_config_default_json ();
  cleanup_config struct berth_config *c = NULL;
  berth_error_t err = NULL;
  const struct berth_process *p;

  TAP_CHECK (json != NULL);
  TAP_CHECK (strstr (json, "\n  \"ociVersion\": \"1.2.0\",\n") != NULL); /* pretty-printed */
  TAP_CHECK (strstr (json, "\\/") == NULL);                               /* "/proc", not "\/proc" */
  TAP_CHECK (json[strlen (json) - 1] == '\n');
  if (berth_config_parse (json, strlen (json), BUNDLE, &c, &err) < 0)
    TAP_FAIL ("default config rejected: %s", err->msg);
  p = c->process;
  TAP_CHECK_STR_EQ (c->oci_version, "1.2.0");
  TAP_CHECK (!p->terminal && p->uid == 0 && p->gid == 0 && p->no_new_privileges);
  TAP_CHECK_INT_EQ (strv_len (p->args), 1);
  TAP_CHECK_STR_EQ (p->args[0], "sh");
  TAP_CHECK_INT_EQ (strv_len (p->env), 2);
  TAP_CHECK_STR_EQ (p->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  TAP_CHECK_STR_EQ (p->env[1], "TERM=xterm");
  TAP_CHECK_STR_EQ (p->cwd, "/");
  TAP_CHECK_INT_EQ (p->n_rlimits, 1);
  TAP_CHECK (p->rlimits[0].resource == RLIMIT_NOFILE && p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 1024);
  TAP_CHECK_STR_EQ (c->root_path, "/bundle/rootfs");
  TAP_CHECK (c->root_readonly);
  TAP_CHECK_STR_EQ (c->hostname, "berth");
  TAP_CHECK_INT_EQ (c->n_mounts, 7);
  TAP_CHECK_STR_EQ (c->mounts[0].destination, "/proc");
  TAP_CHECK_STR_EQ (c->mounts[1].destination, "/dev");
  TAP_CHECK_INT_EQ (c->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
  TAP_CHECK_STR_EQ (c->mounts[1].data, "mode=755,size=65536k");
  TAP_CHECK_STR_EQ (c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  TAP_CHECK_STR_EQ (c->mounts[3].source, "shm");
  TAP_CHECK_STR_EQ (c->mounts[3].data, "mode=1777,size=65536k");
  TAP_CHECK_STR_EQ (c->mounts[4].type, "mqueue");
  TAP_CHECK_INT_EQ (c->mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
  TAP_CHECK_STR_EQ (c->mounts[6].destination, "/sys/fs/cgroup");
  TAP_CHECK_INT_EQ (c->mounts[6].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
  TAP_CHECK_INT_EQ (c->n_namespaces, 6);
  TAP_CHECK_INT_EQ (c->namespaces[0].type, CLONE_NEWPID);
  TAP_CHECK_INT_EQ (c->namespaces[1].type, CLONE_NEWNET);
  TAP_CHECK_INT_EQ (c->namespaces[2].type, CLONE_NEWIPC);
  TAP_CHECK_INT_EQ (c->namespaces[3].type, CLONE_NEWUTS);
  TAP_CHECK_INT_EQ (c->namespaces[4].type, CLONE_NEWNS);
  TAP_CHECK_INT_EQ (c->namespaces[5].type, CLONE_NEWCGROUP);
  return 0;
}

/* ---- the top level.  */

static int
test_oci_version (void)
{
  static const char *const good[] = { "1.0.0", "1.0.2", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.2.0", "1.2.1+dev" };
  cleanup_config struct berth_config *c = NULL;
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (good); i++)
    {
      cleanup_free char *q = xasprintf ("{'ociVersion':'%s','root':{'path':'/r'}}", good[i]);
      ACCEPT (q, &c);
      TAP_CHECK_STR_EQ (c->oci_version, good[i]);
      berth_config_free (steal_pointer (&c));
    }
  REJECT ("{'ociVersion':'2.0.0','root':{'path':'/r'}}",
          "config.json: ociVersion \"2.0.0\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'1.3.0','root':{'path':'/r'}}",
          "config.json: ociVersion \"1.3.0\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'0.6.0','root':{'path':'/r'}}",
          "config.json: ociVersion \"0.6.0\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'1.10.0','root':{'path':'/r'}}",
          "config.json: ociVersion \"1.10.0\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'1.0','root':{'path':'/r'}}",
          "config.json: ociVersion \"1.0\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'1.0.x','root':{'path':'/r'}}",
          "config.json: ociVersion \"1.0.x\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'1.0.2-','root':{'path':'/r'}}",
          "config.json: ociVersion \"1.0.2-\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'ociVersion':'','root':{'path':'/r'}}",
          "config.json: ociVersion \"\" is not supported (use 1.0.x, 1.1.x or 1.2.x)");
  REJECT ("{'root':{'path':'/r'}}", "config.json: ociVersion is required");
  REJECT ("{'ociVersion':1.0,'root':{'path':'/r'}}", "config.json: ociVersion must be a string");
  return 0;
}

static int
test_invalid_json (void)
{
  REJECT ("", "config.json: invalid JSON: unexpected end of input");
  REJECT ("{'ociVersion':'1.2.0',", "config.json: invalid JSON: unexpected end of input");
  REJECT ("{'ociVersion':'1.2.0',\n 'root': {'path': 'x',}}",
          "config.json: invalid JSON at line 2, column 23: unexpected character");
  REJECT ("{'ociVersion':'1.2.0'} x", "config.json: invalid JSON at line 1, column 24: unexpected character");
  REJECT ("{ociVersion:1}", "config.json: invalid JSON at line 1, column 2: quoted object property name expected");
  REJECT ("[1,2]", "config.json: the top level must be a JSON object");
  REJECT ("42", "config.json: the top level must be a JSON object");
  REJECT ("null", "config.json: the top level must be a JSON object");
  REJECT ("{'ociVersion':'1.2.0','hostname':'a\xff'}", "config.json: invalid JSON at line 1, column 36: invalid utf-8 string");
  return 0;
}

static int
test_embedded_nul (void)
{
  static const char json[] = "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/r\"}}\0{";
  struct berth_config *c = NULL;
  berth_error_t err = NULL;

  /* A NUL byte inside the buffer is not the end of the file.  */
  TAP_CHECK (berth_config_parse (json, sizeof (json) - 1, BUNDLE, &c, &err) < 0);
  TAP_CHECK (c == NULL);
  TAP_CHECK_STR_EQ (err->msg, "config.json: invalid JSON at line 1, column 44: unexpected data after the JSON value");
  berth_error_release (&err);

  REJECT ("{'ociVersion':'1.2.0','root':{'path':'/r\\u0000x'}}",
          "config.json: root.path must not contain a NUL character");
  return 0;
}

static int
test_root (void)
{
  static const struct
  {
    const char *bundle, *path, *expected;
  } cases[] = {
    { "/bundle", "rootfs", "/bundle/rootfs" },  { "/bundle", "./rootfs", "/bundle/rootfs" },
    { "/bundle/", "rootfs", "/bundle/rootfs" }, { "/bundle//", ".//rootfs", "/bundle/rootfs" },
    { "/", "rootfs", "/rootfs" },               { "/bundle", "/abs/rootfs", "/abs/rootfs" },
    { "/bundle", "a/b", "/bundle/a/b" },        { "/bundle", ".", "/bundle/." },
    { "/bundle", "./", "/bundle" },             { NULL, "/abs", "/abs" },
  };
  berth_error_t err = NULL;
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *json = xasprintf ("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"%s\"}}", cases[i].path);
      cleanup_config struct berth_config *c = NULL;

      if (berth_config_parse (json, strlen (json), cases[i].bundle, &c, &err) < 0)
        TAP_FAIL ("%s in %s: %s", cases[i].path, cases[i].bundle, err->msg);
      TAP_CHECK_STR_EQ (c->root_path, cases[i].expected);
    }

  REJECT ("{'ociVersion':'1.2.0'}", "config.json: root.path is required");
  REJECT ("{'ociVersion':'1.2.0','root':null}", "config.json: root.path is required");
  REJECT ("{'ociVersion':'1.2.0','root':{'readonly':true}}", "config.json: root.path is required");
  REJECT ("{'ociVersion':'1.2.0','root':'rootfs'}", "config.json: root must be an object");
  REJECT ("{'ociVersion':'1.2.0','root':{'path':''}}", "config.json: root.path must not be empty");
  REJECT ("{'ociVersion':'1.2.0','root':{'path':7}}", "config.json: root.path must be a string");
  REJECT ("{'ociVersion':'1.2.0','root':{'path':'r','readonly':'yes'}}",
          "config.json: root.readonly must be a boolean");
  return 0;
}

static int
test_root_needs_absolute_bundle (void)
{
  static const char json[] = "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}}";
  struct berth_config *c = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (berth_config_parse (json, strlen (json), "bundle", &c, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "config.json: root.path \"rootfs\" is relative and the bundle directory "
                              "`bundle` is not absolute: Invalid argument");
  berth_error_release (&err);
  TAP_CHECK (berth_config_parse (json, strlen (json), NULL, &c, &err) < 0);
  TAP_CHECK (c == NULL);
  berth_error_release (&err);
  return 0;
}

static int
test_platforms_rejected (void)
{
  REJECT (CFG (",'windows':{}"), "config.json: windows is not supported: Berth runs Linux containers");
  REJECT (CFG (",'solaris':{'milestone':'x'}"), "config.json: solaris is not supported: Berth runs Linux containers");
  REJECT (CFG (",'vm':{'kernel':{'path':'/k'}}"), "config.json: vm is not supported: Berth runs Linux containers");
  REJECT (CFG (",'zos':{}"), "config.json: zos is not supported: Berth runs Linux containers");
  return 0;
}

static int
test_unknown_and_null_ignored (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT ("{" HEAD ",'process':{'args':['sh'],'cwd':'/','user':{'uid':5,'gid':6,'username':'x'},'commandLine':'x',"
          "'capabilities':null,'newThing':{'a':[1,2]}},'hostname':null,'mounts':null,'linux':{'seccomp':null,"
          "'namespaces':null,'x':1},'hooks':{'prestart':null,'other':[1]},'annotations':null,'future':[{}]}",
          &c);
  TAP_CHECK_INT_EQ (c->process->uid, 5);
  TAP_CHECK_INT_EQ (c->process->gid, 6);
  TAP_CHECK (c->hostname == NULL && c->n_mounts == 0 && c->n_namespaces == 0 && c->n_annotations == 0);
  return 0;
}

/* ---- process.  */

static int
test_process_errors (void)
{
  REJECT ("{" HEAD ",'process':[]}", "config.json: process must be an object");
  REJECT ("{" HEAD ",'process':{'cwd':'/'}}", "config.json: process.args must be a non-empty array of strings");
  REJECT ("{" HEAD ",'process':{'args':[],'cwd':'/'}}", "config.json: process.args must be a non-empty array of strings");
  REJECT ("{" HEAD ",'process':{'args':'sh','cwd':'/'}}", "config.json: process.args must be a non-empty array of strings");
  REJECT ("{" HEAD ",'process':{'args':['sh',1],'cwd':'/'}}", "config.json: process.args[1] must be a string");
  REJECT ("{" HEAD ",'process':{'args':['sh',null],'cwd':'/'}}", "config.json: process.args[1] must be a string");
  REJECT ("{" HEAD ",'process':{'args':['sh']}}", "config.json: process.cwd is required (an absolute path)");
  REJECT ("{" HEAD ",'process':{'args':['sh'],'cwd':'tmp'}}", "config.json: process.cwd \"tmp\" must be an absolute path");
  REJECT ("{" HEAD ",'process':{'args':['sh'],'cwd':''}}", "config.json: process.cwd \"\" must be an absolute path");
  REJECT (CFG_PROC (",'env':['A=1','FOO']"), "config.json: process.env[1] \"FOO\" must be KEY=VALUE with a non-empty KEY");
  REJECT (CFG_PROC (",'env':['=x']"), "config.json: process.env[0] \"=x\" must be KEY=VALUE with a non-empty KEY");
  REJECT (CFG_PROC (",'env':'A=1'"), "config.json: process.env must be an array of strings");
  REJECT (CFG_PROC (",'env':[true]"), "config.json: process.env[0] must be a string");
  REJECT (CFG_PROC (",'terminal':1"), "config.json: process.terminal must be a boolean");
  REJECT (CFG_PROC (",'consoleSize':{'width':80}"), "config.json: process.consoleSize.height is required");
  REJECT (CFG_PROC (",'consoleSize':{'height':-1,'width':80}"),
          "config.json: process.consoleSize.height must be an integer from 0 to 4294967295");
  REJECT (CFG_PROC (",'consoleSize':[]"), "config.json: process.consoleSize must be an object");
  REJECT (CFG_PROC (",'user':{'uid':-1}"), "config.json: process.user.uid must be an integer from 0 to 4294967294");
  REJECT (CFG_PROC (",'user':{'uid':4294967295}"),
          "config.json: process.user.uid must be an integer from 0 to 4294967294");
  REJECT (CFG_PROC (",'user':{'uid':'root'}"), "config.json: process.user.uid must be an integer from 0 to 4294967294");
  REJECT (CFG_PROC (",'user':{'uid':1.5}"), "config.json: process.user.uid must be an integer from 0 to 4294967294");
  REJECT (CFG_PROC (",'user':{'gid':99999999999}"),
          "config.json: process.user.gid must be an integer from 0 to 4294967294");
  REJECT (CFG_PROC (",'user':{'umask':512}"), "config.json: process.user.umask must be an integer from 0 to 511");
  REJECT (CFG_PROC (",'user':{'additionalGids':[1,'x']}"), "config.json: process.user.additionalGids[1] must be an integer from 0 to 4294967294");
  REJECT (CFG_PROC (",'user':{'additionalGids':{}}"), "config.json: process.user.additionalGids must be an array");
  REJECT (CFG_PROC (",'user':1"), "config.json: process.user must be an object");
  REJECT (CFG_PROC (",'noNewPrivileges':'true'"), "config.json: process.noNewPrivileges must be a boolean");
  REJECT (CFG_PROC (",'oomScoreAdj':1001"), "config.json: process.oomScoreAdj must be an integer from -1000 to 1000");
  REJECT (CFG_PROC (",'oomScoreAdj':-1001"), "config.json: process.oomScoreAdj must be an integer from -1000 to 1000");
  return 0;
}

static int
test_process_user (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG_PROC (",'user':{'uid':4294967294,'gid':0,'umask':0,'additionalGids':[]},'oomScoreAdj':1000"), &c);
  TAP_CHECK (c->process->uid == 4294967294U);
  TAP_CHECK (c->process->has_umask && c->process->umask == 0);
  TAP_CHECK (c->process->additional_gids == NULL && c->process->n_additional_gids == 0);
  TAP_CHECK_INT_EQ (c->process->oom_score_adj, 1000);
  return 0;
}

static int
test_rlimits (void)
{
  static const struct
  {
    const char *name;
    int resource;
  } names[] = {
    { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
    { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
    { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
  };
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (names); i++)
    {
      cleanup_free char *q
          = xasprintf (CFG_PROC (",'rlimits':[{'type':'%s','soft':%zu,'hard':%zu}]"), names[i].name, i, i + 1);
      cleanup_config struct berth_config *c = NULL;

      ACCEPT (q, &c);
      TAP_CHECK_INT_EQ (c->process->n_rlimits, 1);
      TAP_CHECK_INT_EQ (c->process->rlimits[0].resource, names[i].resource);
      TAP_CHECK_STR_EQ (c->process->rlimits[0].type, names[i].name);
      TAP_CHECK (c->process->rlimits[0].soft == i && c->process->rlimits[0].hard == i + 1);
    }

  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
          "config.json: process.rlimits[0].type \"RLIMIT_FOO\" is not a known rlimit");
  REJECT (CFG_PROC (",'rlimits':[{'type':'nofile','soft':1,'hard':1}]"),
          "config.json: process.rlimits[0].type \"nofile\" is not a known rlimit");
  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_NOFILE','soft':2048,'hard':1024}]"),
          "config.json: process.rlimits[0].soft 2048 is greater than process.rlimits[0].hard 1024");
  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_CORE','soft':0,'hard':0},{'type':'RLIMIT_NOFILE','soft':1,'hard':1},"
                    "{'type':'RLIMIT_CORE','soft':1,'hard':1}]"),
          "config.json: process.rlimits[2].type \"RLIMIT_CORE\" is given twice (also in process.rlimits[0])");
  REJECT (CFG_PROC (",'rlimits':[{'soft':1,'hard':1}]"), "config.json: process.rlimits[0].type is required");
  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_CPU','hard':1}]"), "config.json: process.rlimits[0].soft is required");
  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_CPU','soft':1}]"), "config.json: process.rlimits[0].hard is required");
  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_CPU','soft':-1,'hard':1}]"),
          "config.json: process.rlimits[0].soft must be a non-negative integer");
  REJECT (CFG_PROC (",'rlimits':[{'type':'RLIMIT_CPU','soft':1,'hard':'unlimited'}]"),
          "config.json: process.rlimits[0].hard must be a non-negative integer");
  REJECT (CFG_PROC (",'rlimits':['RLIMIT_CPU']"), "config.json: process.rlimits[0] must be an object");
  REJECT (CFG_PROC (",'rlimits':{}"), "config.json: process.rlimits must be an array");
  return 0;
}

static int
test_process_unsupported (void)
{
  cleanup_config struct berth_config *c = NULL;

  REJECT (CFG_PROC (",'capabilities':{'bounding':['CAP_NOPE']}"),
          "config.json: process.capabilities.bounding[0] \"CAP_NOPE\" is not a capability");
  REJECT (CFG_PROC (",'capabilities':{'effective':'CAP_CHOWN'}"),
          "config.json: process.capabilities.effective must be an array of strings");
  REJECT (CFG_PROC (",'apparmorProfile':'docker-default'"), "config.json: process.apparmorProfile is not supported yet");
  REJECT (CFG_PROC (",'selinuxLabel':'system_u:system_r:container_t:s0'"),
          "config.json: process.selinuxLabel is not supported yet");
  REJECT (CFG_PROC (",'ioPriority':{'class':'IOPRIO_CLASS_IDLE'}"), "config.json: process.ioPriority is not supported yet");
  REJECT (CFG_PROC (",'scheduler':{'policy':'SCHED_OTHER'}"), "config.json: process.scheduler is not supported yet");
  REJECT (CFG_PROC (",'execCPUAffinity':{'initial':'0'}"), "config.json: process.execCPUAffinity is not supported yet");

  ACCEPT (CFG_PROC (",'capabilities':null,'apparmorProfile':'','selinuxLabel':''"), &c);
  return 0;
}

static int
process_parse (const char *json, struct berth_process **p, berth_error_t *err)
{
  return berth_process_parse (json, strlen (json), p, err);
}

static int
test_process_parse (void)
{
  static const char good[] = "{\"args\":[\"ls\",\"-l\"],\"env\":[\"A=b\"],\"cwd\":\"/tmp\",\"terminal\":true,"
                             "\"user\":{\"uid\":7,\"gid\":8}}";
  struct berth_process *p = NULL;
  berth_error_t err = NULL;

  if (berth_process_parse (good, strlen (good), &p, &err) < 0)
    TAP_FAIL ("rejected: %s", err->msg);
  TAP_CHECK_INT_EQ (strv_len (p->args), 2);
  TAP_CHECK_STR_EQ (p->args[1], "-l");
  TAP_CHECK_STR_EQ (p->env[0], "A=b");
  TAP_CHECK_STR_EQ (p->cwd, "/tmp");
  TAP_CHECK (p->terminal && p->uid == 7 && p->gid == 8);
  berth_process_free (p);
  p = NULL;

  TAP_CHECK (process_parse ("{\"cwd\":\"/\"}", &p, &err) < 0);
  TAP_CHECK (p == NULL);
  TAP_CHECK_STR_EQ (err->msg, "process.json: args must be a non-empty array of strings");
  TAP_CHECK_STR_EQ (err->op, "config");
  berth_error_release (&err);

  TAP_CHECK (process_parse ("{\"args\":[\"x\"],\"cwd\":\"/\",\"capabilities\":{\"ambient\":[\"CAP_X\"]}}", &p, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "process.json: capabilities.ambient[0] \"CAP_X\" is not a capability");
  berth_error_release (&err);

  TAP_CHECK (process_parse ("{\"args\":[\"x\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"]}}", &p, &err) == 0);
  TAP_CHECK (p->has_capabilities && p->capabilities.bounding == (1ULL << 5) && p->capabilities.effective == 0);
  berth_process_free (p);
  p = NULL;

  TAP_CHECK (process_parse ("{\"args\":[\"x\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\"}]}", &p, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "process.json: rlimits[0].soft is required");
  berth_error_release (&err);

  TAP_CHECK (process_parse ("[]", &p, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "process.json: the process must be an object");
  berth_error_release (&err);

  TAP_CHECK (process_parse ("{", &p, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "process.json: invalid JSON: unexpected end of input");
  berth_error_release (&err);
  TAP_CHECK (p == NULL);
  return 0;
}

/* ---- mounts.  */

static int
check_mount_options (const char *options, unsigned long flags, unsigned long propagation, const char *data)
{
  cleanup_free char *q
      = xasprintf (CFG (",'mounts':[{'destination':'/m','type':'tmpfs','source':'/src','options':[%s]}]"), options);
  cleanup_config struct berth_config *c = NULL;
  const struct berth_mount *m;

  ACCEPT (q, &c);
  m = &c->mounts[0];
  if (m->flags != flags || m->propagation != propagation
      || (data == NULL ? m->data != NULL : m->data == NULL || strcmp (m->data, data) != 0))
    TAP_FAIL ("options [%s]: flags %#lx propagation %#lx data %s; expected %#lx %#lx %s", options, m->flags,
              m->propagation, m->data ? m->data : "NULL", flags, propagation, data ? data : "NULL");
  return 0;
}
#define CHECK_OPTIONS(o, f, p, d)                    \
  do                                                 \
    {                                                \
      if (check_mount_options (o, f, p, d) < 0)       \
        return -1;                                   \
    }                                                \
  while (0)

static int
test_mount_options (void)
{
  CHECK_OPTIONS ("'nosuid','strictatime','mode=755','size=65536k'", MS_NOSUID | MS_STRICTATIME, 0,
                 "mode=755,size=65536k");
  CHECK_OPTIONS ("'rbind','ro','rslave'", MS_BIND | MS_REC | MS_RDONLY, MS_SLAVE | MS_REC, NULL);
  CHECK_OPTIONS ("'bind'", MS_BIND, 0, NULL);
  CHECK_OPTIONS ("", 0, 0, NULL);
  CHECK_OPTIONS ("'ro','rw'", 0, 0, NULL);
  CHECK_OPTIONS ("'rw','ro'", MS_RDONLY, 0, NULL);
  CHECK_OPTIONS ("'nosuid','nodev','noexec'", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, NULL);
  CHECK_OPTIONS ("'nosuid','suid','nodev','dev','noexec','exec'", 0, 0, NULL);
  CHECK_OPTIONS ("'sync','dirsync','remount','mand'", MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK, 0,
                 NULL);
  CHECK_OPTIONS ("'sync','async','mand','nomand'", 0, 0, NULL);
  CHECK_OPTIONS ("'noatime','nodiratime','relatime','strictatime'",
                 MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME, 0, NULL);
  CHECK_OPTIONS ("'noatime','atime','nodiratime','diratime','relatime','norelatime','strictatime','nostrictatime'",
                 0, 0, NULL);
  CHECK_OPTIONS ("'private'", 0, MS_PRIVATE, NULL);
  CHECK_OPTIONS ("'rprivate'", 0, MS_PRIVATE | MS_REC, NULL);
  CHECK_OPTIONS ("'shared'", 0, MS_SHARED, NULL);
  CHECK_OPTIONS ("'rshared'", 0, MS_SHARED | MS_REC, NULL);
  CHECK_OPTIONS ("'slave'", 0, MS_SLAVE, NULL);
  CHECK_OPTIONS ("'rslave'", 0, MS_SLAVE | MS_REC, NULL);
  CHECK_OPTIONS ("'unbindable'", 0, MS_UNBINDABLE, NULL);
  CHECK_OPTIONS ("'runbindable'", 0, MS_UNBINDABLE | MS_REC, NULL);
  CHECK_OPTIONS ("'rshared','private'", 0, MS_PRIVATE, NULL); /* the last one wins */
  CHECK_OPTIONS ("'newinstance','ptmxmode=0666','mode=0620','gid=5','nosuid'", MS_NOSUID, 0,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5");
  CHECK_OPTIONS ("'size=1m'", 0, 0, "size=1m");
  /* The rest of the spec's list (config.md "Mounts", Linux): flags, not filesystem data.  */
  CHECK_OPTIONS ("'defaults','lazytime','iversion','silent','nosymfollow'",
                 MS_LAZYTIME | MS_I_VERSION | MS_SILENT | 256 /* MS_NOSYMFOLLOW */, 0, NULL);
  CHECK_OPTIONS ("'lazytime','nolazytime','iversion','noiversion','silent','loud','nosymfollow','symfollow'", 0, 0,
                 NULL);
  return 0;
}

static int
test_bind_mounts (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG (",'mounts':[{'destination':'/a','type':'bind','source':'/host/a'},"
               "{'destination':'/b','source':'./b','options':['rbind']},"
               "{'destination':'/c','type':'none','source':'c/d','options':['bind','ro']},"
               "{'destination':'/d','type':'tmpfs','source':'tmpfs'}]"),
          &c);
  TAP_CHECK_INT_EQ (c->mounts[0].flags, MS_BIND); /* type "bind" alone is a bind mount */
  TAP_CHECK_STR_EQ (c->mounts[0].source, "/host/a");
  TAP_CHECK (c->mounts[1].type == NULL);
  TAP_CHECK_INT_EQ (c->mounts[1].flags, MS_BIND | MS_REC);
  TAP_CHECK_STR_EQ (c->mounts[1].source, "/bundle/b");
  TAP_CHECK_INT_EQ (c->mounts[2].flags, MS_BIND | MS_RDONLY);
  TAP_CHECK_STR_EQ (c->mounts[2].source, "/bundle/c/d");
  TAP_CHECK_STR_EQ (c->mounts[3].source, "tmpfs"); /* not a path: left alone */
  TAP_CHECK (c->mounts[2].bind_data == NULL);
  berth_config_free (steal_pointer (&c));

  /* Filesystem data on a bind mount is accepted, as crun and runc do, and kept apart: the
     kernel ignores it, and it is never passed on.  */
  ACCEPT (CFG (",'mounts':[{'destination':'/a','type':'bind','source':'/x','options':['bind','ro','mode=755','x-typo']}]"),
          &c);
  TAP_CHECK_INT_EQ (c->mounts[0].flags, MS_BIND | MS_RDONLY);
  TAP_CHECK (c->mounts[0].data == NULL);
  TAP_CHECK_STR_EQ (c->mounts[0].bind_data, "mode=755,x-typo");

  REJECT (CFG (",'mounts':[{'destination':'/a','type':'bind'}]"),
          "config.json: mounts[0].source is required for a bind mount");
  REJECT (CFG (",'mounts':[{'destination':'/a','source':'','options':['rbind']}]"),
          "config.json: mounts[0].source is required for a bind mount");
  return 0;
}

static int
test_mount_errors (void)
{
  REJECT (CFG (",'mounts':[{'destination':'/a','type':'bind','source':'/x','options':['rbind','rro']}]"),
          "config.json: mounts[0].options[1] \"rro\" is not supported by berth-runtime yet");
  REJECT (CFG (",'mounts':[{'destination':'/a','type':'bind','source':'/x','options':['idmap']}]"),
          "config.json: mounts[0].options[0] \"idmap\" is not supported by berth-runtime yet");
  REJECT (CFG (",'mounts':[{'destination':'/proc','type':'proc'},{'destination':'/a','type':'tmpfs'},"
               "{'destination':'/b','type':'tmpfs'},{'destination':'proc','type':'proc'}]"),
          "config.json: mounts[3].destination \"proc\" must be an absolute path");
  REJECT (CFG (",'mounts':[{'destination':'','type':'tmpfs'}]"),
          "config.json: mounts[0].destination \"\" must be an absolute path");
  REJECT (CFG (",'mounts':[{'type':'tmpfs'}]"), "config.json: mounts[0].destination is required");
  REJECT (CFG (",'mounts':[{'destination':5}]"), "config.json: mounts[0].destination must be a string");
  REJECT (CFG (",'mounts':['/proc']"), "config.json: mounts[0] must be an object");
  REJECT (CFG (",'mounts':{}"), "config.json: mounts must be an array");
  REJECT (CFG (",'mounts':[{'destination':'/a','type':1}]"), "config.json: mounts[0].type must be a string");
  REJECT (CFG (",'mounts':[{'destination':'/a','source':[]}]"), "config.json: mounts[0].source must be a string");
  REJECT (CFG (",'mounts':[{'destination':'/a','options':'ro'}]"),
          "config.json: mounts[0].options must be an array of strings");
  REJECT (CFG (",'mounts':[{'destination':'/a','options':['ro',5]}]"),
          "config.json: mounts[0].options[1] must be a string");
  REJECT (CFG (",'mounts':[{'destination':'/a','options':['ro','']}]"),
          "config.json: mounts[0].options[1] must not be empty");
  REJECT (CFG (",'mounts':[{'destination':'/a','type':'bind','source':'/x','options':['rbind'],"
               "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}]"),
          "config.json: mounts[0].uidMappings is not supported yet");
  REJECT (CFG (",'mounts':[{'destination':'/a','type':'tmpfs','options':['mode=1'],'gidMappings':[{}]}]"),
          "config.json: mounts[0].gidMappings is not supported yet");
  return 0;
}

/* ---- linux.  */

static int
test_namespaces (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG_LINUX ("'namespaces':[{'type':'mount'},{'type':'cgroup'},{'type':'ipc','path':'/proc/1/ns/ipc'}]"), &c);
  TAP_CHECK_INT_EQ (c->n_namespaces, 3);
  TAP_CHECK (berth_config_has_namespace (c, CLONE_NEWNS));
  TAP_CHECK (!berth_config_has_namespace (c, CLONE_NEWPID));
  TAP_CHECK (berth_config_namespace (c, CLONE_NEWUTS) == NULL);
  TAP_CHECK_STR_EQ (berth_config_namespace (c, CLONE_NEWIPC)->path, "/proc/1/ns/ipc");

  REJECT (CFG_LINUX ("'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'time'}]"),
          "config.json: linux.namespaces[2].type \"time\" is not supported");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'user'}]"),
          "config.json: a new user namespace needs linux.uidMappings and linux.gidMappings");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'net'}]"),
          "config.json: linux.namespaces[0].type \"net\" is not a namespace type");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'pid'},{'type':'uts'},{'type':'pid','path':'/proc/1/ns/pid'}]"),
          "config.json: linux.namespaces[2].type \"pid\" is given twice (also in linux.namespaces[0])");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'network','path':'run/netns/x'}]"),
          "config.json: linux.namespaces[0].path \"run/netns/x\" must be an absolute path");
  REJECT (CFG_LINUX ("'namespaces':[{'path':'/x'}]"), "config.json: linux.namespaces[0].type is required");
  REJECT (CFG_LINUX ("'namespaces':[{'type':7}]"), "config.json: linux.namespaces[0].type must be a string");
  REJECT (CFG_LINUX ("'namespaces':['pid']"), "config.json: linux.namespaces[0] must be an object");
  REJECT (CFG_LINUX ("'namespaces':{'pid':{}}"), "config.json: linux.namespaces must be an array");
  REJECT (CFG (",'linux':[]"), "config.json: linux must be an object");
  return 0;
}

static int
test_linux_unsupported (void)
{
  cleanup_config struct berth_config *c = NULL;

  REJECT (CFG_LINUX ("'seccomp':{'defaultAction':'SCMP_ACT_NOPE'}"),
          "config.json: linux.seccomp.defaultAction \"SCMP_ACT_NOPE\" is not a seccomp action");
  REJECT (CFG_LINUX ("'resources':{'blockIO':{'weight':10}}"),
          "config.json: linux.resources.blockIO is not supported by berth-runtime; remove it");
  REJECT (CFG_LINUX ("'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
          "config.json: linux.uidMappings and linux.gidMappings need a user namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'intelRdt':{'closID':'x'}"), "config.json: linux.intelRdt is not supported yet");
  REJECT (CFG_LINUX ("'personality':{'domain':'LINUX32'}"), "config.json: linux.personality is not supported yet");
  REJECT (CFG_LINUX ("'mountLabel':'system_u:object_r:container_file_t:s0'"),
          "config.json: linux.mountLabel is not supported yet");
  REJECT (CFG_LINUX ("'timeOffsets':{'monotonic':{'secs':1}}"), "config.json: linux.timeOffsets is not supported yet");
  REJECT (CFG_LINUX ("'memoryPolicy':{'mode':'MPOL_BIND','nodes':'0'}"),
          "config.json: linux.memoryPolicy is not supported yet");

  ACCEPT (CFG_LINUX ("'maskedPaths':[],'readonlyPaths':[],'resources':{},'devices':[],'uidMappings':[],"
                     "'gidMappings':[],'mountLabel':'','seccomp':null"),
          &c);
  /* Empty lists are nothing to do.  */
  TAP_CHECK (c->masked_paths == NULL);
  TAP_CHECK (c->readonly_paths == NULL);
  TAP_CHECK (c->devices == NULL);
  TAP_CHECK_INT_EQ (c->n_devices, 0);
  return 0;
}

/* Docker's lists.  */
#define MASKED                                                                                      \
  "'maskedPaths':['/proc/asound','/proc/acpi','/proc/kcore','/proc/keys','/proc/latency_stats',"  \
  "'/proc/timer_list','/proc/timer_stats','/proc/sched_debug','/proc/scsi','/sys/firmware',"       \
  "'/sys/devices/virtual/powercap']"
#define READONLY "'readonlyPaths':['/proc/bus','/proc/fs','/proc/irq','/proc/sys','/proc/sysrq-trigger']"

static int
test_masked_readonly_paths (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG_LINUX (MASKED "," READONLY), &c);
  TAP_CHECK_INT_EQ (strv_len (c->masked_paths), 11);
  TAP_CHECK_STR_EQ (c->masked_paths[0], "/proc/asound");
  TAP_CHECK_STR_EQ (c->masked_paths[10], "/sys/devices/virtual/powercap");
  TAP_CHECK_INT_EQ (strv_len (c->readonly_paths), 5);
  TAP_CHECK_STR_EQ (c->readonly_paths[3], "/proc/sys");
  TAP_CHECK_STR_EQ (c->readonly_paths[4], "/proc/sysrq-trigger");
  TAP_CHECK (c->devices == NULL);
  berth_config_free (steal_pointer (&c));

  ACCEPT (CFG_LINUX ("'maskedPaths':null,'readonlyPaths':['/x']"), &c);
  TAP_CHECK (c->masked_paths == NULL);
  TAP_CHECK_INT_EQ (strv_len (c->readonly_paths), 1);

  REJECT (CFG_LINUX ("'maskedPaths':['/proc/kcore','proc/keys']"),
          "config.json: linux.maskedPaths[1] \"proc/keys\" must be an absolute path");
  REJECT (CFG_LINUX ("'maskedPaths':['']"), "config.json: linux.maskedPaths[0] \"\" must be an absolute path");
  REJECT (CFG_LINUX ("'maskedPaths':['/a',7]"), "config.json: linux.maskedPaths[1] must be a string");
  REJECT (CFG_LINUX ("'maskedPaths':'/proc/kcore'"), "config.json: linux.maskedPaths must be an array of strings");
  REJECT (CFG_LINUX ("'readonlyPaths':['/proc/sys','/proc/bus','./fs']"),
          "config.json: linux.readonlyPaths[2] \"./fs\" must be an absolute path");
  REJECT (CFG_LINUX ("'readonlyPaths':[null]"), "config.json: linux.readonlyPaths[0] must be a string");
  REJECT (CFG_LINUX ("'readonlyPaths':{}"), "config.json: linux.readonlyPaths must be an array of strings");
  return 0;
}

#define DEV(fields) CFG_LINUX ("'devices':[{'path':'/dev/a','type':'c','major':1,'minor':3}," fields "]")

static int
test_resources (void)
{
  cleanup_config struct berth_config *c = NULL;
  const struct berth_cgroup_resources *r;

  ACCEPT (CFG_LINUX ("'resources':{'memory':{'limit':67108864,'reservation':33554432,'swap':134217728,"
                     "'swappiness':10,'disableOOMKiller':true,'kernel':0},"
                     "'cpu':{'shares':512,'quota':50000,'period':100000,'cpus':'0-1,3','mems':'0'},"
                     "'pids':{'limit':64},"
                     "'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':1,'minor':3,"
                     "'access':'mwr'},{'allow':true,'type':'b','access':'m'}],"
                     "'unified':{'memory.high':'50000000'},'blockIO':{},'hugepageLimits':[]}"),
          &c);
  r = &c->resources;
  TAP_CHECK (r->memory_limit == 67108864 && r->memory_reservation == 33554432 && r->memory_swap == 134217728);
  TAP_CHECK (r->memory_swappiness == 10 && r->disable_oom_killer);
  TAP_CHECK (r->cpu_shares == 512 && r->cpu_quota == 50000 && r->cpu_period == 100000);
  TAP_CHECK_STR_EQ (r->cpus, "0-1,3");
  TAP_CHECK_STR_EQ (r->mems, "0");
  TAP_CHECK (r->pids_limit == 64);
  TAP_CHECK (r->has_devices && r->n_devices == 3);
  TAP_CHECK (! r->devices[0].allow && r->devices[0].type == 'a' && r->devices[0].major == -1);
  TAP_CHECK_STR_EQ (r->devices[0].access, "rwm");
  TAP_CHECK (r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].major == 1 && r->devices[1].minor == 3);
  TAP_CHECK_STR_EQ (r->devices[1].access, "rwm"); /* normalised order */
  TAP_CHECK_STR_EQ (r->devices[2].access, "m");
  TAP_CHECK (r->n_unified == 1);
  TAP_CHECK_STR_EQ (r->unified_keys[0], "memory.high");
  berth_config_free (c);
  c = NULL;

  /* Unset stays unset; -1 is unlimited.  */
  ACCEPT (CFG_LINUX ("'resources':{'memory':{'limit':-1},'pids':{'limit':-1}}"), &c);
  TAP_CHECK (c->resources.memory_limit == -1 && c->resources.pids_limit == -1);
  TAP_CHECK (c->resources.cpu_shares == BERTH_CGROUP_UNSET && c->resources.memory_swap == BERTH_CGROUP_UNSET);
  TAP_CHECK (! c->resources.has_devices);

  REJECT (CFG_LINUX ("'resources':[]"), "config.json: linux.resources must be an object");
  REJECT (CFG_LINUX ("'resources':{'memory':{'limit':0}}"),
          "config.json: linux.resources.memory.limit must be -1 (no limit) or a number of bytes, not 0");
  REJECT (CFG_LINUX ("'resources':{'memory':{'limit':'1g'}}"),
          "config.json: linux.resources.memory.limit must be an integer from -1 to 4611686018427387903");
  REJECT (CFG_LINUX ("'resources':{'memory':{'limit':1048576,'swap':524288}}"),
          "config.json: linux.resources.memory.swap 524288 is less than linux.resources.memory.limit 1048576: "
          "swap counts memory plus swap");
  REJECT (CFG_LINUX ("'resources':{'memory':{'swap':524288}}"),
          "config.json: linux.resources.memory.swap (memory plus swap) needs linux.resources.memory.limit");
  REJECT (CFG_LINUX ("'resources':{'memory':{'kernel':1048576}}"),
          "config.json: linux.resources.memory.kernel is not supported by berth-runtime; remove it");
  REJECT (CFG_LINUX ("'resources':{'memory':{'swappiness':101}}"),
          "config.json: linux.resources.memory.swappiness must be an integer from 0 to 100");
  REJECT (CFG_LINUX ("'resources':{'cpu':{'shares':1}}"),
          "config.json: linux.resources.cpu.shares must be an integer from 2 to 262144");
  REJECT (CFG_LINUX ("'resources':{'cpu':{'quota':500}}"),
          "config.json: linux.resources.cpu.quota must be -1 (no limit) or at least 1000 microseconds");
  REJECT (CFG_LINUX ("'resources':{'cpu':{'cpus':'0-1;rm'}}"),
          "config.json: linux.resources.cpu.cpus \"0-1;rm\" must be a list such as \"0-3,5\"");
  REJECT (CFG_LINUX ("'resources':{'cpu':{'realtimeRuntime':950000}}"),
          "config.json: linux.resources.cpu.realtimeRuntime is not supported by berth-runtime; remove it");
  REJECT (CFG_LINUX ("'resources':{'pids':{}}"), "config.json: linux.resources.pids.limit is required");
  REJECT (CFG_LINUX ("'resources':{'devices':[{'access':'rwm'}]}"),
          "config.json: linux.resources.devices[0].allow is required");
  REJECT (CFG_LINUX ("'resources':{'devices':[{'allow':true,'type':'u'}]}"),
          "config.json: linux.resources.devices[0].type \"u\" must be one of a, c, b");
  REJECT (CFG_LINUX ("'resources':{'devices':[{'allow':true,'access':'rwx'}]}"),
          "config.json: linux.resources.devices[0].access \"rwx\" must be made of r, w and m, each at most once");
  REJECT (CFG_LINUX ("'resources':{'devices':[{'allow':true,'access':''}]}"),
          "config.json: linux.resources.devices[0].access must not be empty (use some of \"rwm\")");
  REJECT (CFG_LINUX ("'resources':{'unified':{'../../cgroup.procs':'1'}}"),
          "config.json: linux.resources.unified[\"../../cgroup.procs\"] must name a controller file such as "
          "memory.high");
  REJECT (CFG_LINUX ("'resources':{'unified':{'cgroup.subtree_control':'+memory'}}"),
          "config.json: linux.resources.unified[\"cgroup.subtree_control\"] must name a controller file such as "
          "memory.high");
  REJECT (CFG_LINUX ("'resources':{'blockIO':{'weight':10}}"),
          "config.json: linux.resources.blockIO is not supported by berth-runtime; remove it");
  REJECT (CFG_LINUX ("'resources':{'network':{'classID':1}}"),
          "config.json: linux.resources.network is not supported by berth-runtime; remove it");
  return 0;
}

#define USERNS "'namespaces':[{'type':'user'},{'type':'mount'}],"
#define MAPS(u, g) "'uidMappings':[" u "],'gidMappings':[" g "]"

static int
test_user_namespace (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG_LINUX (USERNS MAPS ("{'containerID':0,'hostID':100000,'size':65536}",
                                  "{'containerID':0,'hostID':200000,'size':1000},"
                                  "{'containerID':1000,'hostID':300000,'size':10}")),
          &c);
  TAP_CHECK (berth_config_has_namespace (c, CLONE_NEWUSER));
  TAP_CHECK (c->uid_map.n == 1 && c->uid_map.items[0].host_id == 100000 && c->uid_map.items[0].size == 65536);
  TAP_CHECK (c->gid_map.n == 2);
  TAP_CHECK (berth_idmap_to_host (&c->uid_map, 0) == 100000);
  TAP_CHECK (berth_idmap_to_host (&c->uid_map, 65535) == 165535);
  TAP_CHECK (berth_idmap_to_host (&c->uid_map, 65536) == -1);
  TAP_CHECK (berth_idmap_to_host (&c->gid_map, 1005) == 300005);
  TAP_CHECK (berth_idmap_to_host (&c->gid_map, 1010) == -1);

  REJECT (CFG_LINUX (USERNS "'uidMappings':[{'containerID':0,'hostID':100000,'size':10}]"),
          "config.json: a new user namespace needs linux.uidMappings and linux.gidMappings");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'user','path':'/proc/1/ns/user'}]," MAPS ("{'containerID':0,'hostID':1,'size':1}", "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: joining a user namespace (linux.namespaces user path) is not supported yet");
  REJECT (CFG_LINUX (USERNS MAPS ("{'containerID':0,'hostID':100000,'size':0}", "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: linux.uidMappings[0].size must be an integer from 1 to 4294967295");
  REJECT (CFG_LINUX (USERNS MAPS ("{'containerID':0,'hostID':100000,'size':10},{'containerID':5,'hostID':200000,'size':10}",
                                  "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: linux.uidMappings[1] overlaps linux.uidMappings[0] in container ids");
  REJECT (CFG_LINUX (USERNS MAPS ("{'containerID':0,'hostID':100000,'size':10},{'containerID':50,'hostID':100005,'size':10}",
                                  "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: linux.uidMappings[1] overlaps linux.uidMappings[0] in host ids");
  REJECT (CFG_LINUX (USERNS MAPS ("{'containerID':0,'hostID':4294967290,'size':10}", "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: linux.uidMappings[0] goes past id 4294967294");
  REJECT (CFG_LINUX (USERNS MAPS ("{'containerID':0,'hostID':100000}", "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: linux.uidMappings[0].size is required");
  /* The process's ids must be mapped (CFG runs uid 0).  */
  REJECT (CFG_LINUX (USERNS MAPS ("{'containerID':1,'hostID':100000,'size':10}", "{'containerID':0,'hostID':1,'size':1}")),
          "config.json: process.user.uid 0 is not in linux.uidMappings");
  return 0;
}

static int
test_devices (void)
{
  cleanup_config struct berth_config *c = NULL;
  const struct berth_device *d;

  ACCEPT (CFG_LINUX ("'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,"
                     "'uid':0,'gid':0},"
                     "{'path':'/dev/sda','type':'b','major':8,'minor':0,'fileMode':432,'uid':1000,'gid':6},"
                     "{'path':'/dev/ttyX','type':'u','major':4095,'minor':1048575},"
                     "{'path':'/run/fifo','type':'p'},"
                     "{'path':'/run/fifo2','type':'p','major':-1,'minor':'x','fileMode':0}]"),
          &c);
  TAP_CHECK_INT_EQ (c->n_devices, 5);
  d = &c->devices[0];
  TAP_CHECK_STR_EQ (d->path, "/dev/fuse");
  TAP_CHECK (d->type == 'c' && d->major == 10 && d->minor == 229);
  TAP_CHECK (d->has_file_mode && d->file_mode == 0666);
  TAP_CHECK (d->has_uid && d->uid == 0 && d->has_gid && d->gid == 0);
  d = &c->devices[1];
  TAP_CHECK (d->type == 'b' && d->major == 8 && d->minor == 0);
  TAP_CHECK (d->file_mode == 0660 && d->uid == 1000 && d->gid == 6);
  d = &c->devices[2];
  TAP_CHECK (d->type == 'u' && d->major == 4095 && d->minor == 1048575);
  TAP_CHECK (! d->has_file_mode && ! d->has_uid && ! d->has_gid);
  d = &c->devices[3];
  TAP_CHECK_STR_EQ (d->path, "/run/fifo");
  TAP_CHECK (d->type == 'p' && d->major == 0 && d->minor == 0 && ! d->has_file_mode);
  d = &c->devices[4]; /* a FIFO's numbers are ignored */
  TAP_CHECK (d->type == 'p' && d->major == 0 && d->minor == 0 && d->has_file_mode && d->file_mode == 0);
  TAP_CHECK (c->masked_paths == NULL && c->readonly_paths == NULL);
  /* Without device rules there is no device cgroup to open the devices in.  */
  TAP_CHECK (c->resources.n_config_devices == 0 && c->resources.config_devices == NULL);
  berth_config_free (steal_pointer (&c));

  /* With device rules, each device (not a FIFO) is allowed after them.  */
  ACCEPT (CFG_LINUX ("'resources':{'devices':[{'allow':false,'access':'rwm'}]},"
                     "'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229},"
                     "{'path':'/run/fifo','type':'p'},"
                     "{'path':'/dev/sda','type':'b','major':8,'minor':0},"
                     "{'path':'/dev/ttyX','type':'u','major':4,'minor':7}]"),
          &c);
  TAP_CHECK_INT_EQ (c->resources.n_devices, 1);
  TAP_CHECK_INT_EQ (c->resources.n_config_devices, 3);
  TAP_CHECK (c->resources.config_devices[0].allow && c->resources.config_devices[0].type == 'c'
             && c->resources.config_devices[0].major == 10 && c->resources.config_devices[0].minor == 229);
  TAP_CHECK_STR_EQ (c->resources.config_devices[0].access, "rwm");
  TAP_CHECK (c->resources.config_devices[1].type == 'b' && c->resources.config_devices[1].major == 8);
  TAP_CHECK (c->resources.config_devices[2].type == 'c' && c->resources.config_devices[2].minor == 7);

  REJECT (CFG_LINUX ("'devices':{}"), "config.json: linux.devices must be an array");
  REJECT (DEV ("'/dev/b'"), "config.json: linux.devices[1] must be an object");
  REJECT (DEV ("{'type':'c','major':1,'minor':1}"), "config.json: linux.devices[1].path is required");
  REJECT (DEV ("{'path':'dev/b','type':'c','major':1,'minor':1}"),
          "config.json: linux.devices[1].path \"dev/b\" must be an absolute path");
  REJECT (DEV ("{'path':5,'type':'c','major':1,'minor':1}"), "config.json: linux.devices[1].path must be a string");
  REJECT (DEV ("{'path':'/dev/b','major':1,'minor':1}"), "config.json: linux.devices[1].type is required");
  REJECT (DEV ("{'path':'/dev/b','type':'x','major':1,'minor':1}"),
          "config.json: linux.devices[1].type \"x\" must be one of c, b, u, p");
  REJECT (DEV ("{'path':'/dev/b','type':'cb','major':1,'minor':1}"),
          "config.json: linux.devices[1].type \"cb\" must be one of c, b, u, p");
  REJECT (DEV ("{'path':'/dev/b','type':'','major':1,'minor':1}"),
          "config.json: linux.devices[1].type \"\" must be one of c, b, u, p");
  REJECT (DEV ("{'path':'/dev/b','type':'c','minor':1}"), "config.json: linux.devices[1].major is required");
  REJECT (DEV ("{'path':'/dev/b','type':'b','major':1}"), "config.json: linux.devices[1].minor is required");
  REJECT (DEV ("{'path':'/dev/b','type':'u','major':-1,'minor':1}"),
          "config.json: linux.devices[1].major must be an integer from 0 to 4095");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':4096,'minor':1}"),
          "config.json: linux.devices[1].major must be an integer from 0 to 4095");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':1,'minor':1048576}"),
          "config.json: linux.devices[1].minor must be an integer from 0 to 1048575");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':'1','minor':1}"),
          "config.json: linux.devices[1].major must be an integer from 0 to 4095");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':1,'minor':1,'fileMode':4096}"),
          "config.json: linux.devices[1].fileMode must be an integer from 0 to 4095");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':1,'minor':1,'fileMode':-1}"),
          "config.json: linux.devices[1].fileMode must be an integer from 0 to 4095");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':1,'minor':1,'uid':-1}"),
          "config.json: linux.devices[1].uid must be an integer from 0 to 4294967294");
  REJECT (DEV ("{'path':'/dev/b','type':'c','major':1,'minor':1,'gid':4294967295}"),
          "config.json: linux.devices[1].gid must be an integer from 0 to 4294967294");
  REJECT (DEV ("{'path':'/dev/a','type':'b','major':8,'minor':0}"),
          "config.json: linux.devices[1].path \"/dev/a\" is given twice (also in linux.devices[0])");
  REJECT (DEV ("{'path':'/dev/b','type':'p'},{'path':'/dev/b','type':'p'}"),
          "config.json: linux.devices[2].path \"/dev/b\" is given twice (also in linux.devices[1])");
  return 0;
}

static int
test_sysctl (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG_LINUX (ALL_NS ",'sysctl':{'kernel.msgmax':'8192','kernel.msgmnb':'1','kernel.sem':'250 1 32 128',"
                     "'kernel.shmall':'1','kernel.shm_rmid_forced':'1','fs.mqueue.msg_max':'10',"
                     "'net.core.somaxconn':'1024','kernel.hostname':'h','kernel.domainname':'d'}"),
          &c);
  TAP_CHECK_INT_EQ (c->n_sysctl, 9);
  TAP_CHECK_STR_EQ (c->sysctl_keys[2], "kernel.sem");
  TAP_CHECK_STR_EQ (c->sysctl_values[2], "250 1 32 128");

  REJECT (CFG_LINUX ("'sysctl':{'kernel.shmmax':'1'}"),
          "config.json: linux.sysctl \"kernel.shmmax\" needs a new ipc namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'sysctl':{'kernel.msgmax':'1'}"),
          "config.json: linux.sysctl \"kernel.msgmax\" needs a new ipc namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'sysctl':{'kernel.sem':'1'}"),
          "config.json: linux.sysctl \"kernel.sem\" needs a new ipc namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'network'}],'sysctl':{'fs.mqueue.queues_max':'1'}"),
          "config.json: linux.sysctl \"fs.mqueue.queues_max\" needs a new ipc namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'namespaces':[{'type':'ipc'}],'sysctl':{'net.ipv4.ip_forward':'1'}"),
          "config.json: linux.sysctl \"net.ipv4.ip_forward\" needs a new network namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'sysctl':{'kernel.hostname':'x'}"),
          "config.json: linux.sysctl \"kernel.hostname\" needs a new uts namespace in linux.namespaces");
  REJECT (CFG_LINUX ("'sysctl':{'kernel.domainname':'x'}"),
          "config.json: linux.sysctl \"kernel.domainname\" needs a new uts namespace in linux.namespaces");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':{'vm.swappiness':'10'}"),
          "config.json: linux.sysctl \"vm.swappiness\" is not a namespaced sysctl and cannot be set for a container");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':{'kernel.semx':'1'}"),
          "config.json: linux.sysctl \"kernel.semx\" is not a namespaced sysctl and cannot be set for a container");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':{'net.':'1'}"),
          "config.json: linux.sysctl \"net.\" is not a namespaced sysctl and cannot be set for a container");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':{'kernel.pid_max':'10'}"),
          "config.json: linux.sysctl \"kernel.pid_max\" is not a namespaced sysctl and cannot be set for a container");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':{'net.core.somaxconn':1024}"),
          "config.json: linux.sysctl[\"net.core.somaxconn\"] must be a string");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':{'':'1'}"), "config.json: linux.sysctl keys must not be empty");
  REJECT (CFG_LINUX (ALL_NS ",'sysctl':['net.x=1']"), "config.json: linux.sysctl must be an object");
  return 0;
}

static int
test_hostname_needs_uts (void)
{
  cleanup_config struct berth_config *c = NULL;

  REJECT (CFG (",'hostname':'web'"), "config.json: hostname needs a new uts namespace in linux.namespaces");
  REJECT (CFG (",'hostname':'web','linux':{'namespaces':[{'type':'pid'}]}"),
          "config.json: hostname needs a new uts namespace in linux.namespaces");
  REJECT (CFG (",'domainname':'example.org'"), "config.json: domainname needs a new uts namespace in linux.namespaces");
  REJECT (CFG (",'hostname':5"), "config.json: hostname must be a string");

  ACCEPT (CFG (",'hostname':'web','domainname':'d','linux':{'namespaces':[{'type':'uts'}]}"), &c);
  TAP_CHECK_STR_EQ (c->hostname, "web");
  berth_config_free (steal_pointer (&c));

  ACCEPT (CFG (",'hostname':''"), &c); /* empty: not set, needs nothing */
  TAP_CHECK (c->hostname == NULL);
  return 0;
}

static int
test_rootfs_propagation (void)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } cases[] = {
    { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
    { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
    { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
    { "", 0 },
  };
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *q = xasprintf (CFG_LINUX ("'rootfsPropagation':'%s'"), cases[i].name);
      cleanup_config struct berth_config *c = NULL;

      ACCEPT (q, &c);
      TAP_CHECK_INT_EQ (c->rootfs_propagation, cases[i].flags);
    }
  REJECT (CFG_LINUX ("'rootfsPropagation':'ro'"),
          "config.json: linux.rootfsPropagation \"ro\" must be one of private, rprivate, slave, rslave, shared, "
          "rshared, unbindable, runbindable");
  REJECT (CFG_LINUX ("'rootfsPropagation':'PRIVATE'"),
          "config.json: linux.rootfsPropagation \"PRIVATE\" must be one of private, rprivate, slave, rslave, shared, "
          "rshared, unbindable, runbindable");
  REJECT (CFG_LINUX ("'rootfsPropagation':1"), "config.json: linux.rootfsPropagation must be a string");
  return 0;
}

static int
test_cgroups_path (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG_LINUX ("'cgroupsPath':'system.slice:berth:web'"), &c);
  TAP_CHECK_STR_EQ (c->cgroups_path, "system.slice:berth:web");
  REJECT (CFG_LINUX ("'cgroupsPath':['/a']"), "config.json: linux.cgroupsPath must be a string");
  return 0;
}

/* ---- hooks.  */

static int
test_hooks_errors (void)
{
  REJECT (CFG (",'hooks':{'prestart':[{'path':'pre'}]}"), "config.json: hooks.prestart[0].path \"pre\" must be an absolute path");
  REJECT (CFG (",'hooks':{'poststop':[{'path':'/a'},{'args':['x']}]}"), "config.json: hooks.poststop[1].path is required");
  REJECT (CFG (",'hooks':{'createRuntime':[{'path':'/a','timeout':0}]}"),
          "config.json: hooks.createRuntime[0].timeout must be a positive integer (seconds)");
  REJECT (CFG (",'hooks':{'createContainer':[{'path':'/a','timeout':-3}]}"),
          "config.json: hooks.createContainer[0].timeout must be a positive integer (seconds)");
  REJECT (CFG (",'hooks':{'startContainer':[{'path':'/a','timeout':'5'}]}"),
          "config.json: hooks.startContainer[0].timeout must be a positive integer (seconds)");
  REJECT (CFG (",'hooks':{'poststart':[{'path':'/a','timeout':2147483648}]}"),
          "config.json: hooks.poststart[0].timeout must be a positive integer (seconds)");
  REJECT (CFG (",'hooks':{'poststart':[{'path':'/a','args':'x'}]}"),
          "config.json: hooks.poststart[0].args must be an array of strings");
  REJECT (CFG (",'hooks':{'poststart':[{'path':'/a','env':[1]}]}"), "config.json: hooks.poststart[0].env[0] must be a string");
  REJECT (CFG (",'hooks':{'poststart':{'path':'/a'}}"), "config.json: hooks.poststart must be an array");
  REJECT (CFG (",'hooks':{'poststart':['/a']}"), "config.json: hooks.poststart[0] must be an object");
  REJECT (CFG (",'hooks':[]"), "config.json: hooks must be an object");
  return 0;
}

/* ---- annotations.  */

static int
test_annotations (void)
{
  cleanup_config struct berth_config *c = NULL;

  ACCEPT (CFG (",'annotations':{'a':'1','b':'','berth.init':'false'}"), &c);
  TAP_CHECK_INT_EQ (c->n_annotations, 3);
  TAP_CHECK_STR_EQ (berth_config_annotation (c, "b"), "");
  TAP_CHECK (!c->init && c->overlay_lower == NULL);
  berth_config_free (steal_pointer (&c));

  ACCEPT (CFG (",'annotations':{'berth.rootfs.lower':'/only','berth.rootfs.writable':'/w'}"), &c);
  TAP_CHECK_INT_EQ (strv_len (c->overlay_lower), 1);
  TAP_CHECK_STR_EQ (c->overlay_lower[0], "/only");
  TAP_CHECK_STR_EQ (c->overlay_writable, "/w");

  REJECT (CFG (",'annotations':{'a':1}"), "config.json: annotations[\"a\"] must be a string");
  REJECT (CFG (",'annotations':{'':'x'}"), "config.json: annotations keys must not be empty");
  REJECT (CFG (",'annotations':['a']"), "config.json: annotations must be an object");
  REJECT (CFG (",'annotations':{'berth.init':'yes'}"), "config.json: annotations[\"berth.init\"] \"yes\" must be \"true\" or \"false\"");
  REJECT (CFG (",'annotations':{'berth.init':'TRUE'}"), "config.json: annotations[\"berth.init\"] \"TRUE\" must be \"true\" or \"false\"");
  return 0;
}

static int
test_rootfs_annotations (void)
{
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':'/a'}"),
          "config.json: annotations[\"berth.rootfs.lower\"] needs annotations[\"berth.rootfs.writable\"]");
  REJECT (CFG (",'annotations':{'berth.rootfs.writable':'/w'}"),
          "config.json: annotations[\"berth.rootfs.writable\"] needs annotations[\"berth.rootfs.lower\"]");
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':'/a::/b','berth.rootfs.writable':'/w'}"),
          "config.json: annotations[\"berth.rootfs.lower\"] \"/a::/b\" has an empty layer path");
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':'/a:','berth.rootfs.writable':'/w'}"),
          "config.json: annotations[\"berth.rootfs.lower\"] \"/a:\" has an empty layer path");
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':':/a','berth.rootfs.writable':'/w'}"),
          "config.json: annotations[\"berth.rootfs.lower\"] \":/a\" has an empty layer path");
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':'','berth.rootfs.writable':'/w'}"),
          "config.json: annotations[\"berth.rootfs.lower\"] \"\" has an empty layer path");
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':'/a:layers/b:/c','berth.rootfs.writable':'/w'}"),
          "config.json: annotations[\"berth.rootfs.lower\"] layer \"layers/b\" must be an absolute path");
  REJECT (CFG (",'annotations':{'berth.rootfs.lower':'/a','berth.rootfs.writable':'w'}"),
          "config.json: annotations[\"berth.rootfs.writable\"] \"w\" must be an absolute path");
  return 0;
}

static int
test_log_annotations (void)
{
  static const struct
  {
    const char *value;
    uint64_t size;
  } sizes[] = {
    { "1", 1 },
    { "1234", 1234 },
    { "10k", 10 * 1024 },
    { "10K", 10 * 1024 },
    { "5m", 5 * 1024 * 1024 },
    { "2G", 2ULL * 1024 * 1024 * 1024 },
    { "18446744073709551615", UINT64_MAX },
  };
  static const char *const bad_sizes[] = { "0", "0k", "-1", "abc", "10x", "10kb", "k", "", " 10", "1.5m",
                                           "18446744073709551616", "17179869184g" };
  static const char *const bad_files[] = { "0", "101", "-1", "3x", "", "1k", "99999999999999999999" };
  size_t i;

  for (i = 0; i < BERTH_ARRAY_SIZE (sizes); i++)
    {
      cleanup_free char *q = xasprintf (CFG (",'annotations':{'berth.log.max-size':'%s'}"), sizes[i].value);
      cleanup_config struct berth_config *c = NULL;

      ACCEPT (q, &c);
      TAP_CHECK (c->log_max_size == sizes[i].size);
      TAP_CHECK_INT_EQ (c->log_max_files, 3);
    }
  for (i = 0; i < BERTH_ARRAY_SIZE (bad_sizes); i++)
    {
      cleanup_free char *q = xasprintf (CFG (",'annotations':{'berth.log.max-size':'%s'}"), bad_sizes[i]);
      cleanup_free char *msg = xasprintf ("config.json: annotations[\"berth.log.max-size\"] \"%s\" must be a "
                                          "positive number of bytes with an optional k, m or g suffix",
                                          bad_sizes[i]);
      REJECT (q, msg);
    }
  for (i = 1; i <= 100; i += 99)
    {
      cleanup_free char *q = xasprintf (CFG (",'annotations':{'berth.log.max-files':'%zu'}"), i);
      cleanup_config struct berth_config *c = NULL;

      ACCEPT (q, &c);
      TAP_CHECK_INT_EQ (c->log_max_files, i);
    }
  for (i = 0; i < BERTH_ARRAY_SIZE (bad_files); i++)
    {
      cleanup_free char *q = xasprintf (CFG (",'annotations':{'berth.log.max-files':'%s'}"), bad_files[i]);
      cleanup_free char *msg = xasprintf (
          "config.json: annotations[\"berth.log.max-files\"] \"%s\" must be an integer from 1 to 100", bad_files[i]);
      REJECT (q, msg);
    }
  return 0;
}

static int
test_io_annotations (void)
{
  static const char *const bools[] = { "berth.attach", "berth.stdin", "berth.rootfs.keep" };
  cleanup_config struct berth_config *c = NULL;
  size_t i;

  ACCEPT (CFG (",'annotations':{'berth.attach':'true','berth.stdin':'true','berth.log.path':'/var/log/c1.log',"
               "'berth.rootfs.lower':'/l','berth.rootfs.writable':'/w','berth.rootfs.keep':'true'}"),
          &c);
  TAP_CHECK (c->attach && c->attach_stdin && c->rootfs_keep);
  TAP_CHECK_STR_EQ (c->log_path, "/var/log/c1.log");
  berth_config_free (steal_pointer (&c));

  ACCEPT (CFG (",'annotations':{'berth.attach':'false','berth.stdin':'false','berth.rootfs.keep':'false'}"), &c);
  TAP_CHECK (! c->attach && ! c->attach_stdin && ! c->rootfs_keep && c->log_path == NULL);
  berth_config_free (steal_pointer (&c));
  ACCEPT (CFG (""), &c);
  TAP_CHECK (! c->attach && ! c->attach_stdin && ! c->rootfs_keep && c->log_path == NULL);

  for (i = 0; i < BERTH_ARRAY_SIZE (bools); i++)
    {
      cleanup_free char *q = xasprintf (CFG (",'annotations':{'berth.attach':'true','%s':'yes'}"), bools[i]);
      cleanup_free char *msg = xasprintf ("config.json: annotations[\"%s\"] \"yes\" must be \"true\" or \"false\"", bools[i]);
      REJECT (q, msg);
    }
  REJECT (CFG (",'annotations':{'berth.stdin':'true'}"),
          "config.json: annotations[\"berth.stdin\"] needs annotations[\"berth.attach\"] = \"true\": only attach "
          "clients can write to stdin");
  REJECT (CFG (",'annotations':{'berth.attach':'false','berth.stdin':'true'}"),
          "config.json: annotations[\"berth.stdin\"] needs annotations[\"berth.attach\"] = \"true\": only attach "
          "clients can write to stdin");
  REJECT (CFG (",'annotations':{'berth.rootfs.keep':'true'}"),
          "config.json: annotations[\"berth.rootfs.keep\"] needs annotations[\"berth.rootfs.writable\"]: there is no "
          "writable directory to keep");
  REJECT (CFG (",'annotations':{'berth.log.path':'logs/c1.log'}"),
          "config.json: annotations[\"berth.log.path\"] \"logs/c1.log\" must be an absolute path");
  REJECT (CFG (",'annotations':{'berth.log.path':''}"), "config.json: annotations[\"berth.log.path\"] \"\" must be an absolute path");
  REJECT (CFG (",'annotations':{'berth.log.path':'/var/log/'}"),
          "config.json: annotations[\"berth.log.path\"] \"/var/log/\" must name a file, not a directory");
  return 0;
}

/* berth.log.path's directory must exist when the container is created.  */
static int
test_log_path_directory (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *file = NULL;
  cleanup_free char *q = NULL;
  cleanup_free char *expected = NULL;
  cleanup_config struct berth_config *c = NULL;
  berth_error_t err = NULL;
  int fd;

  TAP_CHECK (dir != NULL);
  q = xasprintf (CFG (",'annotations':{'berth.log.path':'%s/c.log'}"), dir);
  ACCEPT (q, &c);
  TAP_CHECK_INT_EQ (berth_config_check_host_paths (c, &err), 0);
  berth_config_free (steal_pointer (&c));

  free (q);
  q = xasprintf (CFG (",'annotations':{'berth.log.path':'%s/missing/c.log'}"), dir);
  ACCEPT (q, &c);
  TAP_CHECK (berth_config_check_host_paths (c, &err) < 0);
  TAP_CHECK (err != NULL);
  expected = xasprintf ("annotations[\"berth.log.path\"] \"%s/missing/c.log\": its directory %s/missing cannot be used; "
                        "create it first: No such file or directory", dir, dir);
  TAP_CHECK_STR_EQ (err->msg, expected);
  TAP_CHECK_INT_EQ (err->status, ENOENT);
  TAP_CHECK_STR_EQ (err->op, "stat");
  berth_error_release (&err);
  berth_config_free (steal_pointer (&c));

  file = xasprintf ("%s/file", dir);
  fd = open (file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  TAP_CHECK (fd >= 0);
  close (fd);
  free (q);
  q = xasprintf (CFG (",'annotations':{'berth.log.path':'%s/c.log'}"), file);
  ACCEPT (q, &c);
  TAP_CHECK (berth_config_check_host_paths (c, &err) < 0);
  TAP_CHECK (err != NULL && strstr (err->msg, "is not a directory") != NULL);
  berth_error_release (&err);
  return 0;
}

/* ---- berth_config_load.  */

static int
test_config_load (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *json = dq (CFG (""));
  cleanup_free char *expected = NULL;
  cleanup_config struct berth_config *c = NULL;
  berth_error_t err = NULL;
  int ret;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/config.json", dir);

  ret = berth_config_load (dir, &c, &err);
  TAP_CHECK_INT_EQ (ret, -ENOENT - 1);
  TAP_CHECK_INT_EQ (err->status, ENOENT);
  TAP_CHECK_STR_EQ (err->op, "open");
  expected = xasprintf ("open `%s`: No such file or directory", path);
  TAP_CHECK_STR_EQ (err->msg, expected);
  berth_error_release (&err);

  TAP_CHECK_INT_EQ (berth_write_file_atomic (path, json, strlen (json), 0644, &err), 0);
  if (berth_config_load (dir, &c, &err) < 0)
    TAP_FAIL ("load: %s", err->msg);
  free (expected);
  expected = xasprintf ("%s/rootfs", dir);
  TAP_CHECK_STR_EQ (c->root_path, expected);
  berth_config_free (steal_pointer (&c));

  TAP_CHECK_INT_EQ (berth_write_file_atomic (path, "{}", 2, 0644, &err), 0);
  TAP_CHECK (berth_config_load (dir, &c, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "config.json: ociVersion is required");
  berth_error_release (&err);

  TAP_CHECK (berth_config_load ("relative/bundle", &c, &err) < 0);
  TAP_CHECK_STR_EQ (err->msg, "bundle `relative/bundle` must be an absolute path: Invalid argument");
  TAP_CHECK_INT_EQ (err->status, EINVAL);
  berth_error_release (&err);
  TAP_CHECK (c == NULL);
  return 0;
}

/* ---- berth-runtime spec.  */

static int
run_spec (berth_error_t *err, const char *a1, const char *a2, const char *a3)
{
  struct berth_global_args global = { .root = "/tmp/berth-test-root", .log_format = BERTH_LOG_FORMAT_TEXT };
  char *argv[] = { (char *) "spec", (char *) a1, (char *) a2, (char *) a3, NULL };
  int argc = 1;

  while (argc < 4 && argv[argc])
    argc++;
  return berth_cmd_spec (&global, argc, argv, err);
}

static int
test_cmd_spec (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  cleanup_free char *def = berth_config_default_json ();
  cleanup_free char *expected = NULL;
  cleanup_config struct berth_config *c = NULL;
  berth_error_t err = NULL;
  struct stat st;
  mode_t old_umask;
  int ret;

  TAP_CHECK (dir != NULL);
  path = xasprintf ("%s/config.json", dir);

  old_umask = umask (077);
  ret = run_spec (&err, "--bundle", dir, NULL);
  umask (old_umask);
  if (ret < 0)
    TAP_FAIL ("spec: %s", err->msg);
  TAP_CHECK_INT_EQ (stat (path, &st), 0);
  TAP_CHECK_INT_EQ (st.st_mode & 07777, 0644);
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, NULL, &err), 0);
  TAP_CHECK_STR_EQ (data, def);
  if (berth_config_load (dir, &c, &err) < 0)
    TAP_FAIL ("load: %s", err->msg);

  /* It exists now: refused without --force, and left alone.  */
  TAP_CHECK_INT_EQ (berth_write_file_atomic (path, "{}", 2, 0600, &err), 0);
  TAP_CHECK (run_spec (&err, "-b", dir, NULL) < 0);
  expected = xasprintf ("config.json already exists in `%s` (use --force to replace it)", dir);
  TAP_CHECK_STR_EQ (err->msg, expected);
  TAP_CHECK_STR_EQ (err->op, "spec");
  berth_error_release (&err);
  free (steal_pointer (&data));
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, NULL, &err), 0);
  TAP_CHECK_STR_EQ (data, "{}");

  TAP_CHECK_INT_EQ (run_spec (&err, "--force", "--bundle", dir), 0);
  free (steal_pointer (&data));
  TAP_CHECK_INT_EQ (berth_read_file (path, &data, NULL, &err), 0);
  TAP_CHECK_STR_EQ (data, def);
  return 0;
}

static int
test_cmd_spec_current_dir (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *old = get_current_dir_name ();
  cleanup_free char *path = NULL;
  berth_error_t err = NULL;
  struct stat st;
  int ret;

  TAP_CHECK (dir != NULL && old != NULL);
  TAP_CHECK_INT_EQ (chdir (dir), 0);
  ret = run_spec (&err, NULL, NULL, NULL);
  TAP_CHECK_INT_EQ (chdir (old), 0);
  if (ret < 0)
    TAP_FAIL ("spec: %s", err->msg);
  path = xasprintf ("%s/config.json", dir);
  TAP_CHECK_INT_EQ (stat (path, &st), 0);
  return 0;
}

static int
test_cmd_spec_errors (void)
{
  cleanup_tmpdir char *dir = make_tmpdir ();
  cleanup_free char *missing = NULL;
  berth_error_t err = NULL;

  TAP_CHECK (dir != NULL);
  TAP_CHECK (run_spec (&err, "--bogus", NULL, NULL) < 0);
  TAP_CHECK_STR_EQ (err->op, BERTH_OP_USAGE);
  TAP_CHECK_STR_EQ (err->msg, "spec: unrecognized or incomplete option `--bogus`");
  berth_error_release (&err);

  TAP_CHECK (run_spec (&err, "--bundle", NULL, NULL) < 0);
  TAP_CHECK_STR_EQ (err->op, BERTH_OP_USAGE);
  berth_error_release (&err);

  TAP_CHECK (run_spec (&err, "--bundle", "", NULL) < 0);
  TAP_CHECK_STR_EQ (err->op, BERTH_OP_USAGE);
  berth_error_release (&err);

  TAP_CHECK (run_spec (&err, "--bundle", dir, "extra") < 0);
  TAP_CHECK_STR_EQ (err->op, BERTH_OP_USAGE);
  TAP_CHECK_STR_EQ (err->msg, "spec: unexpected argument `extra`");
  berth_error_release (&err);

  missing = xasprintf ("%s/nope", dir);
  TAP_CHECK (run_spec (&err, "--bundle", missing, NULL) < 0);
  TAP_CHECK_INT_EQ (err->status, ENOENT);
  berth_error_release (&err);
  return 0;
}

static const struct tap_test tests[] = {
  TAP_TEST (test_full_config),
  TAP_TEST (test_minimal_config),
  TAP_TEST (test_default_json),
  TAP_TEST (test_oci_version),
  TAP_TEST (test_invalid_json),
  TAP_TEST (test_embedded_nul),
  TAP_TEST (test_root),
  TAP_TEST (test_root_needs_absolute_bundle),
  TAP_TEST (test_platforms_rejected),
  TAP_TEST (test_unknown_and_null_ignored),
  TAP_TEST (test_process_errors),
  TAP_TEST (test_process_user),
  TAP_TEST (test_rlimits),
  TAP_TEST (test_process_unsupported),
  TAP_TEST (test_process_parse),
  TAP_TEST (test_mount_options),
  TAP_TEST (test_bind_mounts),
  TAP_TEST (test_mount_errors),
  TAP_TEST (test_namespaces),
  TAP_TEST (test_linux_unsupported),
  TAP_TEST (test_masked_readonly_paths),
  TAP_TEST (test_devices),
  TAP_TEST (test_resources),
  TAP_TEST (test_user_namespace),
  TAP_TEST (test_sysctl),
  TAP_TEST (test_hostname_needs_uts),
  TAP_TEST (test_rootfs_propagation),
  TAP_TEST (test_cgroups_path),
  TAP_TEST (test_hooks_errors),
  TAP_TEST (test_annotations),
  TAP_TEST (test_rootfs_annotations),
  TAP_TEST (test_log_annotations),
  TAP_TEST (test_io_annotations),
  TAP_TEST (test_log_path_directory),
  TAP_TEST (test_config_load),
  TAP_TEST (test_cmd_spec),
  TAP_TEST (test_cmd_spec_current_dir),
  TAP_TEST (test_cmd_spec_errors),
};

int
main (void)
{
  return tap_main (tests, TAP_COUNT (tests));
}
