import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../../server/core/index.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../server/redis/index.js';
import { requireBinary } from './prereq.js';
import { tempDir } from './temp-dir.js';
import { testLogger } from './logger.js';

export interface TestRedis extends EmbeddedRedis {
  dir: string;
  port: number | undefined;
}

/**
 * A private Redis for one test: Berth's own embedded Redis code on a random loopback port
 * (or a unix socket), in a unique directory, stopped in teardown even when the test fails.
 */
export async function startTestRedis(t: ExecutionContext, options: { socket?: boolean } = {}): Promise<TestRedis> {
  const binary = requireBinary('/usr/bin/redis-server', 'redis-server');
  const dir = await tempDir(t, 'berth-redis-');
  const port = options.socket ? undefined : await freePort();
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), binary, port, log: testLogger(dir) });
  t.teardown(() => redis.stop());
  return { ...redis, dir, port };
}
