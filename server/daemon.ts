/**
 * The composition root: reads the configuration, starts (or checks) Redis and nginx,
 * serves the API, and stops everything it started on SIGTERM/SIGINT.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { containerUpgradeHandler, createApi, sshUpgradeHandler, type ServiceHealth, type StatusReport } from './api/index.js';
import { AppStore, type AppHooks } from './apps/index.js';
import { installHook, SshAccess, SshKeyStore, startGitService, type GitHttpOptions } from './git/index.js';
import { openQueue, type DeployQueue, type InterruptedHook, type Processor } from './queue/index.js';
import { BuildCache, buildBuildpacks, buildDockerfile, type BuildLimits, type BuildpackSettings } from './build/index.js';
import { type BerthConfig } from './config/index.js';
import { BerthError, berthVersion, describePortHolder, livePid, nodeVersion, toBerthError, writeFileAtomic, type Logger } from './core/index.js';
import { ContainerManager } from './containers/index.js';
import { createDeployProcessor, createInterruptedCleanup, imageFacts, type DeployPorts } from './deploy/index.js';
import { ImageStore } from './images/index.js';
import { ProxyRouter, probeNginx, startEmbeddedNginx, nginxVersion, type EmbeddedNginx } from './proxy/index.js';
import { createReleaseEngine } from './release/index.js';
import { endpointFromUrl, probeRedis, startEmbeddedRedis, type EmbeddedRedis, type RedisEndpoint } from './redis/index.js';
import { RuntimeClient } from './runtime/index.js';

/** Files the daemon keeps directly under BERTH_HOME. */
export const homeFiles = (home: string) => ({
  pid: join(home, 'daemon.pid'),
  token: join(home, 'api-token'),
  cli: join(home, 'cli.json'),
  logs: join(home, 'logs'),
  redis: join(home, 'redis'),
  nginx: join(home, 'nginx'),
  images: join(home, 'images'),
  containers: join(home, 'containers'),
  buildCache: join(home, 'build-cache'),
  /** Build contexts received by the API, one fresh directory each, removed after the build. */
  buildContexts: join(home, 'tmp', 'build-contexts'),
  /** git over SSH (docs/ssh.md): the keys, and the API settings the SSH user's git-shell reads. */
  ssh: join(home, 'ssh'),
  /** A deploy's received tree and state, one directory per running job (docs/deploys.md). */
  deploys: join(home, 'tmp', 'deploys'),
});

