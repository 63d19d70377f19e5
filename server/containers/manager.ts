/**
 * Docker-like containers on berth-runtime (docs/containers.md): the operations the API
 * offers. Records (records.ts) and the runtime side (reconcile.ts) are apart.
 *
 * A container lives in `<dir>/<id>/`: container.json (atomically written), bundle/ (its OCI
 * config), rw/ (its writable layer, kept across stop and start by berth.rootfs.keep) and
 * container.log (berth.log.path, kept by the runtime's delete). In the runtime it exists
 * only between a create (at start, or at attach before start) and the delete that follows
 * its exit, so a stopped container holds no process, cgroup, address or mount.
 *
 * The daemon learns that a container ended through its attach socket (EOF: the monitor has
 * recorded the exit), records the status, deletes it from the runtime and, with
 * autoRemove, removes it. Operations on one container run one at a time (a lock per id).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, envRecord, KeyedLock, type Logger } from '../core/index.js';
import {
  commitContainer,
  commitLayer,
  defaultFsutilBinary,
  parseReference,
  tagOf,
  type ConfigChanges,
  type Descriptor,
  type Image,
  type ImageStore,
  type LayerCommitOptions,
  type Lease,
} from '../images/index.js';
import {
  annotations,
  mountDestinations,
  readBundle,
  RuntimeError,
  writeBundle,
  type AttachSession,
  type ContainerStats,
  type ExecStream,
  type RuntimeClient,
} from '../runtime/index.js';
import { checkLimits, checkNetworkGroup, checkPorts, checkSignal, checkUserns, checkWorkdir, mergeEnv, resolveUser } from './config.js';
import { readLog } from './logs.js';
import { prepareNetwork, type NetworkSettings } from './network.js';
import { reconcileAll, recordExit, removeContainer, type ContainerContext } from './reconcile.js';
import { ContainerRecords, viewOf, type ListOptions } from './records.js';
import { containerSpec, recordFor } from './spec.js';
import type { CommitRequest, ContainerRecord, ContainerView, CreateRequest, ExecRequest, ExitStatus, HostMount, LogLine, LogOptions } from './types.js';
import { ExitWatcher, type Watch } from './watcher.js';

export interface ContainerManagerOptions {
  /** Where containers live: BERTH_HOME/containers. */
  dir: string;
  images: ImageStore;
  runtime: RuntimeClient;
  network: NetworkSettings;
  log: Logger;
  /** berth-fsutil, for commit. @defaultValue this checkout's native/build/berth-fsutil */
  fsutil?: string;
}

function startFailed(e: unknown, rec: ContainerRecord): BerthError {
  const words = e instanceof Error ? e.message : String(e);
  // The failing call (op, errno) goes along: the CLI's 126/127 statuses are decided on it (core cannotRunStatus).
  return new BerthError('E_CONTAINER_START_FAILED', `container ${rec.name} could not start: ${words}`, {
    cause: e,
    details: { id: rec.id, ...(e instanceof RuntimeError ? { op: e.op, errno: e.errno } : {}) },
  });
}

function notRunning(rec: ContainerRecord, why = '', cause?: unknown): BerthError {
  return new BerthError('E_CONTAINER_NOT_RUNNING', `container ${rec.name} is not running${why}`, { cause, details: { id: rec.id } });
}

export class ContainerManager {
  readonly dir: string;
  private readonly images: ImageStore;
  private readonly runtime: RuntimeClient;
  private readonly network: NetworkSettings;
  private readonly log: Logger;
  private readonly fsutil: string | undefined;
  private readonly records: ContainerRecords;
  private readonly lock = new KeyedLock();
  private readonly watcher: ExitWatcher;
  private readonly context: ContainerContext;
  private networkReady: Promise<void> | undefined;

  private constructor(o: ContainerManagerOptions) {
    this.dir = o.dir;
    this.images = o.images;
    this.runtime = o.runtime;
    this.network = o.network;
    this.log = o.log;
    this.fsutil = o.fsutil;
    this.records = new ContainerRecords(o.dir, o.log);
    this.watcher = new ExitWatcher({
      attach: (id) => this.runtime.attach(id),
      log: o.log,
      state: (id) => this.runtime.status(id),
      onExit: (id, exit) => this.lock.run(id, () => recordExit(this.context, id, exit)),
    });
    this.context = { records: this.records, runtime: o.runtime, watcher: this.watcher, log: o.log };
  }

