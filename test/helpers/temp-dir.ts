import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from 'ava';

/** A unique name for containers, apps, queues: `prefix-<8 hex>` (lowercase, starts with a letter). */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * A fresh directory removed when the test ends, pass or fail. Mode 0711 so that servers
 * dropping privileges (nginx workers run as www-data) can reach what lies below it.
 */
export async function tempDir(t: ExecutionContext, prefix = 'berth-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o711);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
