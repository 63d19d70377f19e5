import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../../server/core/index.js';
import { startEmbeddedNginx, type EmbeddedNginx } from '../../server/proxy/index.js';
import { nginxPaths } from '../../server/proxy/main-config.js';
import { requireBinary } from './prereq.js';
import { tempDir } from './temp-dir.js';
import { testLogger } from './logger.js';

export interface TestNginx extends EmbeddedNginx {
  prefix: string;
  port: number;
  paths: ReturnType<typeof nginxPaths>;
}

/**
 * A private nginx for one test: Berth's embedded-nginx code on a random port with its own
 * prefix, stopped in teardown even when the test fails.
 */
export async function startTestNginx(t: ExecutionContext): Promise<TestNginx> {
  const binary = requireBinary('/usr/sbin/nginx', 'nginx');
  const dir = await tempDir(t, 'berth-nginx-');
  const prefix = join(dir, 'nginx');
  const port = await freePort();
  const nginx = await startEmbeddedNginx({ prefix, port, binary, log: testLogger(dir) });
  t.teardown(() => nginx.stop());
  return { ...nginx, prefix, port, paths: nginxPaths(prefix) };
}
