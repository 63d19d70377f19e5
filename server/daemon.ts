/**
 * The composition root: reads the configuration, starts (or checks) Redis and nginx,
 * serves the API, and stops everything it started on SIGTERM/SIGINT.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { containerUpgradeHandler, createApi, type ServiceHealth, type StatusReport } from './api/index.js';
import { BuildCache, buildBuildpacks, buildDockerfile, type BuildLimits, type BuildpackSettings } from './build/index.js';
import { type BerthConfig } from './config/index.js';
import { BerthError, berthVersion, describePortHolder, livePid, nodeVersion, toBerthError, writeFileAtomic, type Logger } from './core/index.js';
import { ContainerManager } from './containers/index.js';
import { ImageStore } from './images/index.js';
import { probeNginx, startEmbeddedNginx, nginxVersion, type EmbeddedNginx } from './proxy/index.js';
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
    contextDir: files.buildContexts,
    contextMax: config.buildContextMax,
    cacheRoots: () => cache.roots(images),
    pruneCache: () => cache.prune(),
  };
}

export interface RunningDaemon {
  url: string;
  stop(): Promise<void>;
}

/** Start every part; on failure, stop what already started and rethrow. */
export async function startDaemon(config: BerthConfig, log: Logger): Promise<RunningDaemon> {
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
    const server = createServer(
      createApi({ token, log, status, images: { store: images, debootstrapCache: join(config.home, 'cache', 'debootstrap') }, containers, builds }),
    );
    // attach and exec streams: upgraded sockets leave the server's bookkeeping, so they are tracked here.
    const streams = new Set<Duplex>();
    const onUpgrade = containerUpgradeHandler({ token, log, containers });
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
    await writeFileAtomic(files.cli, `${JSON.stringify({ url, token }, null, 2)}\n`, { mode: 0o600 });
    log.info({ url, home: config.home }, `Berth ${berthVersion} is up: API at ${url}`);
    return { url, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw toBerthError(err);
  }
}

/** Run the daemon until SIGTERM or SIGINT, then stop every child and exit 0. */
export async function runDaemon(config: BerthConfig, log: Logger): Promise<void> {
  const daemon = await startDaemon(config, log);
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
