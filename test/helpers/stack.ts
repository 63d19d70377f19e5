/**
 * The stack image for tests. A cold debootstrap build takes about three minutes, so the built
 * image is cached as an OCI archive in /var/cache/berth-test/, keyed by the package list, suite,
 * mirror and the source of server/images/stack.ts: any change to how the stack is built (a
 * buildpack needing a new package) makes a new key, and the next test builds it through the
 * real debootstrap. BERTH_TEST_REBUILD_STACK=1 forces a build.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureStackImage, exportOciArchive, importArchive, type Image, type ImageStore } from '../../server/images/index.js';
import { DEFAULT_MIRROR, STACK_SUITE, STACK_TAG, stackPackages } from '../../server/images/stack.js';

export const stackCacheDir = '/var/cache/berth-test';

/** Where the archive of the stack as server/images/stack.ts builds it now is cached. */
export async function stackArchivePath(): Promise<string> {
  const source = await readFile(new URL('../../server/images/stack.ts', import.meta.url));
  const key = createHash('sha256')
    .update(JSON.stringify([stackPackages, STACK_SUITE, DEFAULT_MIRROR]))
    .update(source)
    .digest('hex')
    .slice(0, 16);
  return join(stackCacheDir, `stack-${key}.oci.tar`);
}

/**
 * `stack:bookworm` in `store`: imported from the cached archive, or built with debootstrap
 * (`debs` caches its downloads; `onLine` sees its output) and then cached. `built` says which.
 */
export async function loadStackImage(store: ImageStore, debs: string, onLine?: (line: string) => void): Promise<{ image: Image; built: boolean }> {
  const cached = await stackArchivePath();
  if (existsSync(cached) && process.env.BERTH_TEST_REBUILD_STACK !== '1') {
    const [image] = await importArchive(store, createReadStream(cached), { what: cached });
    if (!image) throw new Error(`the cached archive ${cached} holds no image`);
    return { image, built: false };
  }
  const image = await ensureStackImage(store, { cacheDir: debs, rebuild: true, ...(onLine ? { onLine } : {}) });
  await mkdir(stackCacheDir, { recursive: true });
  const temp = `${cached}.${process.pid}.tmp`;
  await exportOciArchive(store, [STACK_TAG], createWriteStream(temp));
  await rename(temp, cached);
  return { image, built: true };
}
