/**
 * Docker-like containers on berth-runtime (/work/notes/containers-contract.md §2, §3).
 *
 * A container lives in `<dir>/<id>/`: container.json (atomically written), bundle/ (its OCI
 * config), rw/ (its writable layer, kept across stop and start by berth.rootfs.keep) and
 * container.log (berth.log.path, kept by the runtime's delete). In the runtime it exists
 * only between a create (at start, or at attach before start) and the delete that follows
 * its exit, so a stopped container holds no process, cgroup, address or mount.
 *
 * The daemon learns that a container ended through its attach socket (EOF: exit.json is
 * written), records the status, deletes it from the runtime and, with autoRemove, removes
 * it. Operations on one container run one at a time (a lock per id).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, writeFileAtomic, type Logger } from '../core/index.js';
import { commitContainer, defaultFsutilBinary, parseReference, tagOf, type ConfigChanges, type Image, type ImageStore } from '../images/index.js';
import {
  attachContainer,
  RuntimeError,
  writeBundle,
  type AttachSession,
  type ContainerStats,
  type ExecStream,
  type RuntimeClient,
  type RuntimeSignal,
} from '../runtime/index.js';
import { checkLimits, checkPorts, checkWorkdir, envMap, mergeEnv, resolveUser } from './config.js';
import { containerSpec, recordFor } from './spec.js';
import { readLog } from './logs.js';
import { generateName, resolveRef, validateContainerName } from './names.js';
import { ensureNetwork, type NetworkSettings } from './network.js';
import { ExitWatcher, type Watch } from './watcher.js';
import {
  containerRecordSchema,
  type CommitRequest,
  type ContainerRecord,
  type ContainerView,
  type CreateRequest,
  type ExecRequest,
  type ExitStatus,
  type LogLine,
  type LogOptions,
} from './types.js';

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

const EXIT_JSON = 'exit.json';

function signalName(signal: string): string {
  return signal.startsWith('SIG') ? signal : `SIG${signal}`;
}

/** Docker's signal forms: KILL, SIGKILL, 9. */
function checkSignal(signal: string): RuntimeSignal {
  if (/^\d{1,2}$/.test(signal) && Number(signal) >= 1 && Number(signal) <= 64) return Number(signal);
  const upper = signal.toUpperCase();
  if (/^(SIG)?[A-Z][A-Z0-9]*(\+\d+)?$/.test(upper)) return signalName(upper) as RuntimeSignal;
  throw new BerthError('E_CONTAINER_INVALID', `signal ${JSON.stringify(signal)} is not a signal: give a name such as TERM, SIGKILL or a number from 1 to 64`, {
    details: { option: 'signal', value: signal },
  });
}

function startFailed(e: unknown, rec: ContainerRecord): BerthError {
  const words = e instanceof Error ? e.message : String(e);
  // The failing call (op, errno) goes along: the CLI's 126/127 statuses are decided on it (core cannotRunStatus).
  return new BerthError('E_CONTAINER_START_FAILED', `container ${rec.name} could not start: ${words}`, { cause: e, details: { id: rec.id, ...(e instanceof RuntimeError ? { op: e.op, errno: e.errno } : {}) } });
}

export class ContainerManager {
  readonly dir: string;
  private readonly images: ImageStore;
  private readonly runtime: RuntimeClient;
  private readonly network: NetworkSettings;
  private readonly log: Logger;
  private readonly fsutil: string | undefined;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly watcher: ExitWatcher;
  /** Names of containers being created (not yet in `records`). */
  private readonly pendingNames = new Set<string>();
  private networkReady: Promise<void> | undefined;

  private constructor(o: ContainerManagerOptions) {
    this.dir = o.dir;
    this.images = o.images;
    this.runtime = o.runtime;
    this.network = o.network;
    this.log = o.log;
    this.fsutil = o.fsutil;
    this.watcher = new ExitWatcher({
      root: o.runtime.root,
      log: o.log,
      state: (id) => this.runtimeState(id),
      onExit: (id) => this.withLock(id, () => this.finalizeLocked(id)),
    });
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
    try {
      const reclaimed = await o.runtime.networkGc();
      for (const line of reclaimed) o.log.info(line);
    } catch (err) {
      o.log.warn({ err }, 'berth-runtime network gc failed');
    }
    await m.load();
    return m;
  }

