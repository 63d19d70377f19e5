/*
 * Berth runtime: config.json (OCI runtime-spec 1.0.2 to 1.2), parsed with json-c.
 *
 * berth_config_load reads <bundle>/config.json into a plain C struct, validates it,
 * and rejects clearly (naming the field) what this runtime does not implement yet,
 * instead of silently ignoring it.  Unknown properties are ignored, as the spec
 * requires ("Runtimes MUST ignore unknown properties").
 */
#ifndef BERTH_OCI_CONFIG_H
#define BERTH_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "cgroup.h"
#include "idmap.h"
#include "error.h"

/* The runtime-spec version this runtime implements: `ociVersion` of the state it prints
   and of the config `spec` writes, and `--version`'s "spec:" line.  */
#define BERTH_OCI_VERSION "1.2.0"

/* Berth's own settings, carried in annotations so the bundle still runs under crun.  */
#define BERTH_ANNOTATION_LOWER "berth.rootfs.lower"       /* ":"-separated read-only layers, top first */
#define BERTH_ANNOTATION_WRITABLE "berth.rootfs.writable" /* dir holding upper/ and work/; removed on delete */
#define BERTH_ANNOTATION_INIT "berth.init"                /* "true": a tiny PID 1 reaps and forwards signals */
#define BERTH_ANNOTATION_LOG_MAX_SIZE "berth.log.max-size" /* bytes per log file, default 10 MiB */
#define BERTH_ANNOTATION_LOG_MAX_FILES "berth.log.max-files" /* files kept, default 3 */
#define BERTH_ANNOTATION_NETWORK "berth.network"                 /* network (bridge) name: attach on create */
#define BERTH_ANNOTATION_NETWORK_GROUP "berth.network.group"     /* app name: who may reach whom (default: the id) */
#define BERTH_ANNOTATION_NETWORK_PUBLISH "berth.network.publish" /* "127.0.0.1:HOST:CTR/tcp,...": loopback ports */
#define BERTH_ANNOTATION_ATTACH "berth.attach"       /* "true": the monitor serves <state>/attach.sock */
#define BERTH_ANNOTATION_STDIN "berth.stdin"         /* "true" (needs attach): stdin is a pipe fed by attach clients */
#define BERTH_ANNOTATION_LOG_PATH "berth.log.path"   /* absolute path of the log; delete keeps it */
#define BERTH_ANNOTATION_ROOTFS_KEEP "berth.rootfs.keep" /* "true": delete keeps the writable directory */
#define BERTH_ANNOTATION_MONITOR "berth.monitor"     /* "true"/"false": Berth's monitor or runc's pass-through */
#define BERTH_ANNOTATION_DELETE_ON_EXIT "berth.delete-on-exit" /* "true": the monitor deletes the container at exit */

struct berth_mount
{
  char *destination; /* absolute, inside the container */
  char *type;        /* may be NULL (bind mounts) */
  char *source;      /* may be NULL */
  char **options;    /* NULL-terminated, as given */
  /* Parsed from options: */
  unsigned long flags;       /* MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_NOATIME, ... */
  unsigned long propagation; /* 0 or one of MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, with MS_REC for r* */
  char *data;                /* the options that are not flags, ","-joined (fs-specific), or NULL */
  char *bind_data;           /* the same for a bind mount, where the kernel ignores them: not
                                passed on, create warns (crun and runc accept them too) */
};

struct berth_rlimit
{
  int resource; /* RLIMIT_* */
  char *type;   /* "RLIMIT_NOFILE", as given */
  uint64_t soft;
  uint64_t hard;
};

struct berth_namespace
{
  int type;   /* CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP,
                 CLONE_NEWUSER */
  char *path; /* join this namespace instead of creating one, or NULL */
};

struct berth_hook
{
  char *path;  /* absolute */
  char **args; /* NULL-terminated, may be NULL */
  char **env;  /* NULL-terminated, may be NULL */
  int timeout; /* seconds, 0 = none */
};

struct berth_hook_list
{
  struct berth_hook *hooks;
  size_t n;
};

