/**
 * The stack image for tests (buildpack builds, the stack's own test). A cold debootstrap
 * build takes minutes, so the built image is cached as an OCI archive in
 * /var/cache/berth-test/, keyed by the package list, suite, mirror and the source of
 * server/images/stack.ts: any change to how the stack is built (a buildpack needing a new
 * package) makes a new key, and the next test builds it through the real debootstrap.
 * BERTH_TEST_REBUILD_STACK=1 forces a build.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ensureStackImage, exportOciArchive, importArchive, type Image, type ImageStore } from '../../server/images/index.js';
import { DEFAULT_MIRROR, STACK_SUITE, STACK_TAG, stackPackages } from '../../server/images/stack.js';
import { requireBinary } from './prereq.js';

const cacheDir = '/var/cache/berth-test';

/** The cached archive's path for the stack as server/images/stack.ts builds it now. */
export async function stackArchivePath(): Promise<string> {
  const source = await readFile(new URL('../../server/images/stack.ts', import.meta.url));
  const key = createHash('sha256')
    .update(JSON.stringify([stackPackages, STACK_SUITE, DEFAULT_MIRROR]))
    .update(source)
    .digest('hex')
    .slice(0, 16);
  return join(cacheDir, `stack-${key}.oci.tar`);
}

/**
 * `stack:bookworm` in `store`: imported from the cached archive, or built with debootstrap
 * (`debs` caches its downloads; `onLine` sees its output) and then cached. `built` says which.
 */
export async function loadStackImage(store: ImageStore, debs: string, onLine?: (line: string) => void): Promise<{ image: Image; built: boolean }> {
  const cached = await stackArchivePath();
  if (existsSync(cached) && process.env.BERTH_TEST_REBUILD_STACK !== '1') {
    const [image] = await importArchive(store, createReadStream(cached), { what: cached });
    if (!image) throw new Error(`the cached stack archive ${cached} holds no image`);
    return { image: await store.resolve(STACK_TAG), built: false };
  }
  requireBinary('/usr/sbin/debootstrap', 'debootstrap');
  const image = await ensureStackImage(store, { cacheDir: debs, rebuild: true, ...(onLine ? { onLine } : {}) });
  await mkdir(cacheDir, { recursive: true });
  const temp = `${cached}.${process.pid}.tmp`;
  await exportOciArchive(store, [STACK_TAG], createWriteStream(temp));
  await rename(temp, cached);
  return { image, built: true };
}

/** `stack:bookworm` in `store`: imported from the cache, or built (and cached) when there is none. */
export async function useStackImage(store: ImageStore, scratch: string): Promise<Image> {
  return (await loadStackImage(store, join(scratch, 'debs'))).image;
}
