/**
 * The apps store (docs/apps.md): one directory per app under BERTH_HOME/apps, every file
 * written atomically (core's writeFileAtomic), one writer per app (KeyedLock); Redis holds
 * none of it. The daemon is the store's one process: the locks order this process's work,
 * as the containers' records do.
 *
 * Lock order: the registry key (create, rename, destroy: what changes the set of apps and
 * the ranges they hold) before an app's key (update, releases, purge). Nothing holding an
 * app's key asks for the registry's, so the two never wait on each other in a circle.
 */
import { lstat, mkdir, readdir, rename, rm, stat, chmod, chown } from 'node:fs/promises';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { BerthError, fsyncPath, isErrno, KeyedLock, readTextIfExists, removeStaleTempFiles, run, validateAppName, writeFileAtomic } from '../core/index.js';
import { appFileText, readAppFile, readReleaseFile, releaseFileText } from './schemas.js';
import type { AppHooks, AppPaths, AppRecord, ReleaseRecord } from './types.js';
import { allocateRange, defaultUsernsPolicy, reservedRanges, type UsernsPolicy } from './userns.js';

/** The registry's lock key: app names never hold a `*`. */
const REGISTRY = '*';
/** Directories being built (create) or thrown away (destroy, purge) start with these; `recover` removes them. */
const NEW_PREFIX = '.new-';
const TRASH_PREFIX = '.trash-';
/** What `update` may not change: the store hands these out. */
const FIXED_FIELDS = ['name', 'createdAt', 'userns', 'lastRelease'] as const;

export interface AppStoreOptions {
  /** BERTH_HOME: apps live in BERTH_HOME/apps/<name>/. */
  home: string;
  /** What other rooms do when an app is created, destroyed or renamed; more with `addHooks`. */
  hooks?: AppHooks[];
  /** The window user-namespace ranges come from (tests narrow it). @defaultValue defaultUsernsPolicy */
  userns?: Partial<UsernsPolicy>;
  /** The git program that makes the bare repository. @defaultValue 'git' */
  git?: string;
}

function notFound(name: string): BerthError {
  return new BerthError('E_APP_NOT_FOUND', `app ${name} does not exist`, {
    hint: `Create it with \`berth apps:create ${name}\`; \`berth apps:list\` lists the apps there are.`,
    details: { app: name },
  });
}

function exists(name: string, why = 'already exists'): BerthError {
  return new BerthError('E_APP_EXISTS', `app ${name} ${why}`, { details: { app: name } });
}

function releaseNotFound(name: string, number: number): BerthError {
  return new BerthError('E_RELEASE_NOT_FOUND', `app ${name} has no release v${number}`, {
    hint: `\`berth releases ${name}\` lists its releases.`,
    details: { app: name, release: number },
  });
}

function beingDestroyed(name: string): BerthError {
  return new BerthError('E_APP_DESTROYING', `app ${name} is being destroyed`, {
    hint: `Nothing can be pushed to or changed in ${name} now; once \`berth apps:destroy\` is done, \`berth apps:create ${name}\` makes a new app.`,
    details: { app: name },
  });
}

const suffix = (): string => randomBytes(6).toString('hex');

/** `p`'s value, or `fallback` when what it reads does not exist; other failures are thrown. */
const unlessMissing = <T>(p: Promise<T>, fallback: T, ...codes: string[]): Promise<T> =>
  p.catch((e: unknown) => (isErrno(e, 'ENOENT', ...codes) ? fallback : Promise.reject(e)));

const pathExists = (path: string): Promise<boolean> =>
  unlessMissing(
    lstat(path).then(() => true),
    false,
  );

export class AppStore {
  /** BERTH_HOME/apps. */
  readonly dir: string;
  private readonly hooks: AppHooks[];
  private readonly policy: UsernsPolicy;
  private readonly git: string;
  private readonly lock = new KeyedLock();
  /**
   * Apps whose destroy has begun: reading one is E_APP_DESTROYING (a push during apps:destroy
   * says so), except from the destroy's own hooks (the async context `destroyer` marks).
   */
  private readonly leaving = new Set<string>();
  private readonly destroyer = new AsyncLocalStorage<string>();

  constructor(options: AppStoreOptions) {
    this.dir = join(options.home, 'apps');
    this.hooks = [...(options.hooks ?? [])];
    this.policy = { ...defaultUsernsPolicy, ...options.userns };
    this.git = options.git ?? 'git';
  }

  /** Add hooks after construction (the composition root wires rooms made after the store). */
  addHooks(hooks: AppHooks): void {
    this.hooks.push(hooks);
  }

  /** Where an app's files are; the name is checked, the app need not exist. */
  paths(name: string): AppPaths {
    const dir = join(this.dir, validateAppName(name));
    return { dir, repo: join(dir, 'repo.git'), cache: join(dir, 'cache') };
  }

  private appFile(name: string): string {
    return join(this.paths(name).dir, 'app.json');
  }

