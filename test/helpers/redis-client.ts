import type { ExecutionContext } from 'ava';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisEndpoint } from '../../server/redis/index.js';

/**
 * An ioredis client that fails fast instead of retrying (a wrong password or a dead server
 * is an answer, not something to wait out), disconnected in teardown.
 */
export function redisClient(t: ExecutionContext, endpoint: RedisEndpoint, extra: RedisOptions = {}): Redis {
  const client = new Redis({
    ...endpoint,
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    ...extra,
  });
  client.on('error', () => undefined); // surfaced through the rejected command instead
  t.teardown(() => client.disconnect());
  return client;
}

/** PING through a fresh connection; resolves 'PONG' or rejects. The client is always closed. */
export async function pingOnce(endpoint: RedisEndpoint): Promise<string> {
  const client = new Redis({
    ...endpoint,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}
