/** skopeo, the image oracle: local transports only (oci:, oci-archive:, docker-archive:), never a network one. */
import { spawnSync } from 'node:child_process';
import { requireBinary } from './prereq.js';

export function skopeo(args: string[]): string {
  requireBinary('/usr/bin/skopeo', 'skopeo');
  for (const a of args) {
    if (/^docker:\/\/(127\.0\.0\.1|localhost):/.test(a)) continue; // a test's own loopback registry
    if (/^(docker|containers-storage|docker-daemon|atomic):/.test(a)) throw new Error(`tests use only local skopeo transports, not ${a}`);
  }
  const r = spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
