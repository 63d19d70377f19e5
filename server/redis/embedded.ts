/**
 * Berth's own Redis: Debian's redis-server, supervised, with AOF on, `noeviction` (BullMQ
 * must never lose a job to eviction), a password, and bound to a unix socket under
 * BERTH_HOME (mode 0700 directory) or, for tests, a loopback TCP port.
 */
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, Supervisor, describePortHolder, killStale, start, whoListensOn, writeFileAtomic, type Logger } from '../core/index.js';
import { failFastClient } from './health.js';
import type { RedisEndpoint } from './types.js';

export interface EmbeddedRedisOptions {
  /** Directory for the config, AOF, socket, pid and log files. */
  dir: string;
  /** The redis-server binary. @defaultValue '/usr/bin/redis-server' */
  binary?: string;
  /** Listen on 127.0.0.1:port instead of the unix socket. */
  port?: number;
  /** The password; generated when omitted. */
  password?: string;
  log: Logger;
}

/** A redis.conf for the embedded server. Every value is ours (paths, a hex password, a port). */
export function renderRedisConfig(o: { dir: string; port?: number; password: string }): string {
  const listen = o.port === undefined ? ['port 0', `unixsocket ${join(o.dir, 'redis.sock')}`, 'unixsocketperm 700'] : [`port ${o.port}`, 'bind 127.0.0.1'];
  return [
    '# Written by Berth; changes are overwritten at every start.',
    'daemonize no',
    'supervised no',
    ...listen,
    'protected-mode yes',
    `requirepass ${o.password}`,
    `dir ${o.dir}`,
    `pidfile ${join(o.dir, 'redis.pid')}`,
    `logfile ${join(o.dir, 'redis.log')}`,
    'appendonly yes',
    'appendfsync everysec',
    'maxmemory-policy noeviction',
    'save ""',
    '',
  ].join('\n');
}

async function waitReady(endpoint: RedisEndpoint, child: { exitCode: number | null; pid?: number }, o: EmbeddedRedisOptions): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const client = failFastClient(endpoint, 1000);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (err) {
      last = err;
    } finally {
      client.disconnect();
    }
    await sleep(50);
  }
  const logFile = join(o.dir, 'redis.log');
  // Blame the port only when another program really listens on it: describePortHolder
  // says "in use" even for a free port, which would mislead when Redis failed otherwise.
  const holder = o.port !== undefined ? await whoListensOn(o.port).catch(() => undefined) : undefined;
  if (o.port !== undefined && holder !== undefined && holder.pid !== child.pid) {
    throw new BerthError('E_DAEMON_PORT_IN_USE', `redis-server cannot listen: ${await describePortHolder(o.port)}; see ${logFile}`, {
      cause: last,
      details: { port: o.port },
    });
  }
  throw new BerthError(
    'E_REDIS_UNAVAILABLE',
    `redis-server did not come up${child.exitCode !== null ? ` (exited with code ${child.exitCode})` : ''}; see ${logFile}`,
    { cause: last },
  );
}

export interface EmbeddedRedis {
  endpoint: RedisEndpoint;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

/** Start and supervise an embedded Redis; resolves once it answers PING. */
export async function startEmbeddedRedis(o: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const password = o.password ?? randomBytes(24).toString('hex');
  const configFile = join(o.dir, 'redis.conf');
  await writeFileAtomic(configFile, renderRedisConfig({ dir: o.dir, port: o.port, password }), { mode: 0o600 });
  // A Redis left running by a daemon that was SIGKILLed still holds the socket and AOF.
  // redis-server rewrites its process title to `redis-server <socket or host:port>`.
  await killStale(join(o.dir, 'redis.pid'), o.port === undefined ? `unixsocket:${join(o.dir, 'redis.sock')}` : `127.0.0.1:${o.port}`);
  const endpoint: RedisEndpoint = o.port === undefined ? { path: join(o.dir, 'redis.sock'), password } : { host: '127.0.0.1', port: o.port, password };
  const supervisor = new Supervisor({
    name: 'redis',
    log: o.log,
    spawn: () => start(o.binary ?? '/usr/bin/redis-server', [configFile], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, installHint: 'redis-server' }),
    ready: (child) => waitReady(endpoint, child, o),
  });
  await supervisor.start();
  return { endpoint, supervisor, stop: () => supervisor.stop() };
}
