/**
 * The stack image for tests that build on it (buildpack builds): imported from the OCI
 * archive test/integration/images/stack.test.ts caches in /var/cache/berth-test/ (keyed by
 * the package list and the source of server/images/stack.ts), else built with the real
 * debootstrap (minutes) and cached the same way.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ensureStackImage, exportOciArchive, importArchive, type Image, type ImageStore } from '../../server/images/index.js';
import { stackPackages, STACK_TAG } from '../../server/images/stack.js';
import { requireBinary } from './prereq.js';

const cacheDir = '/var/cache/berth-test';

/** The cached archive's path for the stack as server/images/stack.ts builds it now. */
export async function stackArchivePath(): Promise<string> {
  const source = await readFile(new URL('../../server/images/stack.ts', import.meta.url));
  const key = createHash('sha256')
    .update(JSON.stringify([stackPackages, 'bookworm', 'http://deb.debian.org/debian']))
    .update(source)
    .digest('hex')
    .slice(0, 16);
  return join(cacheDir, `stack-${key}.oci.tar`);
}

/** `stack:bookworm` in `store`: imported from the cache, or built (and cached) when there is none. */
export async function useStackImage(store: ImageStore, scratch: string): Promise<Image> {
  const cached = await stackArchivePath();
  if (existsSync(cached)) {
    const [image] = await importArchive(store, createReadStream(cached), { what: cached });
    if (!image) throw new Error(`the cached stack archive ${cached} holds no image`);
    return store.resolve(STACK_TAG);
  }
  requireBinary('/usr/sbin/debootstrap', 'debootstrap');
  const image = await ensureStackImage(store, { cacheDir: join(scratch, 'debs') });
  await mkdir(cacheDir, { recursive: true });
  const temp = `${cached}.${process.pid}.tmp`;
  await exportOciArchive(store, [STACK_TAG], createWriteStream(temp));
  await rename(temp, cached);
  return image;
}
