import type { ExecutionContext } from 'ava';
import type { Redis, RedisOptions } from 'ioredis';
import type { RedisEndpoint } from '../../server/redis/index.js';
import { failFastClient } from '../../server/redis/health.js';

/** Berth's fail-fast ioredis client, disconnected in teardown. */
export function redisClient(t: ExecutionContext, endpoint: RedisEndpoint, extra: RedisOptions = {}): Redis {
  const client = failFastClient(endpoint, 2000, extra);
  t.teardown(() => client.disconnect());
  return client;
}

/** PING through a fresh connection; resolves 'PONG' or rejects. The client is always closed. */
export async function pingOnce(endpoint: RedisEndpoint): Promise<string> {
  const client = failFastClient(endpoint, 1000);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}
