/**
 * A private Debian docker-registry (distribution 2.8) for one test: its own config and
 * storage directory, a random loopback port, optional htpasswd users, stopped in teardown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../../server/core/index.js';
import { waitFor } from './http.js';
import { requireBinary } from './prereq.js';
import { tempDir } from './temp-dir.js';

export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry part of image references. */
  host: string;
  port: number;
  /** Where it keeps blobs and repositories (docker/registry/v2/…). */
  storage: string;
}

export interface TokenAuth {
  /** The token service's URL (the registry's realm). */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate the registry trusts for tokens. */
  certificate: string;
}

export async function startRegistry(t: ExecutionContext, options: { users?: Record<string, string>; token?: TokenAuth } = {}): Promise<TestRegistry> {
  const binary = requireBinary('/usr/bin/docker-registry', 'docker-registry');
  const dir = await tempDir(t, 'berth-registry-');
  const port = await freePort();
  const storage = join(dir, 'storage');
  let auth = '';
  if (options.users) {
    requireBinary('/usr/bin/htpasswd', 'apache2-utils');
    const lines = Object.entries(options.users).map(([u, p]) => {
      const r = spawnSync('htpasswd', ['-nbB', u, p], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
      return r.stdout.trim();
    });
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  if (options.token) {
    await writeFile(join(dir, 'token.pem'), options.token.certificate);
    auth = `auth:\n  token:\n    realm: ${options.token.realm}\n    service: ${options.token.service}\n    issuer: ${options.token.issuer}\n    rootcertbundle: ${join(dir, 'token.pem')}\n`;
  }
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`,
  );
  const child = spawn(binary, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  t.teardown(async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
  await waitFor(`docker-registry on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.body?.cancel();
      return true;
    } catch {
      return undefined;
    }
  });
  return { host: `127.0.0.1:${port}`, port, storage };
}
