/**
 * Commit: a real container (berth-runtime on the busybox image's overlay layers) changes
 * its root; its writable layer becomes a new image whose layers, stacked again, show the
 * changes (deletions and a replaced directory included), and which runs.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isBerthError } from '../../../server/core/index.js';
import { buildBusyboxImage, commitContainer, defaultFsutilBinary, ImageStore, sha256 } from '../../../server/images/index.js';
import { defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { waitFor } from '../../helpers/http.js';
import { requireRoot } from '../../helpers/prereq.js';
import { containerId, useRuntime } from '../../helpers/runtime.js';
import { skopeo } from '../../helpers/skopeo.js';
import { tempDir } from '../../helpers/temp-dir.js';

test('a container\'s changes become a new image: files, deletions, an opaque directory, links, a FIFO, the config', async (t) => {
  requireRoot('berth-runtime and the image store');
  const dir = await tempDir(t, 'berth-commit-');
  const store = await ImageStore.open(join(dir, 'images'));
  const busybox = await buildBusyboxImage(store);
  const lower = await store.unpackImage(busybox);
  const rt = await useRuntime(t);
  const id = containerId();
  const writable = join(dir, 'writable');
  const bundle = join(dir, 'bundle');
  const script = [
    'echo new > /new', 'ln /new /new-link', 'rm /bin/vi', 'rm -rf /etc', 'mkdir /etc', 'echo only > /etc/only',
    'mkfifo /fifo', 'mkdir -p /app', 'echo a > /app/a', 'chmod 4755 /app/a', 'ln -s /app/a /app/abs-link',
  ].join(' && ');
  await writeBundle(bundle, defaultSpec({ args: ['sh', '-c', script], layers: { lower, writable } }));
  const created = rt.run(['run', '-d', '--bundle', bundle, id]);
  t.is(created.status, 0, created.stderr);
  await waitFor('the container to stop', async () => (JSON.parse(rt.run(['state', id]).stdout) as { status: string }).status === 'stopped' || undefined);

  const image = await commitContainer(store, {
    image: 'busybox',
    upper: join(writable, 'upper'),
    tag: 'committed:v1',
    changes: { Cmd: ['sh', '-c', 'cat /new; ls /etc; test -e /bin/vi || echo no vi'], Env: ['GREETING=hi'], WorkingDir: '/app', ExposedPorts: ['8080'], Labels: { via: 'commit' } },
    createdBy: 'sh -c "…"',
    comment: 'test commit',
    fsutil: defaultFsutilBinary,
  });
  rt.run(['delete', '--force', id]);
  t.deepEqual(image.tags, ['committed:v1']);
  t.is(image.manifest.layers.length, 2);
  t.is(image.manifest.layers[0]?.digest, busybox.manifest.layers[0]?.digest, 'the base layer is shared');
  t.deepEqual(image.config.config?.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hi']);
  t.is(image.config.config?.WorkingDir, '/app');
  t.deepEqual(image.config.config?.ExposedPorts, { '8080/tcp': {} });
  t.deepEqual(image.config.config?.Labels, { via: 'commit' });
  t.is(image.config.history?.length, 2);
  t.like(image.config.history?.[1], { created_by: 'sh -c "…"', comment: 'test commit' });

  // The new layer, as OCI says: .wh. files and an opaque marker; read by skopeo unchanged.
  const [top, base] = await store.unpackImage(image);
  const mnt = await tempDir(t, 'berth-commit-mnt-');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t overlay overlay -o "lowerdir=$1:$2" "$3" && cd "$3" && ls etc bin/vi app; stat -c "%F %a %h" fifo new app/a; readlink app/abs-link', 'sh', top ?? '', base ?? '', mnt], { encoding: 'utf8' });
  t.regex(r.stderr, /'bin\/vi': No such file or directory/);
  t.is(r.stdout, 'app:\na\nabs-link\n\netc:\nonly\nfifo 644 1\nregular file 644 2\nregular file 4755 1\n/app/a\n');
  t.is(sha256(skopeo(['inspect', '--raw', `oci:${store.root}:committed:v1`])), image.digest);

  // It runs: the committed config and the changed root.
  const id2 = containerId();
  const bundle2 = join(dir, 'bundle2');
  await writeBundle(bundle2, defaultSpec({ args: image.config.config?.Cmd ?? [], cwd: '/app', layers: { lower: await store.unpackImage(image), writable: join(dir, 'w2') } }));
  const run = rt.run(['run', '--bundle', bundle2, id2]);
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout, 'new\nonly\nno vi\n');
});

test('an upper directory with an overlay redirect (a renamed directory) is refused', async (t) => {
  requireRoot('trusted xattrs');
  const dir = await tempDir(t, 'berth-commit-');
  const store = await ImageStore.open(join(dir, 'images'));
  await buildBusyboxImage(store);
  const upper = join(dir, 'upper');
  await mkdir(join(upper, 'moved'), { recursive: true });
  const set = spawnSync(defaultFsutilBinary, ['apply', upper], { input: Buffer.from('xattr\0moved\0trusted.overlay.redirect\0' + Buffer.from('/etc').toString('hex') + '\0') });
  t.is(set.status, 0, String(set.stderr));
  const e = await t.throwsAsync(commitContainer(store, { image: 'busybox', upper, fsutil: defaultFsutilBinary }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_LAYER_INVALID', String(e));
  t.regex(e?.message ?? '', /cannot commit moved: overlayfs marked it with trusted\.overlay\.redirect/);
  t.deepEqual([...store.tags().keys()], ['busybox:latest']);
});