  private async load(): Promise<void> {
    for (const id of await readdir(this.dir)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const path = join(this.dir, id, 'container.json');
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // A create that crashed before its record was written: nothing refers to it.
        this.log.warn({ id }, 'removing a container directory without container.json (an interrupted create)');
        await this.runtime.delete(id, { force: true }).catch(() => undefined);
        await rm(join(this.dir, id), { recursive: true, force: true });
        continue;
      }
      const parsed = containerRecordSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        this.log.error({ path, issues: parsed.error.issues }, 'container.json is not valid; the container is ignored');
        continue;
      }
      this.records.set(id, parsed.data);
    }
    for (const id of [...this.records.keys()]) {
      await this.withLock(id, () => this.reconcile(id)).catch((err: unknown) => this.log.error({ err, id }, 'reconcile failed'));
    }
  }

  private async reconcile(id: string): Promise<void> {
    const rec = this.records.get(id);
    if (!rec) return;
    const state = await this.runtimeState(id);
    if (state === undefined) {
      if (rec.state === 'running') {
        // Gone with the runtime's state (a reboot, or /run lost): Docker's 255.
        Object.assign(rec, { state: 'exited', exitCode: 255, finishedAt: new Date().toISOString() });
        delete rec.pid;
        delete rec.network;
        await this.save(rec);
        this.log.info({ id, name: rec.name }, 'container is gone from the runtime: recorded as exited');
        if (rec.autoRemove) await this.removeLocked(rec);
      }
      return;
    }
    if (state === 'stopped' || state === 'creating') {
      await this.finalizeLocked(id);
      return;
    }
    if (state === 'running' && rec.state !== 'running') {
      rec.state = 'running';
      await this.save(rec);
    } else if (state === 'created' && rec.state === 'running') {
      rec.state = 'created'; // the daemon stopped between the runtime's create and start
      await this.save(rec);
    }
    await this.watcher.watch(id);
  }

  /** Stop watching (the containers keep running; a new daemon re-attaches). */
  close(): void {
    this.watcher.close();
  }

  // ---- records

  private containerDir(id: string): string {
    return join(this.dir, id);
  }

  private logPath(id: string): string {
    return join(this.dir, id, 'container.log');
  }

  private async save(rec: ContainerRecord): Promise<void> {
    await writeFileAtomic(join(this.containerDir(rec.id), 'container.json'), `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  }

  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }

  private find(ref: string): ContainerRecord {
    return resolveRef(ref, [...this.records.values()]);
  }

  /** Resolve `ref`, then run `fn` under the container's lock with its current record. */
  private locked<T>(ref: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.find(ref).id;
    return this.withLock(id, async () => {
      const rec = this.records.get(id);
      if (!rec) throw new BerthError('E_CONTAINER_NOT_FOUND', `no container ${JSON.stringify(ref)}: it was removed`, { details: { ref } });
      return fn(rec);
    });
  }

  static view(rec: ContainerRecord): ContainerView {
    const { version: _v, entrypoint: _e, cmd: _c, process: _p, ...view } = rec;
    return structuredClone(view);
  }

  /** Image manifest digests containers use: roots for ImageStore.gc. */
  imageRoots(): string[] {
    return [...new Set([...this.records.values()].map((r) => r.imageDigest))];
  }

  /** The containers that use the image with manifest `digest`. */
  usersOf(digest: string): ContainerView[] {
    return [...this.records.values()].filter((r) => r.imageDigest === digest).map((r) => ContainerManager.view(r));
  }

  // ---- runtime helpers

  private async runtimeState(id: string): Promise<string | undefined> {
    if (!existsSync(join(this.runtime.root, id))) return undefined;
    try {
      return (await this.runtime.state(id)).status;
    } catch (e) {
      if (!existsSync(join(this.runtime.root, id))) return undefined; // deleted meanwhile
      throw e;
    }
  }

  private ensureNetwork(): Promise<void> {
    this.networkReady ??= ensureNetwork(this.runtime, this.network).then(
      (n) => {
        const want = this.network;
        if (n.created) this.log.info({ network: want.name, subnet: n.subnet, nat: n.nat }, 'network created');
        if (n.natChanged) this.log.info({ network: want.name, nat: n.nat }, `outbound NAT turned ${n.nat ? 'on' : 'off'} as configured (BERTH_NETWORK_NAT)`);
        if (!n.created && want.subnet !== undefined && want.subnet !== n.subnet) {
          this.log.warn({ network: want.name, subnet: n.subnet, configured: want.subnet }, 'the network exists with another subnet than BERTH_NETWORK_SUBNET; it keeps it (remove it with `berth-runtime network rm` while no container runs to apply the configuration)');
        }
      },
      (e: unknown) => {
        this.networkReady = undefined;
        throw e;
      },
    );
    return this.networkReady;
  }

  /**
   * The container has stopped in the runtime: record its status, delete it from the runtime
   * (rw/ and the log stay), and remove it if it was created with autoRemove.
   */
  private async finalizeLocked(id: string): Promise<ExitStatus | undefined> {
    const rec = this.records.get(id);
    const state = await this.runtimeState(id);
    if (state === 'running' || state === 'created') return undefined;
    let exit: { exitCode?: number; signal?: string; finishedAt?: string; oomKilled?: boolean } = {};
    if (state !== undefined) {
      exit = await readFile(join(this.runtime.root, id, EXIT_JSON), 'utf8').then((t) => JSON.parse(t) as typeof exit).catch(() => ({}));
      if (exit.exitCode === undefined) {
        const s = await this.runtime.state(id).catch(() => undefined);
        exit = { exitCode: s?.exitCode, finishedAt: s?.finishedAt, oomKilled: s?.oomKilled };
      }
      await this.runtime.delete(id, { force: true });
    }
    if (!rec) return undefined;
    const status: ExitStatus = {
      exitCode: exit.exitCode ?? 255,
      ...(exit.signal ? { signal: exit.signal } : {}),
      ...(exit.oomKilled ? { oomKilled: true } : {}),
    };
    if (rec.state === 'running') {
      rec.state = 'exited';
      rec.exitCode = status.exitCode;
      if (status.signal) rec.signal = status.signal;
      else delete rec.signal;
      rec.oomKilled = status.oomKilled ?? false;
      rec.finishedAt = exit.finishedAt ?? new Date().toISOString();
      delete rec.pid;
      delete rec.network;
      await this.save(rec);
      this.log.info({ id, name: rec.name, exitCode: rec.exitCode }, 'container exited');
      if (rec.autoRemove) await this.removeLocked(rec, status);
    }
    return status;
  }

  /** Create the container in the runtime (its attach socket then exists) unless it is there. */
  private async runtimeCreate(rec: ContainerRecord): Promise<Watch> {
    const state = await this.runtimeState(rec.id);
    if (state === 'created' || state === 'running') return this.watcher.watch(rec.id);
    if (state !== undefined) await this.finalizeLocked(rec.id);
    await this.ensureNetwork();
    try {
      await this.runtime.create(rec.id, join(this.containerDir(rec.id), 'bundle'));
    } catch (e) {
      await this.runtime.delete(rec.id, { force: true }).catch(() => undefined);
      throw startFailed(e, rec);
    }
    return this.watcher.watch(rec.id);
  }

  private async networkOf(id: string): Promise<{ name: string; address: string } | undefined> {
    const text = await readFile(join(this.runtime.root, id, 'network'), 'utf8').catch(() => undefined);
    const address = text && /^address=(.+)$/m.exec(text)?.[1];
    return address ? { name: this.network.name, address } : undefined;
  }

  // ---- the operations

  async create(req: CreateRequest): Promise<ContainerView> {
    const taken = (n: string): boolean => this.pendingNames.has(n) || [...this.records.values()].some((r) => r.name === n);
    const name = req.name === undefined ? generateName(taken) : validateContainerName(req.name);
    if (taken(name)) {
      const other = [...this.records.values()].find((r) => r.name === name);
      throw new BerthError('E_CONTAINER_NAME_IN_USE', `the name ${name} is in use by container ${other ? other.id.slice(0, 12) : '(being created)'}`, {
        details: { name, ...(other ? { id: other.id } : {}) },
      });
    }
    const limits = checkLimits(req);
    const ports = checkPorts(req.publish ?? []);
    const image = await this.images.resolve(req.image);
    const lease = this.images.lease([image.digest, image.configDigest, ...image.manifest.layers.map((l) => l.digest), ...image.config.rootfs.diff_ids]);
    this.pendingNames.add(name);
    const id = randomBytes(32).toString('hex');
    const dir = this.containerDir(id);
    try {
      const lowers = await this.images.unpackImage(image);
      const rec = await recordFor({ id, name, req, image, lowers, limits, ports });
      await mkdir(join(dir, 'rw'), { recursive: true, mode: 0o700 });
      await writeBundle(join(dir, 'bundle'), containerSpec(rec, { dir, lowers, network: this.network.name }));
      await this.save(rec);
      this.records.set(id, rec);
      this.log.info({ id, name, image: req.image }, 'container created');
      return ContainerManager.view(rec);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    } finally {
      this.pendingNames.delete(name);
      lease.release();
    }
  }

  /** Start (create in the runtime first when needed: on its kept writable layer after a stop). */
  async start(ref: string): Promise<ContainerView> {
    return this.locked(ref, async (rec) => {
      if (rec.state === 'running') return ContainerManager.view(rec);
      try {
        await this.runtimeCreate(rec);
        try {
          await this.runtime.start(rec.id);
        } catch (e) {
          await this.runtime.delete(rec.id, { force: true }).catch(() => undefined);
          throw startFailed(e, rec);
        }
      } catch (e) {
        if (rec.autoRemove) await this.removeLocked(rec);
        throw e;
      }
      const state = await this.runtime.state(rec.id).catch(() => undefined);
      rec.state = 'running';
      rec.startedAt = new Date().toISOString();
      for (const k of ['exitCode', 'signal', 'oomKilled', 'finishedAt', 'pid'] as const) delete rec[k];
      if (state?.pid) rec.pid = state.pid;
      const network = await this.networkOf(rec.id);
      if (network) rec.network = network;
      await this.save(rec);
      this.log.info({ id: rec.id, name: rec.name }, 'container started');
      return ContainerManager.view(rec);
    });
  }

  /** SIGTERM, then SIGKILL after `timeoutSeconds`; answers once the container has stopped. */
  async stop(ref: string, timeoutSeconds = 10): Promise<ContainerView> {
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
      throw new BerthError('E_CONTAINER_INVALID', `stop timeout ${timeoutSeconds} is not allowed: give seconds, 0 or more`, { details: { option: 'timeout' } });
    }
    const id = this.find(ref).id;
    const live = await this.withLock(id, async () => {
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
    return this.viewOf(ref, id);
  }

  /** Wait for a killed container's exit to be recorded; if the watch has not seen it in 30 s, record it here. */
  private async exitOf(id: string, live: Watch): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 30_000)));
    const first = await Promise.race([live.exited, late]);
    clearTimeout(timer);
    if (first === 'late') {
      this.log.warn({ id }, 'the exit of a killed container was not seen by its watch in 30 s; reading its state');
      await this.withLock(id, () => this.finalizeLocked(id));
    }
  }

  /** Send a signal; with KILL, answers once the container has stopped. */
  async kill(ref: string, signal = 'KILL'): Promise<ContainerView> {
    const sig = checkSignal(signal);
    const id = this.find(ref).id;
    const live = await this.withLock(id, async () => {
      const rec = this.records.get(id);
      if (!rec || rec.state !== 'running') {
        throw new BerthError('E_CONTAINER_NOT_RUNNING', `container ${rec?.name ?? ref} is not running`, { details: { id } });
      }
      const l = await this.watcher.watch(id);
      await this.runtime.kill(id, sig);
      return l;
    });
    if (sig === 'SIGKILL' || sig === 9) await this.exitOf(id, live);
    return this.viewOf(ref, id);
  }

  private viewOf(ref: string, id: string): ContainerView {
    const rec = this.records.get(id);
    if (!rec) throw new BerthError('E_CONTAINER_NOT_FOUND', `container ${ref} was removed (it was created with --rm)`, { details: { ref, id } });
    return ContainerManager.view(rec);
  }

  /** Remove a stopped container (a running one only with `force`, which kills it). */
  async remove(ref: string, force = false): Promise<string> {
    return this.locked(ref, async (rec) => {
      if (rec.state === 'running' && !force) {
        throw new BerthError('E_CONTAINER_RUNNING', `container ${rec.name} is running: stop it first, or remove it with force`, { details: { id: rec.id } });
      }
      await this.removeLocked(rec);
      return rec.id;
    });
  }

  private async removeLocked(rec: ContainerRecord, status?: ExitStatus): Promise<void> {
    // Stop watching first: the runtime's delete below ends the watch's connection.
    this.watcher.drop(rec.id, status ?? (rec.exitCode === undefined ? undefined : { exitCode: rec.exitCode }));
    if ((await this.runtimeState(rec.id)) !== undefined) await this.runtime.delete(rec.id, { force: true });
    await rm(this.containerDir(rec.id), { recursive: true, force: true });
    this.records.delete(rec.id);
    this.log.info({ id: rec.id, name: rec.name }, 'container removed');
  }

  list(all = false): ContainerView[] {
    return [...this.records.values()]
      .filter((r) => all || r.state === 'running')
      .sort((a, b) => b.created.localeCompare(a.created))
      .map((r) => ContainerManager.view(r));
  }

  inspect(ref: string): ContainerView {
    return ContainerManager.view(this.find(ref));
  }

  /** The log lines; with follow, until the container has stopped and its log is read. */
  logs(ref: string, o: LogOptions & { signal?: AbortSignal } = {}): AsyncGenerator<LogLine> {
    const id = this.find(ref).id;
    return readLog(this.logPath(id), {
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
      const session = await attachContainer(this.runtime.root, rec.id).catch((e: unknown) => {
        throw new BerthError('E_CONTAINER_NOT_RUNNING', `cannot attach to container ${rec.name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      });
      return { session, exit: live.exited, view: ContainerManager.view(rec) };
    });
  }

  /** Run a program in the running container, stdio as pipes. */
  exec(ref: string, req: ExecRequest): Promise<ExecStream> {
    return this.locked(ref, async (rec) => {
      if (rec.state !== 'running') throw new BerthError('E_CONTAINER_NOT_RUNNING', `container ${rec.name} is not running: start it first`, { details: { id: rec.id } });
      if (req.cmd.length === 0 || req.cmd[0] === '') throw new BerthError('E_CONTAINER_INVALID', 'exec needs a program to run', { details: { option: 'cmd' } });
      const env = mergeEnv(rec.config.env, req.env ?? []);
      const workdir = req.workdir === undefined ? undefined : checkWorkdir(req.workdir);
      const user = req.user === undefined ? undefined : await resolveUser(req.user, await this.images.unpackImage(await this.images.image(rec.imageDigest)));
      return this.runtime.execStream(rec.id, req.cmd, {
        tty: req.tty ?? false,
        env: envMap(env),
        ...(workdir ? { cwd: workdir } : {}),
        ...(user ? { user: { uid: user.uid, gid: user.gid } } : {}),
        ...(req.size ? { size: req.size } : {}),
      });
    });
  }

  /** The container's writable layer as a new image on top of its own (Docker's commit). */
  async commit(ref: string, req: CommitRequest): Promise<Image> {
    const rec = this.find(ref);
    const tag = req.reference === undefined ? undefined : tagOf(parseReference(req.reference)) ?? req.reference;
    const upper = join(this.containerDir(rec.id), 'rw', 'upper');
    await mkdir(upper, { recursive: true, mode: 0o755 });
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
      image: rec.imageDigest,
      upper,
      ...(tag === undefined ? {} : { tag }),
      changes,
      createdBy: `berth commit ${rec.name}`,
      ...(req.message === undefined ? {} : { comment: req.message }),
      ...(req.author === undefined ? {} : { author: req.author }),
      fsutil: this.fsutil ?? defaultFsutilBinary,
    });
  }

  /** Memory, CPU and pids of a running container. */
  async stats(ref: string): Promise<ContainerStats> {
    const rec = this.find(ref);
    if (rec.state !== 'running') throw new BerthError('E_CONTAINER_NOT_RUNNING', `container ${rec.name} is not running`, { details: { id: rec.id } });
    try {
      return await this.runtime.stats(rec.id);
    } catch (e) {
      if (e instanceof RuntimeError && this.records.get(rec.id)?.state !== 'running') {
        throw new BerthError('E_CONTAINER_NOT_RUNNING', `container ${rec.name} is not running`, { cause: e, details: { id: rec.id } });
      }
      throw e;
    }
  }
}
