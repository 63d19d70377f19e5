/**
 * The git room's types: what it needs of the apps store (a port, so that it names only the
 * few calls it makes), and the options of the smart-HTTP transport and of a push's checks.
 */

/** What git reads of an app's record. */
export interface GitAppRecord {
  name: string;
  /** `git:set APP deploy-branch B`; unset: `main`, or `master` while the repo has no `main`. */
  deployBranch?: string;
}

/** The calls git makes on the apps store (server/apps `AppStore` has them all). */
export interface GitApps {
  /** E_APP_NOT_FOUND, hinting at `apps:create`, when there is no such app. */
  get(name: string): Promise<GitAppRecord>;
  find(name: string): Promise<GitAppRecord | undefined>;
  /** Creates the record and the bare repo (whose `created` hooks install the pre-receive hook). */
  create(name: string): Promise<GitAppRecord>;
  paths(name: string): { repo: string };
}

/**
 * What a git run that Berth spawns itself (git over SSH) passes its pre-receive hook as
 * BERTH_API_URL and BERTH_TOKEN, beside BERTH_APP. git over HTTP is spawned by node-git-server
 * with the daemon's environment only; its hook reads the same from its repository's
 * BERTH_HOME (cli/commands/git-hook).
 */
export interface HookEnvironment {
  /** The daemon's API URL the hook posts to (`http://127.0.0.1:7070`). */
  url: string;
  /** The API token the hook sends. */
  token: string;
}

export interface GitHttpOptions {
  apps: GitApps;
  /** Create an app on its first push (`BERTH_APPS_AUTOCREATE`). @defaultValue true */
  autoCreate?: boolean;
  /**
   * What the hook of a git Berth spawns itself needs to reach the daemon; a function because
   * the API's port is known only once it listens.
   */
  hookEnvironment: () => HookEnvironment;
  /**
   * The git binary of the git runs Berth spawns itself. node-git-server (git over HTTP) runs
   * `git-upload-pack` and `git-receive-pack` from the daemon's PATH. @defaultValue 'git' (from PATH)
   */
  git?: string;
}

/** What the checks of a pushed commit enforce (docs/git.md, "Limits"). */
export interface PushLimits {
  /** The largest file a deployed commit may hold (`BERTH_GIT_MAX_FILE_BYTES`). */
  maxFileBytes: number;
}

/** What the pre-receive hook reports of one updated ref (`POST /v1/apps/:app/deploys`). */
export interface PushNotice {
  /** The pushed commit, 40 hex digits. */
  commit: string;
  /** The full ref name, `refs/heads/main`. */
  ref: string;
  /**
   * The ref's value the push is based on (40 zeros: a new branch), as git gave the hook; when
   * given, a push whose branch has moved since is refused (E_GIT_REF_MOVED).
   */
  old?: string;
  /**
   * git's quarantine directory for this push (`GIT_QUARANTINE_PATH`): the pushed objects wait
   * there until the hook accepts; Berth copies the deployed commit's objects out of it first.
   */
  quarantine?: string;
}

/** Whether a push deploys, and why not when it does not. */
export type PushVerdict = { deploy: true; branch: string } | { deploy: false; branch: string; deployBranch: string };
