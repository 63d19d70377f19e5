import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { openQueue, type DeployQueue, type QueueOptions } from '../../server/queue/index.js';
import type { RedisEndpoint } from '../../server/redis/index.js';
import { testLogger } from './logger.js';

/** A unique Redis key prefix for one test's queue: `test-<uuid>`. */
export const queuePrefix = (): string => `test-${randomUUID()}`;

/**
 * A deploy queue on `endpoint` under `prefix`, closed in teardown (its worker too, if one was
 * started). Logs go to `<dir>/test.log`.
 */
export async function startQueue(
  t: ExecutionContext,
  endpoint: RedisEndpoint,
  dir: string,
  prefix: string,
  options: Partial<QueueOptions> = {},
): Promise<DeployQueue> {
  const queue = await openQueue({ endpoint, prefix, log: testLogger(dir), ...options });
  t.teardown(() => queue.close());
  return queue;
}
