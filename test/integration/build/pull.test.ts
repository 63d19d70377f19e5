/**
 * FROM an image the store does not have: pulled from the registry its reference names
 * (Debian's docker-registry on loopback), with the pull's lines in the build's output; a
 * reference without a registry, or a registry that does not answer, is E_BUILD_BASE_NOT_FOUND
 * naming the line and why.
 */
import test from 'ava';
import { freePort } from '../../../server/core/index.js';
import { pushImage } from '../../../server/images/index.js';
import { useBuild } from '../../helpers/build.js';
import { startRegistry } from '../../helpers/start-registry.js';

test('FROM host:port/name:tag not in the store is pulled, then built on; its blobs come from the registry', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuild(t);
  const reg = await startRegistry(t);
  const made = await b.build(await b.context({ Dockerfile: 'FROM busybox\nRUN echo pulled-base > /base.txt\n' }), { tags: ['pbase:1'] });
  t.is(made.error, undefined, made.error?.message);
  const remote = `${reg.host}/team/pbase:1`;
  await pushImage(b.c.store, 'pbase:1', remote);
  // Forget it here: no tag, no cache entry, its own layer garbage-collected.
  await b.c.store.untag('pbase:1');
  await b.cache.prune();
  await b.c.store.gc(b.c.manager.imageRoots());
  const layer = made.result?.image.manifest.layers.at(-1)?.digest ?? '';
  t.false(await b.c.store.hasBlob(layer), 'the base image layer is gone from the store before the build');

  const r = await b.build(await b.context({ Dockerfile: `FROM ${remote}\nRUN cat /base.txt\n` }), { tags: ['onpulled:1'] });
  t.is(r.error, undefined, r.error?.message);
  t.true(r.lines.includes(`Pulling ${remote}`), r.lines.join('\n'));
  t.true(r.lines.includes(`Status: Downloaded newer image for ${remote}`), r.lines.join('\n'));
  t.true(r.lines.includes('pulled-base'), r.lines.join('\n'));
  t.true(await b.c.store.hasBlob(layer), 'the layer was pulled');
  t.deepEqual((await b.c.store.resolve(remote)).digest, made.result?.image.digest);
});

test('FROM an image neither stored nor pullable: no registry in its name, or a registry that does not answer', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuild(t);
  const plain = await b.build(await b.context({ Dockerfile: 'FROM busybox\nFROM nosuch/thing:1\n' }));
  t.is(plain.error?.code, 'E_BUILD_BASE_NOT_FOUND');
  t.regex(plain.error?.message ?? '', /^Dockerfile:2: FROM nosuch\/thing:1: .*names no registry to pull it from/);
  const port = await freePort();
  const down = await b.build(await b.context({ Dockerfile: `FROM 127.0.0.1:${port}/team/x:1\n` }));
  t.is(down.error?.code, 'E_BUILD_BASE_NOT_FOUND');
  t.regex(
    down.error?.message ?? '',
    new RegExp(`^Dockerfile:1: FROM 127\\.0\\.0\\.1:${port}/team/x:1: not in the store, and pulling it from 127\\.0\\.0\\.1:${port} failed`),
  );
  t.deepEqual(b.c.manager.list({ all: true }), []);
});
