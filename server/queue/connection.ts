/**
 * The queue's Redis connections. Two temperaments:
 *
 * - `commands` (enqueue, info, list, cancel, wait): `maxRetriesPerRequest: 0`, so a command in
 *   flight when the connection drops fails instead of being sent twice (an enqueue must never
 *   land twice, or land after the caller was told it failed), and `guard` bounds the wait for a
 *   connection: a dead Redis is E_QUEUE_UNAVAILABLE within `redisTimeoutMs`, never a hang.
 * - `worker` (BullMQ workers, output writes, lock renewal): `maxRetriesPerRequest: null`, as
 *   BullMQ requires for blocking connections: a running deploy rides out a Redis restart and
 *   its lines and result are written once Redis is back.
 *
 * Both reconnect forever in the background (ioredis's retryStrategy, capped at 2 s).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { BerthError } from '../core/index.js';
import type { RedisEndpoint } from '../redis/index.js';

const retryStrategy = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), 2000);

/** ioredis options for an endpoint; `kind` picks the temperament above. */
export function redisOptions(endpoint: RedisEndpoint, kind: 'commands' | 'worker', connectTimeoutMs: number): RedisOptions {
  return {
    ...endpoint,
    connectTimeout: connectTimeoutMs,
    retryStrategy,
    maxRetriesPerRequest: kind === 'commands' ? 0 : null,
  };
}

/** A new connection; its `error` events are routed to `onError` (ioredis would print them). */
export function connect(endpoint: RedisEndpoint, kind: 'commands' | 'worker', connectTimeoutMs: number, onError: (err: Error) => void): Redis {
  const redis = new Redis(redisOptions(endpoint, kind, connectTimeoutMs));
  redis.on('error', onError);
  return redis;
}

/** A place to say where Redis is, for messages: a socket path or host:port. */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  return endpoint.path ?? `${endpoint.host ?? '127.0.0.1'}:${endpoint.port ?? 6379}`;
}

/**
 * Run `op` once `redis` is connected, within `timeoutMs` in all: a Redis that does not answer
 * is E_QUEUE_UNAVAILABLE naming the endpoint and the operation. Only `op`s that are safe to
 * abandon go through here (a command either ran or failed; `maxRetriesPerRequest: 0` never
 * resends it later).
 */
export async function guard<T>(redis: Redis, endpoint: RedisEndpoint, timeoutMs: number, what: string, op: () => Promise<T>): Promise<T> {
  const unavailable = (cause?: unknown): BerthError =>
    new BerthError('E_QUEUE_UNAVAILABLE', `cannot ${what}: Redis at ${describeEndpoint(endpoint)} did not answer within ${timeoutMs} ms`, {
      cause,
      details: { endpoint: describeEndpoint(endpoint) },
    });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable()), timeoutMs);
  });
  try {
    if (redis.status !== 'ready') await waitReady(redis, deadline);
    return await Promise.race([op(), deadline]);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    if (isConnectionError(err)) throw unavailable(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function waitReady(redis: Redis, deadline: Promise<never>): Promise<void> {
  if (redis.status === 'wait') {
    await Promise.race([redis.connect(), deadline]);
    return;
  }
  let onReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
    redis.once('ready', onReady);
  });
  try {
    await Promise.race([ready, deadline]);
  } finally {
    redis.off('ready', onReady);
  }
}

/** ioredis's errors for a connection that is down (as opposed to a command Redis refused). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ENOENT|ETIMEDOUT|ECONNRESET|EPIPE|connect ETIMEDOUT/.test(err.message)
  );
}
