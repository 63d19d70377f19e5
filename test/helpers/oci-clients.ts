/**
 * What the podman and containerd helpers share: the busybox image as an archive Berth
 * exports (no network needed to load it), and unmounting what a client left under its
 * directory before the directory is removed.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { buildBusyboxImage, ImageStore } from '../../server/images/index.js';
import { exportDockerArchive } from '../../server/images/archive.js';
import { runtimeBinary } from './runtime.js';

/** The OCI runtimes a client is run with: Berth's, and runc as the control. */
export const clientRuntimes = [
  { name: 'berth-runtime', path: runtimeBinary },
  { name: 'runc', path: '/usr/sbin/runc' },
] as const;

/** Build Berth's busybox image in a store under `dir` and export it as a `docker save` tarball; its path. */
export async function busyboxArchive(dir: string): Promise<string> {
  const store = await ImageStore.open(join(dir, 'images'));
  await buildBusyboxImage(store);
  const archive = join(dir, 'busybox.tar');
  const out = createWriteStream(archive);
  await exportDockerArchive(store, ['busybox:latest'], out);
  out.end();
  await finished(out);
  return archive;
}

/** Lazily unmount every mount at or under `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .reverse();
  for (const point of points) spawnSync('umount', ['-l', point]);
}