  /**
   * Load every container.json and reconcile it with the runtime: `network gc` first; a
   * container the runtime no longer has (a reboot) is exited; one that exited while the
   * daemon was away is recorded (and removed with autoRemove); a running one is watched.
   */
  static async open(o: ContainerManagerOptions): Promise<ContainerManager> {
    const m = new ContainerManager(o);
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    await mkdir(o.runtime.root, { recursive: true, mode: 0o711 });
    await reconcileAll(m.context, (id, fn) => m.lock.run(id, fn));
    return m;
  }

  /** Stop watching (the containers keep running; a new daemon re-attaches). */
  close(): void {
    this.watcher.close();
  }

  /** Resolve `ref`, then run `fn` under the container's lock with its current record. */
  private locked<T>(ref: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.records.find(ref).id;
    return this.lock.run(id, async () => {
      const rec = this.records.get(id);
      if (!rec) throw new BerthError('E_CONTAINER_NOT_FOUND', `no container ${JSON.stringify(ref)}: it was removed`, { details: { ref } });
      return fn(rec);
    });
  }

  /** Image manifest digests containers use: roots for ImageStore.gc. */
  imageRoots(): string[] {
    return this.records.imageRoots();
  }

  /** The containers that use the image with manifest `digest`. */
  usersOf(digest: string): ContainerView[] {
    return this.records.usersOf(digest);
  }

  /** The daemon's network, made or updated once (again after a failure). */
  private ensureNetwork(): Promise<void> {
    this.networkReady ??= prepareNetwork(this.runtime, this.network, this.log).catch((e: unknown) => {
      this.networkReady = undefined;
      throw e;
    });
    return this.networkReady;
  }

  /**
   * Create the container in the runtime (its attach socket then exists) unless it is there.
   * The create is tried first: only when the runtime says the id exists (EEXIST) is its
   * status asked, so a new container costs no extra call.
   */
  private async runtimeCreate(rec: ContainerRecord): Promise<Watch> {
    await this.ensureNetwork();
    const bundle = join(this.records.containerDir(rec.id), 'bundle');
    try {
      await this.runtime.create(rec.id, bundle);
    } catch (e) {
      const status = e instanceof RuntimeError && e.errno === constants.errno.EEXIST ? await this.runtime.status(rec.id) : undefined;
      if (status === 'created' || status === 'running') return this.watcher.watch(rec.id);
      if (status === undefined) throw await this.createFailed(e, rec);
      await recordExit(this.context, rec.id); // an earlier run's leftover: recorded and deleted
      await this.runtime.create(rec.id, bundle).catch(async (again: unknown) => {
        throw await this.createFailed(again, rec);
      });
    }
    return this.watcher.watch(rec.id);
  }

  /** What a failed runtime create left is deleted; the error to throw. */
  private async createFailed(e: unknown, rec: ContainerRecord): Promise<BerthError> {
    await this.runtime.delete(rec.id, { force: true }).catch(() => undefined);
    return startFailed(e, rec);
  }

  // ---- the operations

  /**
   * Create a container. For the daemon's own containers (builds), never from the API:
   * `transient`, one that lives only as long as an operation of this daemon (a build step):
   * its record and bundle are written without fsync, and a daemon that starts removes it (the
   * operation died with the daemon before it); `mounts`, host directories to mount.
   */
  async create(req: CreateRequest, options: { transient?: boolean; mounts?: readonly HostMount[] } = {}): Promise<ContainerView> {
    const name = this.records.reserveName(req.name);
    try {
      const limits = checkLimits(req);
      const ports = checkPorts(req.publish ?? []);
      const networkGroup = req.networkGroup === undefined ? undefined : checkNetworkGroup(req.networkGroup);
      const userns = req.userns === undefined ? undefined : checkUserns(req.userns);
      const image = await this.images.resolve(req.image);
      const lease = this.images.lease([image.digest, image.configDigest, ...image.manifest.layers.map((l) => l.digest), ...image.config.rootfs.diff_ids]);
      try {
        return await this.createFrom(
          { name, req, image, limits, ports, ...(networkGroup === undefined ? {} : { networkGroup }), ...(userns === undefined ? {} : { userns }) },
          options.transient === true,
          options.mounts ?? [],
        );
      } finally {
        lease.release();
      }
    } finally {
      this.records.releaseName(name);
    }
  }

