/**
 * Cache keys: each part of a step's key changes it (parent, instruction, the build
 * arguments used, the copied content), argument order does not. The cache's entries: a
 * miss for an image the store no longer has, GC roots, prune. Copy plans: the content hash
 * covers path, mode, owner and bytes, never times.
 */
import test from 'ava';
import { chmod, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildCache, cacheKey } from '../../../server/build/index.js';
import { contextTree, matchSource } from '../../../server/build/context.js';
import { planCopy } from '../../../server/build/copy.js';
import { buildImage, ImageStore } from '../../../server/images/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

const base = { parent: `sha256:${'a'.repeat(64)}`, instruction: 'RUN ["/bin/sh","-c","make"]', args: { A: '1', B: '2' }, content: 'context:abc' };

test('a key changes with each of its parts and not with the order of the arguments', (t) => {
  const k = cacheKey(base);
  t.regex(k, /^[0-9a-f]{64}$/);
  t.is(cacheKey({ ...base, args: { B: '2', A: '1' } }), k);
  t.not(cacheKey({ ...base, parent: `sha256:${'b'.repeat(64)}` }), k);
  t.not(cacheKey({ ...base, instruction: 'RUN ["/bin/sh","-c","make all"]' }), k);
  t.not(cacheKey({ ...base, args: { A: '1', B: '3' } }), k);
  t.not(cacheKey({ ...base, args: { A: '1' } }), k);
  t.not(cacheKey({ ...base, content: 'context:abd' }), k);
  t.not(cacheKey({ ...base, content: undefined }), k);
  t.not(cacheKey({ ...base, parent: 'scratch' }), k);
});

async function hashOf(dir: string): Promise<string> {
  const tree = await contextTree(dir, []);
  const sources = (await matchSource(tree, '.')).map((rel) => ({ tree, rel, written: '.' }));
  const plan = await planCopy({ sources, dest: '/app/', extract: false, keepOwners: false, view: undefined, now: new Date(0), keyword: 'COPY' });
  return plan.contentHash;
}

test('the content hash of a copy: bytes, names and modes count, times do not', async (t) => {
  const dir = await tempDir(t, 'bhash-');
  await writeFile(join(dir, 'a'), 'one');
  const first = await hashOf(dir);
  await utimes(join(dir, 'a'), new Date(1000), new Date(1000));
  t.is(await hashOf(dir), first, 'a new mtime is the same content');
  await writeFile(join(dir, 'a'), 'two');
  const second = await hashOf(dir);
  t.not(second, first);
  await chmod(join(dir, 'a'), 0o600);
  const third = await hashOf(dir);
  t.not(third, second);
  await writeFile(join(dir, 'b'), '');
  t.not(await hashOf(dir), third);
});

test('entries: a hit names a stored image; an entry whose image is gone is a miss and is dropped; roots and prune', async (t) => {
  const dir = await tempDir(t, 'bcache-');
  const store = await ImageStore.open(join(dir, 'images'));
  t.teardown(() => store.close());
  const cache = await BuildCache.open(join(dir, 'cache'));
  const image = await buildImage(store, { layers: [], config: { Cmd: ['x'] } });
  const gone = `sha256:${'c'.repeat(64)}`;
  const [k1, k2] = [cacheKey(base), cacheKey({ ...base, args: {} })];
  await cache.set(k1, image.digest);
  await cache.set(k2, gone);
  t.is(await cache.get(k1, store), image.digest);
  t.deepEqual(await cache.roots(store), [image.digest]);
  t.is(await cache.get(k2, store), undefined);
  const gc = await store.gc(await cache.roots(store));
  t.false(gc.removedBlobs.includes(image.digest), 'an image the cache names is a GC root');
  t.is(await cache.prune(), 1);
  t.is(await cache.get(k1, store), undefined);
  t.true((await store.gc(await cache.roots(store))).removedBlobs.includes(image.digest), 'after prune it is garbage');
});
