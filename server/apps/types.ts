/**
 * The apps room's types (docs/apps.md): an app's record, its releases, where its files
 * live, and the hooks other rooms plug in at the composition root.
 */

/** The two builders the deploy pipeline chooses between (`builder:set APP selected X`). */
export type BuilderName = 'dockerfile' | 'herokuish';

/** A user-namespace range on the host: container ids 0..size-1 are host ids hostId..hostId+size-1. */
export interface UsernsRange {
  hostId: number;
  size: number;
}

/** One app, as `apps:info` shows it and the pipeline reads it. */
export interface AppRecord {
  name: string;
  /** ISO 8601. */
  createdAt: string;
  /** `git:set APP deploy-branch B`; unset: `main`, else `master`. */
  deployBranch?: string;
  /** `builder:set APP selected X`; unset: automatic (a Dockerfile in the source → dockerfile). */
  builder?: BuilderName;
  /** `buildpacks:set|add`: bundled names, local paths, git URLs (`#ref`), in order. */
  buildpacks: string[];
  /** Config vars. */
  env: Record<string, string>;
  /** Process type → count; `{}` until the first deploy. */
  scale: Record<string, number>;
  /** Explicit domains; `[]` means the default `<app>.<BERTH_DOMAIN>`. */
  domains: string[];
  /** This app's uid/gid range, unique among apps, allocated at create (docs/apps.md, "User namespaces"). */
  userns: UsernsRange;
  /** The release that serves, once one does. */
  currentRelease?: number;
  /**
   * The highest release number handed out (absent: none yet). The next release is this
   * plus one, so a number is never reused, even after its release record is gone.
   */
  lastRelease?: number;
}

/** One release: an image plus the config it runs with. */
export interface ReleaseRecord {
  /** 1, 2, 3… per app, never reused. */
  number: number;
  /** ISO 8601. */
  createdAt: string;
  /** The image id (manifest digest) the release runs. */
  image: string;
  /** The source commit, for a push. */
  commit?: string;
  /** `none`: a release made without a build (a config change, a rollback). */
  builder: BuilderName | 'none';
  /** The config vars of this release. */
  env: Record<string, string>;
  /** Process type → command (the Procfile, or the buildpack's defaults). */
  processTypes: Record<string, string>;
  scale: Record<string, number>;
  /** "Deploy 1a2b3c4", "Set FOO", "Rollback to v3". */
  description: string;
}

/** Where an app's files are. */
export interface AppPaths {
  /** BERTH_HOME/apps/<name>. */
  dir: string;
  /** The bare git repository pushes land in. */
  repo: string;
  /** The buildpack CACHE_DIR, kept between builds (`repo:purge-cache` empties it). */
  cache: string;
}

/**
 * What other rooms do when an app comes or goes, plugged in at the composition root
 * (daemon.ts) so that apps imports none of them. Hooks run in the order given, while the
 * store's registry lock is held: they may read and update the app, never create, rename or
 * destroy apps.
 */
export interface AppHooks {
  /**
   * Before an app is destroyed or renamed, before any other hook: a hook that throws refuses
   * the change with nothing changed (the queue refuses while a deploy of the app runs or waits).
   */
  changing?: (app: AppRecord, change: 'destroy' | 'rename') => Promise<void>;
  /** After the app's directory and bare repo exist (git installs its hook). A failure undoes the create. */
  created?: (app: AppRecord) => Promise<void>;
  /**
   * Before the app's files are removed (containers, proxy and queue clean up). Every
   * hook runs even when one fails; a failure keeps the app, so that destroy can be run again.
   */
  destroying?: (app: AppRecord) => Promise<void>;
  /** After the app's directory was renamed (routes, containers and queues named after it follow). */
  renamed?: (from: string, app: AppRecord) => Promise<void>;
}