  private releaseFile(name: string, number: number): string {
    return join(this.paths(name).dir, 'releases', `${number}.json`);
  }

  async find(name: string): Promise<AppRecord | undefined> {
    if (this.leaving.has(name) && this.destroyer.getStore() !== name) throw beingDestroyed(name);
    const file = this.appFile(name);
    const text = await readTextIfExists(file);
    return text === undefined ? undefined : readAppFile(text, name, file);
  }

  async get(name: string): Promise<AppRecord> {
    const app = await this.find(name);
    if (app === undefined) throw notFound(name);
    return app;
  }

  /** Every app, sorted by name. */
  async list(): Promise<AppRecord[]> {
    const names = await unlessMissing(readdir(this.dir), []);
    const apps = await Promise.all(names.filter((n) => !n.startsWith('.') && !this.leaving.has(n)).map((n) => this.find(n)));
    return apps.filter((a): a is AppRecord => a !== undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Create an app: its record, an empty cache, a bare repo; built in a hidden directory and
   * renamed into place, so a crash leaves either no app or a whole one. Then the `created` hooks;
   * a hook that fails removes the app again.
   */
  async create(name: string): Promise<AppRecord> {
    validateAppName(name);
    return this.lock.run(REGISTRY, async () => {
      const { dir } = this.paths(name);
      if (await this.find(name)) throw exists(name);
      if (await pathExists(dir)) {
        throw exists(name, `cannot be created: ${dir} exists but holds no app (remove it by hand)`);
      }
      const taken = [...(await this.list()).map((a) => a.userns), ...(await reservedRanges(this.policy.reservedFiles))];
      const userns = allocateRange(this.policy, taken);
      if (userns === undefined) {
        throw new BerthError('E_APP_USERNS_EXHAUSTED', `app ${name} cannot be created: all ${this.policy.slots} user-namespace ranges are taken`);
      }
      const app: AppRecord = { name, createdAt: new Date().toISOString(), buildpacks: [], env: {}, scale: {}, domains: [], userns };
      await mkdir(this.dir, { recursive: true, mode: 0o711 });
      const temp = join(this.dir, `${NEW_PREFIX}${name}-${suffix()}`);
      try {
        await mkdir(temp, { mode: 0o711 });
        await mkdir(join(temp, 'releases'), { mode: 0o700 });
        await mkdir(join(temp, 'cache'), { mode: 0o700 });
        await writeFileAtomic(join(temp, 'app.json'), appFileText(app, this.appFile(name)), { mode: 0o600 });
        await run(this.git, ['init', '--bare', '--quiet', '--initial-branch=main', join(temp, 'repo.git')], { installHint: 'git' });
        await rename(temp, dir);
        await fsyncPath(this.dir);
      } catch (e) {
        await rm(temp, { recursive: true, force: true });
        throw e;
      }
      try {
        for (const h of this.hooks) await h.created?.(app);
      } catch (e) {
        await this.removeDir(name);
        throw e;
      }
      return app;
    });
  }

  /**
   * Destroy an app: the `changing` hooks (which may refuse: a deploy runs), then every
   * `destroying` hook (containers, proxy, images, queue), then its directory (record,
   * releases, repo, cache). A hook that fails keeps the app, after the others ran. From the
   * first `destroying` hook on, reading the app is E_APP_DESTROYING.
   */
  async destroy(name: string): Promise<void> {
    validateAppName(name);
    await this.lock.run(REGISTRY, async () => {
      const app = await this.get(name);
      for (const h of this.hooks) await h.changing?.(app, 'destroy');
      this.leaving.add(name);
      try {
        const failures: unknown[] = [];
        await this.destroyer.run(name, async () => {
          for (const h of this.hooks) {
            if (h.destroying) await h.destroying(app).catch((e: unknown) => failures.push(e));
          }
        });
        if (failures.length > 0) throw failures[0];
        await this.lock.run(name, () => this.removeDir(name));
      } finally {
        this.leaving.delete(name);
      }
    });
  }

  /**
   * Rename an app: the `changing` hooks (which may refuse), then its directory (its record,
   * releases, repo, cache and range go with it), then the `renamed` hooks.
   */
  async rename(from: string, to: string): Promise<AppRecord> {
    validateAppName(from);
    validateAppName(to);
    return this.lock.run(REGISTRY, async () => {
      const before = await this.get(from);
      const target = this.paths(to).dir;
      if (await pathExists(target)) throw exists(to);
      for (const h of this.hooks) await h.changing?.(before, 'rename');
      await this.lock.run(from, async () => {
        await rename(this.paths(from).dir, target);
        await fsyncPath(this.dir);
      });
      const app = await this.get(to);
      for (const h of this.hooks) await h.renamed?.(from, app);
      return app;
    });
  }

  /**
   * Change an app's record: `change` edits a copy, which is checked and written atomically;
   * one writer per app at a time, in the order they asked. The name, creation time, range
   * and release counter are the store's; changing them is refused.
   */
  async update(name: string, change: (app: AppRecord) => void): Promise<AppRecord> {
    validateAppName(name);
    return this.lock.run(name, async () => {
      const app = await this.get(name);
      const next = structuredClone(app);
      change(next);
      for (const field of FIXED_FIELDS) {
        if (!isDeepStrictEqual(next[field], app[field])) {
          throw new BerthError('E_BERTH_INTERNAL', `an update of app ${name} tried to change ${field}, which only the apps store sets`);
        }
      }
      if (next.currentRelease !== undefined && next.currentRelease !== app.currentRelease) await this.release(name, next.currentRelease);
      await this.writeApp(next);
      return next;
    });
  }

  /** Record a new release with the next number (never reused: the counter is in the record, bumped first). */
  async addRelease(name: string, release: Omit<ReleaseRecord, 'number' | 'createdAt'>): Promise<ReleaseRecord> {
    validateAppName(name);
    return this.lock.run(name, async () => {
      const app = await this.get(name);
      const number = (app.lastRelease ?? 0) + 1;
      const record: ReleaseRecord = { ...release, number, createdAt: new Date().toISOString() };
      const file = this.releaseFile(name, number);
      const text = releaseFileText(record, file); // checked before a number is spent
      await this.writeApp({ ...app, lastRelease: number });
      await mkdir(join(this.paths(name).dir, 'releases'), { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, text, { mode: 0o600 });
      return record;
    });
  }

  /** Every release of the app, oldest first. */
  async releases(name: string): Promise<ReleaseRecord[]> {
    await this.get(name);
    const dir = join(this.paths(name).dir, 'releases');
    const names = await unlessMissing(readdir(dir), []);
    const numbers = names
      .map((n) => /^([1-9]\d*)\.json$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const out: ReleaseRecord[] = [];
    for (const n of numbers) {
      const text = await readTextIfExists(this.releaseFile(name, n));
      if (text !== undefined) out.push(readReleaseFile(text, this.releaseFile(name, n)));
    }
    return out;
  }

  async release(name: string, number: number): Promise<ReleaseRecord> {
    await this.get(name);
    if (!Number.isSafeInteger(number) || number < 1) throw releaseNotFound(name, number);
    const file = this.releaseFile(name, number);
    const text = await readTextIfExists(file);
    if (text === undefined) throw releaseNotFound(name, number);
    return readReleaseFile(text, file);
  }

  /** Mark a release as the one that serves. */
  async setCurrent(name: string, number: number): Promise<void> {
    await this.update(name, (app) => {
      app.currentRelease = number;
    });
  }

  /**
   * Empty the app's buildpack cache (`repo:purge-cache`): the old directory is moved aside
   * and a new empty one with the same owner and mode takes its place, then the old one is removed.
   */
  async purgeCache(name: string): Promise<void> {
    validateAppName(name);
    await this.lock.run(name, async () => {
      await this.get(name);
      const { cache } = this.paths(name);
      const before = await unlessMissing(stat(cache), undefined);
      const trash = join(this.dir, `${TRASH_PREFIX}cache-${name}-${suffix()}`);
      if (before) await rename(cache, trash);
      await mkdir(cache, { mode: 0o700 });
      if (before) {
        await chmod(cache, before.mode & 0o7777);
        await chown(cache, before.uid, before.gid);
      }
      await fsyncPath(this.paths(name).dir);
      await rm(trash, { recursive: true, force: true });
    });
  }

  /**
   * What a crash left: half-made apps, apps and caches half-removed, temp files of
   * interrupted writes. Run at the daemon's start; returns what it removed.
   */
  async recover(): Promise<string[]> {
    const names = await unlessMissing(readdir(this.dir), []);
    const removed: string[] = [];
    for (const n of names) {
      if (n.startsWith(NEW_PREFIX) || n.startsWith(TRASH_PREFIX)) {
        await rm(join(this.dir, n), { recursive: true, force: true });
        removed.push(n);
      } else if (!n.startsWith('.')) {
        for (const d of [join(this.dir, n), join(this.dir, n, 'releases')]) {
          const stale = await unlessMissing(removeStaleTempFiles(d), [], 'ENOTDIR');
          removed.push(...stale.map((s) => join(n, s)));
        }
      }
    }
    return removed;
  }

  private async writeApp(app: AppRecord): Promise<void> {
    const file = this.appFile(app.name);
    await writeFileAtomic(file, appFileText(app, file), { mode: 0o600 });
  }

  /** Move the app's directory aside (one rename: the app is gone at once), then remove it. */
  private async removeDir(name: string): Promise<void> {
    const trash = join(this.dir, `${TRASH_PREFIX}${name}-${suffix()}`);
    await rename(this.paths(name).dir, trash);
    await fsyncPath(this.dir);
    await rm(trash, { recursive: true, force: true });
  }
}
