import { Redis, type RedisOptions } from 'ioredis';
import type { RedisEndpoint } from './types.js';

/** Parse a redis:// URL into an endpoint (for BERTH_REDIS_URL). */
export function endpointFromUrl(url: string): RedisEndpoint {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db: Number.isInteger(db) ? db : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * An ioredis client that fails fast instead of retrying: for health checks and readiness
 * probes, a wrong password or a dead server is an answer, not something to wait out.
 * Connect with `connect()`; `error` events surface through the rejected command instead.
 */
export function failFastClient(endpoint: RedisEndpoint, timeoutMs = 2000, extra: RedisOptions = {}): Redis {
  const client = new Redis({
    ...endpoint,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    ...extra,
  });
  client.on('error', () => undefined);
  return client;
}

/** PING and read the server version, within `timeoutMs`. */
export async function probeRedis(endpoint: RedisEndpoint, timeoutMs = 2000): Promise<{ version: string }> {
  const client = failFastClient(endpoint, timeoutMs);
  try {
    await client.connect();
    await client.ping();
    const info = await client.info('server');
    return { version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
  } finally {
    client.disconnect();
  }
}