  private async createFrom(
    o: Omit<Parameters<typeof recordFor>[0], 'id' | 'lowers'>,
    transient: boolean,
    mounts: readonly HostMount[],
  ): Promise<ContainerView> {
    const id = randomBytes(32).toString('hex');
    const dir = this.records.containerDir(id);
    try {
      const lowers = await this.images.unpackImage(o.image);
      const rec = await recordFor({ ...o, id, lowers });
      if (transient) rec.transient = true;
      await mkdir(join(dir, 'rw'), { recursive: true, mode: 0o700 });
      await writeBundle(join(dir, 'bundle'), containerSpec(rec, { dir, lowers, network: this.network.name, mounts }), { durable: !transient });
      await this.records.save(rec);
      this.log.info({ id, name: o.name, image: o.req.image }, 'container created');
      return viewOf(rec);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Start (create in the runtime first when needed: on its kept writable layer after a stop;
   * not when `attach` has just created it). With `details: false` the pid and address are
   * not asked of the runtime (two runs of it): for a container whose view nobody shows
   * while it runs, as a build step's. With `session` (from `attach`, before this start) the
   * start goes as that connection's start frame, and the monitor does it: no runtime run.
   * Then a failure to start is not thrown: the container ends with its reason on stderr and
   * a status of 126 or 127, as a program that fails does.
   */
  async start(ref: string, options: { details?: boolean; session?: AttachSession } = {}): Promise<ContainerView> {
    return this.locked(ref, async (rec) => {
      if (rec.state === 'running') return viewOf(rec);
      try {
        if (this.watcher.watching(rec.id) === undefined) await this.runtimeCreate(rec);
        try {
          if (options.session === undefined) await this.runtime.start(rec.id);
          else if (!options.session.start()) throw new BerthError('E_CONTAINER_NOT_RUNNING', 'its attach connection has ended', { details: { id: rec.id } });
        } catch (e) {
          await this.runtime.delete(rec.id, { force: true }).catch(() => undefined);
          throw startFailed(e, rec);
        }
      } catch (e) {
        if (rec.autoRemove) await removeContainer(this.context, rec);
        throw e;
      }
      rec.state = 'running';
      rec.startedAt = new Date().toISOString();
      for (const k of ['exitCode', 'signal', 'oomKilled', 'finishedAt', 'pid'] as const) delete rec[k];
      if (options.details ?? true) Object.assign(rec, await this.pidAndAddress(rec.id));
      await this.records.save(rec);
      this.log.info({ id: rec.id, name: rec.name }, 'container started');
      return viewOf(rec);
    });
  }

  /**
   * A started container's pid and address. Both are asked at once, the address on the
   * daemon's network; a container whose bundle names another (BERTH_NETWORK changed since
   * its create) is asked again there.
   */
  private async pidAndAddress(id: string): Promise<Pick<ContainerRecord, 'pid' | 'network'>> {
    const [state, lease] = await Promise.all([
      this.runtime.stateIfExists(id).catch(() => undefined),
      this.runtime.address(id, this.network.name).catch(() => undefined),
    ]);
    const network = state?.annotations?.[annotations.network];
    const address = network === undefined || network === this.network.name ? lease : await this.runtime.address(id, network).catch(() => undefined);
    return {
      ...(state?.pid ? { pid: state.pid } : {}),
      ...(address && network !== undefined ? { network: { name: address.network, address: address.address } } : {}),
    };
  }

  /** SIGTERM, then SIGKILL after `timeoutSeconds`; answers once the container has stopped. */
  async stop(ref: string, timeoutSeconds = 10): Promise<ContainerView> {
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
      throw new BerthError('E_CONTAINER_INVALID', `stop timeout ${timeoutSeconds} is not allowed: give seconds, 0 or more`, { details: { option: 'timeout' } });
    }
    const id = this.records.find(ref).id;
    const live = await this.lock.run(id, async () => {
      const rec = this.records.get(id);
      if (!rec || rec.state !== 'running') return undefined;
      const l = await this.watcher.watch(id);
      await this.runtime.kill(id, 'SIGTERM').catch((e: unknown) => this.log.debug({ err: e, id }, 'SIGTERM failed (the container is ending)'));
      return l;
    });
    if (live) {
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutSeconds * 1000).unref());
      if ((await Promise.race([live.exited, timer])) === 'timeout') {
        await this.runtime.kill(id, 'SIGKILL').catch((e: unknown) => this.log.debug({ err: e, id }, 'SIGKILL failed (the container is ending)'));
        await this.exitOf(id, live);
      }
    }
    return this.viewAfter(ref, id);
  }

  /** Wait for a killed container's exit to be recorded; if the watch has not seen it in 30 s, record it here. */
  private async exitOf(id: string, live: Watch): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 30_000)));
    const first = await Promise.race([live.exited, late]);
    clearTimeout(timer);
    if (first === 'late') {
      this.log.warn({ id }, 'the exit of a killed container was not seen by its watch in 30 s; reading its state');
      await this.lock.run(id, () => recordExit(this.context, id));
    }
  }

  /** Send a signal; with KILL, answers once the container has stopped. */
  async kill(ref: string, signal = 'KILL'): Promise<ContainerView> {
    const sig = checkSignal(signal);
    const id = this.records.find(ref).id;
    const live = await this.lock.run(id, async () => {
      const rec = this.records.get(id);
      if (!rec || rec.state !== 'running') {
        throw new BerthError('E_CONTAINER_NOT_RUNNING', `container ${rec?.name ?? ref} is not running`, { details: { id } });
      }
      const l = await this.watcher.watch(id);
      await this.runtime.kill(id, sig);
      return l;
    });
    if (sig === 'SIGKILL' || sig === 9) await this.exitOf(id, live);
    return this.viewAfter(ref, id);
  }

  private viewAfter(ref: string, id: string): ContainerView {
    const rec = this.records.get(id);
    if (!rec) throw new BerthError('E_CONTAINER_NOT_FOUND', `container ${ref} was removed (it was created with --rm)`, { details: { ref, id } });
    return viewOf(rec);
  }

  /** Remove a stopped container (a running one only with `force`, which kills it). */
  async remove(ref: string, force = false): Promise<string> {
    return this.locked(ref, async (rec) => {
      if (rec.state === 'running' && !force) {
        throw new BerthError('E_CONTAINER_RUNNING', `container ${rec.name} is running: stop it first, or remove it with force`, { details: { id: rec.id } });
      }
      await removeContainer(this.context, rec);
      return rec.id;
    });
  }

  /** The containers, newest first: running ones, or `all`; only those with every label filter given. */
  list(options: ListOptions = {}): ContainerView[] {
    return this.records.list(options);
  }

  inspect(ref: string): ContainerView {
    return viewOf(this.records.find(ref));
  }

  /** The log lines; with follow, until the container has stopped and its log is read. */
  logs(ref: string, o: LogOptions & { signal?: AbortSignal } = {}): AsyncGenerator<LogLine> {
    const id = this.records.find(ref).id;
    return readLog(this.records.logPath(id), {
      ...(o.tail === undefined ? {} : { tail: o.tail }),
      follow: o.follow ?? false,
      stopped: () => this.records.get(id)?.state !== 'running',
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }

  /**
   * A connection to the container's stdio. A container that is not running is created in
   * the runtime first, so that a start that follows misses no output (`run` without -d,
   * `start -a`). `exit` resolves when the container has ended (undefined: unknown).
   */
  async attach(ref: string): Promise<{ session: AttachSession; exit: Promise<ExitStatus | undefined>; view: ContainerView }> {
    return this.locked(ref, async (rec) => {
      const live = rec.state === 'running' ? await this.watcher.watch(rec.id) : await this.runtimeCreate(rec);
      const session = await this.runtime.attach(rec.id).catch((e: unknown) => {
        throw new BerthError('E_CONTAINER_NOT_RUNNING', `cannot attach to container ${rec.name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      });
      return { session, exit: live.exited, view: viewOf(rec) };
    });
  }

  /** Run a program in the running container, stdio as pipes. */
  exec(ref: string, req: ExecRequest): Promise<ExecStream> {
    return this.locked(ref, async (rec) => {
      if (rec.state !== 'running') throw notRunning(rec, ': start it first');
      if (req.cmd.length === 0 || req.cmd[0] === '') throw new BerthError('E_CONTAINER_INVALID', 'exec needs a program to run', { details: { option: 'cmd' } });
      const env = mergeEnv(rec.config.env, req.env ?? []);
      const workdir = req.workdir === undefined ? undefined : checkWorkdir(req.workdir);
      const user = req.user === undefined ? undefined : await resolveUser(req.user, await this.images.unpackImage(await this.images.image(rec.imageDigest)));
      return this.runtime.execStream(rec.id, req.cmd, {
        tty: req.tty ?? false,
        env: envRecord(env),
        ...(workdir ? { cwd: workdir } : {}),
        ...(user ? { user: { uid: user.uid, gid: user.gid } } : {}),
        ...(req.size ? { size: req.size } : {}),
      });
    });
  }

  /** What a commit of the container reads: its image, its writable layer, the mount points its runtime made. */
  private async diffSource(rec: ContainerRecord): Promise<LayerCommitOptions> {
    const dir = this.records.containerDir(rec.id);
    const upper = join(dir, 'rw', 'upper');
    await mkdir(upper, { recursive: true, mode: 0o755 });
    // What the runtime made only to mount on stays out of the image, as with Docker.
    const mountPoints = mountDestinations(await readBundle(join(dir, 'bundle')));
    return {
      image: rec.imageDigest,
      upper,
      fsutil: this.fsutil ?? defaultFsutilBinary,
      mountPoints,
      // A user-namespaced container's upper directory holds host ids (docs/isolation.md): mapped back to the container's.
      ...(rec.userns ? { idMap: rec.userns } : {}),
    };
  }

  /**
   * Only the layer a commit would add, stored and held by `lease`, for a caller that makes
   * the image itself (a build step); undefined when the container changed nothing (Docker
   * adds no layer then: images' commitLayer).
   */
  async commitLayer(ref: string, lease: Lease): Promise<{ descriptor: Descriptor; diffId: string } | undefined> {
    return commitLayer(this.images, await this.diffSource(this.records.find(ref)), lease);
  }

  /** The container's writable layer as a new image on top of its own (Docker's commit). */
  async commit(ref: string, req: CommitRequest): Promise<Image> {
    const rec = this.records.find(ref);
    const tag = req.reference === undefined ? undefined : (tagOf(parseReference(req.reference)) ?? req.reference);
    const source = await this.diffSource(rec);
    const c = req.changes ?? {};
    const changes: ConfigChanges = {
      Env: c.env ? mergeEnv(rec.config.env, c.env) : rec.config.env,
      Cmd: c.cmd ?? rec.cmd,
      Entrypoint: c.entrypoint ?? rec.entrypoint,
      WorkingDir: c.workdir === undefined ? rec.config.workdir : checkWorkdir(c.workdir),
      ...(rec.config.user ? { User: rec.config.user } : {}),
      Labels: { ...rec.config.labels, ...(c.labels ?? {}) },
      ...(c.exposedPorts ? { ExposedPorts: c.exposedPorts } : {}),
    };
    return commitContainer(this.images, {
      ...source,
      ...(tag === undefined ? {} : { tag }),
      changes,
      createdBy: `berth commit ${rec.name}`,
      ...(req.message === undefined ? {} : { comment: req.message }),
      ...(req.author === undefined ? {} : { author: req.author }),
    });
  }

  /** Memory, CPU and pids of a running container. */
  async stats(ref: string): Promise<ContainerStats> {
    const rec = this.records.find(ref);
    if (rec.state !== 'running') throw notRunning(rec);
    try {
      return await this.runtime.stats(rec.id);
    } catch (e) {
      if (e instanceof RuntimeError && this.records.get(rec.id)?.state !== 'running') throw notRunning(rec, '', e);
      throw e;
    }
  }
}