/** The API token: generated at first start, kept with mode 0600. */
async function ensureToken(path: string): Promise<string> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing !== undefined && /^[0-9a-f]{64}$/.test(existing.trim())) {
    await chmod(path, 0o600);
    return existing.trim();
  }
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(path, `${token}\n`, { mode: 0o600 });
  return token;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new BerthError('E_DAEMON_PORT_IN_USE', `the API cannot listen on ${host}:${port}: ${await describePortHolder(port)}`, {
            cause: err,
            details: { port },
          }),
        );
      } else {
        reject(new BerthError('E_BERTH_INTERNAL', `the API cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The URL a CLI on this machine uses to reach the API. */
function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** The Dockerfile builder as the API uses it: the daemon's store, containers, cache and configured limits. */
async function buildService(config: BerthConfig, files: ReturnType<typeof homeFiles>, images: ImageStore, containers: ContainerManager) {
  if (config.buildCpus !== undefined && config.buildCpus > cpus().length) {
    throw new BerthError('E_CONFIG_INVALID', `BERTH_BUILD_CPUS=${config.buildCpus} is more than this host's ${cpus().length} CPUs`);
  }
  const limits: BuildLimits = {
    memoryBytes: config.buildMemory,
    pids: config.buildPids,
    ...(config.buildCpus === undefined ? {} : { cpus: config.buildCpus }),
  };
  const cache = await BuildCache.open(files.buildCache);
  // A context left by a daemon that died mid-build is garbage: nothing refers to it.
  await rm(files.buildContexts, { recursive: true, force: true });
  await mkdir(files.buildContexts, { recursive: true, mode: 0o700 });
  return {
    build: (dir: string, options: Parameters<typeof buildDockerfile>[1], progress: Parameters<typeof buildDockerfile>[2]) =>
      buildDockerfile({ dir, images, containers, cache }, { ...options, limits }, progress),
    buildpacks: async (dir: string, options: Pick<BuildpackSettings, 'tags' | 'buildpacks' | 'signal'>, progress: Parameters<typeof buildBuildpacks>[2]) => {
      const cacheDir = await mkdtemp(join(files.buildContexts, 'buildpack-cache-'));
      try {
        return await buildBuildpacks({ dir, images, containers }, { ...options, app: 'image-build', cacheDir, limits }, progress);
      } finally {
        await rm(cacheDir, { recursive: true, force: true });
      }
    },
    /** The deploy pipeline's buildpack builds: the app's own cache directory and settings. */
    appBuildpacks: (dir: string, settings: Parameters<typeof buildBuildpacks>[1], progress: Parameters<typeof buildBuildpacks>[2]) =>
      buildBuildpacks({ dir, images, containers }, { ...settings, limits }, progress),
    contextDir: files.buildContexts,
    contextMax: config.buildContextMax,
    cacheRoots: () => cache.roots(images),
    pruneCache: () => cache.prune(),
  };
}

/** The services a deploy processor is built from (the deploy room's ports). */
export interface DaemonServices {
  config: BerthConfig;
  log: Logger;
  apps: AppStore;
  images: ImageStore;
  containers: ContainerManager;
  queue: DeployQueue;
}

/** What the composition root plugs in beyond the configuration. */
export interface DaemonWiring {
  /**
   * The deploy pipeline the queue's worker runs, and its clean-up of a job a killed daemon
   * left. Unset: every job fails with E_DAEMON_NO_PIPELINE (it is never reported done).
   */
  deploys?: (services: DaemonServices) => { processor: Processor; onInterrupted?: InterruptedHook };
  /**
   * The command the pre-receive hook runs, program first, absolute paths (docs/git.md).
   * @defaultValue this Node (process.execPath) running the built CLI beside this file, `git-hook pre-receive`
   */
  hookCommand?: string[];
  /**
   * The command sshd runs for every SSH key, program first, absolute paths; Berth adds
   * `git-shell --api-config <file> <key-name>` (docs/ssh.md).
   * @defaultValue this Node (process.execPath) running the built CLI beside this file
   */
  sshCommand?: string[];
}

/** Without a pipeline, a job fails and says why: never a success that deployed nothing. */
const noPipeline: Processor = async (job) => {
  throw new BerthError('E_DAEMON_NO_PIPELINE', `deploy ${job.id} was not run: this daemon has no deploy pipeline wired to its queue`, {
    details: { id: job.id },
  });
};

/** Without Berth's own nginx there is nothing to route apps through: a job fails and says so. */
const noRouter: Processor = async (job) => {
  throw new BerthError(
    'E_DAEMON_NO_PIPELINE',
    `deploy ${job.id} was not run: apps are routed through Berth's embedded nginx, and this daemon runs with BERTH_NGINX_MODE=external`,
    {
      details: { id: job.id },
      hint: 'Run the daemon with BERTH_NGINX_MODE=embedded (the default) to deploy apps.',
    },
  );
};

/**
 * The deploy pipeline from the daemon's parts (docs/deploys.md): the proxy router on the
 * embedded nginx, the release engine with the configured timings, the builders with the
 * build limits, the apps store. apps:destroy stops the app's containers and removes its route
 * through the engine.
 */
async function deployPipeline(
  o: DaemonServices & { files: ReturnType<typeof homeFiles>; nginx: EmbeddedNginx; builds: Awaited<ReturnType<typeof buildService>> },
): Promise<{ processor: Processor; onInterrupted: InterruptedHook }> {
  const { config, log, images } = o;
  const router = await ProxyRouter.open({ nginx: o.nginx, log });
  const release = createReleaseEngine({
    containers: o.containers,
    images,
    router,
    log,
    settings: {
      uptimeSeconds: config.checksUptime,
      bootTimeoutSeconds: config.checksBootTimeout,
      waitToRetireSeconds: config.waitToRetire,
      stopTimeoutSeconds: config.stopTimeout,
    },
  });
  // apps:destroy and apps:rename: the app's containers stop and its route goes; a renamed app
  // is deployed again under its new name (its current release, from the queue: Dokku rebuilds).
  o.apps.addHooks({
    destroying: (app) => release.stopApp(app.name),
    renamed: async (from, app) => {
      await release.stopApp(from);
      if (app.currentRelease !== undefined) await o.queue.enqueue(app.name, { kind: 'rollback', release: app.currentRelease });
    },
  });
  await mkdir(o.files.deploys, { recursive: true, mode: 0o700 });
  const ports: DeployPorts = {
    apps: o.apps,
    build: { dockerfile: o.builds.build, buildpacks: o.builds.appBuildpacks },
    images: { inspect: async (ref) => imageFacts(await images.resolve(ref)), tag: async (id, tag) => void (await images.tag(id, tag)) },
    release,
    settings: {
      domain: config.domain,
      httpPort: config.httpPort,
      workDir: o.files.deploys,
      maxSourceBytes: config.buildContextMax,
      maxFileBytes: config.gitMaxFileBytes,
    },
    log,
  };
  return { processor: createDeployProcessor(ports), onInterrupted: createInterruptedCleanup(ports) };
}

/**
 * What the queue and the image store hold of an app, for apps:destroy and apps:rename
 * (docs/apps.md): neither runs while a deploy of the app runs or waits; destroy drops the
 * app's jobs and its release tags (`berth/<app>:vN`; the blobs go at the next image GC);
 * rename moves the tags to the new name and drops the old name's jobs.
 */
function appJobsAndImages(queue: DeployQueue, images: ImageStore): AppHooks {
  const releaseTags = (app: string) => [...images.tags().keys()].filter((t) => t.startsWith(`berth/${app}:v`));
  return {
    changing: async (app, change) => {
      const busy = (await queue.list(app.name)).find((j) => j.state === 'running' || j.state === 'queued');
      if (busy === undefined) return;
      throw new BerthError(
        'E_APP_DEPLOY_RUNNING',
        `app ${app.name} cannot be ${change === 'destroy' ? 'destroyed' : 'renamed'} now: its job ${busy.id} is ${busy.state}`,
        {
          details: { app: app.name, job: busy.id },
          hint: `\`berth builds:output ${app.name}\` follows it; \`berth builds:cancel ${app.name}\` stops it. Then run the command again.`,
        },
      );
    },
    destroying: async (app) => {
      await queue.forget(app.name);
      for (const tag of releaseTags(app.name)) await images.untag(tag);
    },
    renamed: async (from, app) => {
      await queue.forget(from);
      for (const tag of releaseTags(from)) {
        await images.tag(tag, `berth/${app.name}:${tag.slice(tag.lastIndexOf(':') + 1)}`);
        await images.untag(tag);
      }
    },
  };
}

/** The built CLI beside this file (dist/cli/main.js beside dist/daemon.js), run by this very Node. */
const defaultHookCommand = (): string[] => [process.execPath, fileURLToPath(new URL('./cli/main.js', import.meta.url)), 'git-hook', 'pre-receive'];

/** git over SSH: the key store, installing each change into the SSH user's authorized_keys (docs/ssh.md). */
async function sshService(config: BerthConfig, files: ReturnType<typeof homeFiles>, wiring: DaemonWiring, log: Logger) {
  await mkdir(files.ssh, { recursive: true, mode: 0o711 });
  const access = new SshAccess({
    user: config.sshUser,
    command: {
      argv: wiring.sshCommand ?? [process.execPath, fileURLToPath(new URL('./cli/main.js', import.meta.url))],
      apiConfig: join(files.ssh, 'cli.json'),
    },
    log,
  });
  const keys = new SshKeyStore({ file: join(files.ssh, 'keys.json'), install: (list) => access.install(list) });
  return { access, keys };
}

export interface RunningDaemon {
  url: string;
  stop(): Promise<void>;
}

/** Start every part; on failure, stop what already started and rethrow. */
export async function startDaemon(config: BerthConfig, log: Logger, wiring: DaemonWiring = {}): Promise<RunningDaemon> {
  const files = homeFiles(config.home);
  await mkdir(config.home, { recursive: true, mode: 0o711 });
  await mkdir(files.logs, { recursive: true, mode: 0o700 });
  const other = await livePid(files.pid, 'daemon');
  if (other !== undefined && other !== process.pid) {
    throw new BerthError('E_DAEMON_ALREADY_RUNNING', `a Berth daemon (pid ${other}) already runs with BERTH_HOME=${config.home}`);
  }
  await writeFileAtomic(files.pid, `${process.pid}\n`);
  const token = await ensureToken(files.token);
  const startedAt = Date.now();
  const cleanups: (() => Promise<void>)[] = [
    async () => {
      await unlink(files.pid).catch(() => undefined);
    },
  ];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err: unknown) => log.error({ err }, 'cleanup failed'));
  };

  try {
    // Redis, nginx and `nginx -v` start side by side: each takes a few hundred ms.
    const [redisStart, nginxStart, nginxVer] = await Promise.allSettled([
      config.redisUrl ? Promise.resolve(undefined) : startEmbeddedRedis({ dir: files.redis, binary: config.redisServer, log }),
      config.nginxMode === 'embedded'
        ? startEmbeddedNginx({ prefix: files.nginx, port: config.httpPort, binary: config.nginx, log })
        : Promise.resolve(undefined),
      config.nginxMode === 'embedded' ? nginxVersion(config.nginx) : Promise.resolve(undefined),
    ]);
    const redis: EmbeddedRedis | undefined = redisStart.status === 'fulfilled' ? redisStart.value : undefined;
    const nginx: EmbeddedNginx | undefined = nginxStart.status === 'fulfilled' ? nginxStart.value : undefined;
    if (redis) cleanups.push(() => redis.stop());
    if (nginx) cleanups.push(() => nginx.stop());
    if (redisStart.status === 'rejected') throw redisStart.reason;
    if (nginxStart.status === 'rejected') throw nginxStart.reason;
    const redisEndpoint: RedisEndpoint = redis ? redis.endpoint : endpointFromUrl(config.redisUrl!);
    log.info(redis ? { childPid: redis.supervisor.pid } : {}, redis ? 'embedded Redis is up' : 'using the external Redis in BERTH_REDIS_URL');
    if (nginx) log.info({ childPid: nginx.supervisor.pid, port: config.httpPort }, 'embedded nginx is up');
    const nginxVersionText = nginxVer.status === 'fulfilled' ? nginxVer.value : undefined;

    const status = async (): Promise<StatusReport> => {
      const redisHealth: ServiceHealth = {
        mode: redis ? 'embedded' : 'external',
        healthy: false,
        pid: redis?.supervisor.pid,
        restarts: redis?.supervisor.restarts,
      };
      await probeRedis(redisEndpoint).then(
        (r) => Object.assign(redisHealth, { healthy: true, version: r.version }),
        (err: unknown) => Object.assign(redisHealth, { error: err instanceof Error ? err.message : String(err) }),
      );
      const nginxHealth: ServiceHealth & { port: number } = {
        mode: config.nginxMode,
        healthy: false,
        port: config.httpPort,
        version: nginxVersionText,
        pid: nginx?.supervisor.pid,
        restarts: nginx?.supervisor.restarts,
      };
      await probeNginx(config.httpPort).then(
        (p) => Object.assign(nginxHealth, p.status === 404 ? { healthy: true } : { error: `unexpected HTTP ${p.status} for an unknown host` }),
        (err: unknown) => Object.assign(nginxHealth, { error: err instanceof Error ? err.message : String(err) }),
      );
      return {
        berth: { version: berthVersion, node: nodeVersion, pid: process.pid, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), home: config.home },
        redis: redisHealth,
        nginx: nginxHealth,
      };
    };

    const images = await ImageStore.open(files.images);
    // Containers keep running while the daemon is away; at start it reconciles and watches them again.
    const containers = await ContainerManager.open({
      dir: files.containers,
      images,
      runtime: new RuntimeClient({ root: config.runtimeRoot }),
      network: { name: config.network, ...(config.networkSubnet ? { subnet: config.networkSubnet } : {}), nat: config.networkNat },
      log,
    });
    cleanups.push(async () => containers.close());
    const builds = await buildService(config, files, images, containers);
    // Apps live in BERTH_HOME/apps; other rooms plug their create/destroy work in with apps.addHooks.
    const apps = new AppStore({ home: config.home });
    const recovered = await apps.recover();
    if (recovered.length > 0) log.info({ removed: recovered }, 'removed what an interrupted apps change left');
    const hookCommand = wiring.hookCommand ?? defaultHookCommand();
    apps.addHooks({ created: (app) => installHook(apps.paths(app.name).repo, hookCommand) });
    const ssh = await sshService(config, files, wiring, log);
    // The queue closes before Redis stops (cleanups run in reverse): running jobs are told first.
    const queue = await openQueue({ endpoint: redisEndpoint, log });
    cleanups.push(() => queue.close());
    apps.addHooks(appJobsAndImages(queue, images));
    const services: DaemonServices = { config, log, apps, images, containers, queue };
    const deploys =
      wiring.deploys?.(services) ??
      (nginx ? await deployPipeline({ ...services, files, nginx, builds }) : { processor: config.nginxMode === 'external' ? noRouter : noPipeline });
    await queue.work({ ...deploys, concurrency: config.queueConcurrency });
    let apiUrl = '';
    const git: GitHttpOptions = { apps, autoCreate: config.appsAutocreate, hookEnvironment: () => ({ url: apiUrl, token }) };
    const server = createServer(
      // No limit on how long a request body takes: a large push (or build context) on a slow link takes what it takes.
      { requestTimeout: 0 },
      createApi({
        token,
        log,
        status,
        images: { store: images, debootstrapCache: join(config.home, 'cache', 'debootstrap') },
        containers,
        builds,
        apps,
        git,
        sshKeys: ssh.keys,
        deploys: { queue, apps, limits: { maxFileBytes: config.gitMaxFileBytes } },
      }),
    );
    // attach and exec streams: upgraded sockets leave the server's bookkeeping, so they are tracked here.
    const streams = new Set<Duplex>();
    const onUpgrade = sshUpgradeHandler(
      { token, log, git: { start: (request) => startGitService(git, log, request) } },
      containerUpgradeHandler({ token, log, containers }),
    );
    server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      streams.add(socket);
      socket.once('close', () => streams.delete(socket));
      onUpgrade(req, socket, head);
    });
    const address = await listen(server, config.apiHost, config.apiPort);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
          for (const s of streams) s.destroy();
        }),
    );
    const url = localUrl(config.apiHost, address.port);
    apiUrl = url;
    await writeFileAtomic(files.cli, `${JSON.stringify({ url, token }, null, 2)}\n`, { mode: 0o600 });
    ssh.access.setApi({ url, token });
    // The SSH user may have been created (or broken) while the daemon was away: install the keys again.
    await ssh.keys.sync().catch((err: unknown) => log.warn({ err }, `git over SSH is off: ${toBerthError(err).message}`));
    log.info({ url, home: config.home }, `Berth ${berthVersion} is up: API at ${url}`);
    return { url, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw toBerthError(err);
  }
}

/** Run the daemon until SIGTERM or SIGINT, then stop every child and exit 0. */
export async function runDaemon(config: BerthConfig, log: Logger, wiring: DaemonWiring = {}): Promise<void> {
  const daemon = await startDaemon(config, log, wiring);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `received ${signal}; stopping`);
    daemon.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGHUP', shutdown); // the terminal of a foreground daemon closed
}
