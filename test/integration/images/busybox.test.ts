/**
 * The busybox base image, built from Debian's busybox-static, stored, unpacked and run by
 * the real berth-runtime on its overlay layers.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBusyboxImage, ensureBusyboxImage, ImageStore } from '../../../server/images/index.js';
import { defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { requireBinary, requireRoot } from '../../helpers/prereq.js';
import { containerId, leftovers, useRuntime } from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';

test('busybox is built reproducibly from busybox-static and runs under berth-runtime from its unpacked layer', async (t) => {
  requireRoot('the image store and berth-runtime');
  requireBinary('/bin/busybox', 'busybox-static');
  const dir = await tempDir(t, 'berth-busybox-');
  const store = await ImageStore.open(join(dir, 'images'));
  const image = await buildBusyboxImage(store);
  t.deepEqual(image.tags, ['busybox:latest']);
  t.deepEqual(image.config.config?.Cmd, ['sh']);
  t.regex(image.config.history?.[0]?.created_by ?? '', /BusyBox v/);
  const other = await ImageStore.open(join(dir, 'other'));
  t.is((await buildBusyboxImage(other)).digest, image.digest, 'the same package gives the same digest');
  t.is((await ensureBusyboxImage(store)).digest, image.digest);

  const [layer] = await store.unpackImage(image);
  if (layer === undefined) throw new Error('no layer');
  t.is(await readlink(join(layer, 'bin', 'sh')), '/bin/busybox');
  t.is((await stat(join(layer, 'tmp'))).mode & 0o7777, 0o1777);

  const rt = await useRuntime(t);
  const id = containerId();
  const bundle = join(dir, 'bundle');
  await writeBundle(
    bundle,
    defaultSpec({ args: ['sh', '-c', 'echo hello from $(id -u); ls /bin/sh; touch /tmp/mine'], layers: { lower: [layer], writable: join(dir, 'writable') } }),
  );
  const r = rt.run(['run', '--bundle', bundle, id]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'hello from 0\n/bin/sh\n');
  t.false(existsSync(join(layer, 'tmp', 'mine')), 'the layer stays read-only: writes go to the container');
  t.deepEqual(leftovers(id), []);
});