struct berth_hooks
{
  struct berth_hook_list prestart; /* legacy: run with createRuntime */
  struct berth_hook_list create_runtime;
  struct berth_hook_list create_container;
  struct berth_hook_list start_container;
  struct berth_hook_list poststart;
  struct berth_hook_list poststop;
};

struct berth_process
{
  bool terminal;
  unsigned console_height, console_width; /* 0 when not given */
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  bool has_umask;
  mode_t umask;
  char **args; /* NULL-terminated, at least one */
  char **env;  /* NULL-terminated, may be empty */
  char *cwd;   /* absolute */
  struct berth_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  bool has_capabilities; /* false: the capabilities are left as they are */
  struct berth_caps capabilities;
};

struct berth_device
{
  char *path;  /* absolute, inside the container */
  char type;   /* 'c', 'b', 'u' or 'p' */
  int64_t major, minor;
  bool has_file_mode;
  mode_t file_mode;
  bool has_uid, has_gid;
  uid_t uid;
  gid_t gid;
};

struct berth_seccomp;

struct berth_config
{
  char *oci_version;
  struct berth_process *process; /* NULL when config.json has none */
  char *root_path;               /* absolute: a relative root.path is resolved against the bundle */
  bool root_readonly;
  char *hostname; /* may be NULL */
  char *domainname;
  struct berth_mount *mounts;
  size_t n_mounts;
  struct berth_namespace *namespaces;
  size_t n_namespaces;
  char *cgroups_path; /* may be NULL */
  char **sysctl_keys; /* n_sysctl of each */
  char **sysctl_values;
  size_t n_sysctl;
  unsigned long rootfs_propagation; /* 0 = default (MS_PRIVATE|MS_REC) */
  struct berth_hooks hooks;
  char **annotation_keys; /* n_annotations of each, in file order */
  char **annotation_values;
  size_t n_annotations;
  char **masked_paths;   /* NULL-terminated absolute paths, or NULL */
  char **readonly_paths; /* NULL-terminated absolute paths, or NULL */
  struct berth_device *devices;
  size_t n_devices;
  struct berth_seccomp *seccomp; /* NULL: no filter */
  struct berth_cgroup_resources resources; /* linux.resources; all unset when absent */
  struct berth_id_map uid_map;   /* linux.uidMappings (a new user namespace) */
  struct berth_id_map gid_map;   /* linux.gidMappings */
  /* From berth.* annotations: */
  char **overlay_lower; /* NULL-terminated absolute dirs, top first; NULL when not layered */
  char *overlay_writable;
  bool init;
  uint64_t log_max_size;
  unsigned log_max_files;
  char *log_path;    /* berth.log.path, or NULL: <state>/container.log */
  bool attach;       /* berth.attach */
  bool attach_stdin; /* berth.stdin */
  bool rootfs_keep;  /* berth.rootfs.keep */
  bool delete_on_exit; /* berth.delete-on-exit */
};

/* Read and validate <bundle>/config.json.  bundle must be absolute.  */
int berth_config_load (const char *bundle, struct berth_config **out, berth_error_t *err);

/* Same from a buffer (tests); `bundle` resolves a relative root.path.  */
int berth_config_parse (const char *json, size_t len, const char *bundle, struct berth_config **out,
                        berth_error_t *err);

/* A process object alone (exec --process FILE).  */
int berth_process_parse (const char *json, size_t len, struct berth_process **out, berth_error_t *err);

/* What create checks on the host beyond the config itself: berth.log.path's directory
   exists.  (With berth_config_annotation, in oci-annotations.c.)  */
int berth_config_check_host_paths (const struct berth_config *c, berth_error_t *err);

bool berth_config_has_namespace (const struct berth_config *c, int type);
const struct berth_namespace *berth_config_namespace (const struct berth_config *c, int type);
const char *berth_config_annotation (const struct berth_config *c, const char *key);

void berth_config_free (struct berth_config *c);
void berth_process_free (struct berth_process *p);

static inline void
cleanup_configp (struct berth_config **c)
{
  berth_config_free (*c);
}
#define cleanup_config __attribute__ ((cleanup (cleanup_configp)))

/* The default config.json of `berth-runtime spec`, as a NUL-terminated JSON string
   (caller frees).  rootless is reserved; pass false.  */
char *berth_config_default_json (void);

#endif
