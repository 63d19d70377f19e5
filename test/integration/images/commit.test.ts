/**
 * Commit: a real container (berth-runtime on the busybox image's overlay layers) changes
 * its root; its writable layer becomes a new image whose layers, stacked again, show the
 * changes (deletions and a replaced directory included), and which runs.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chown, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBerthError } from '../../../server/core/errors.js';
import { buildBusyboxImage, commitContainer, defaultFsutilBinary, ImageStore, type Image } from '../../../server/images/index.js';
import { sha256 } from '../../../server/images/digest.js';
import { defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { waitFor } from '../../helpers/http.js';
import { requireRoot } from '../../helpers/prereq.js';
import { containerId, useRuntime } from '../../helpers/runtime.js';
import { skopeo } from '../../helpers/skopeo.js';
import { topLayerHeaders } from '../../helpers/tarball.js';
import { tempDir } from '../../helpers/temp-dir.js';

test("a container's changes become a new image: files, deletions, an opaque directory, links, a FIFO, the config", async (t) => {
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
    'echo new > /new',
    'ln /new /new-link',
    'rm /bin/vi',
    'rm -rf /etc',
    'mkdir /etc',
    'echo only > /etc/only',
    'mkfifo /fifo',
    'mkdir -p /app',
    'echo a > /app/a',
    'chmod 4755 /app/a',
    'ln -s /app/a /app/abs-link',
  ].join(' && ');
  await writeBundle(bundle, defaultSpec({ args: ['sh', '-c', script], layers: { lower, writable } }));
  const created = rt.run(['run', '-d', '--bundle', bundle, id]);
  t.is(created.status, 0, created.stderr);
  await waitFor('the container to stop', async () => (JSON.parse(rt.run(['state', id]).stdout) as { status: string }).status === 'stopped' || undefined);

  const image = await commitContainer(store, {
    image: 'busybox',
    upper: join(writable, 'upper'),
    tag: 'committed:v1',
    changes: {
      Cmd: ['sh', '-c', 'cat /new; ls /etc; test -e /bin/vi || echo no vi'],
      Env: ['GREETING=hi'],
      WorkingDir: '/app',
      ExposedPorts: ['8080'],
      Labels: { via: 'commit' },
    },
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
  const r = spawnSync(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      'mount -t overlay overlay -o "lowerdir=$1:$2" "$3" && cd "$3" && ls etc bin/vi app; stat -c "%F %a %h" fifo new app/a; readlink app/abs-link',
      'sh',
      top ?? '',
      base ?? '',
      mnt,
    ],
    { encoding: 'utf8' },
  );
  t.regex(r.stderr, /'bin\/vi': No such file or directory/);
  t.is(r.stdout, 'app:\na\nabs-link\n\netc:\nonly\nfifo 644 1\nregular file 644 2\nregular file 4755 1\n/app/a\n');
  t.is(sha256(skopeo(['inspect', '--raw', `oci:${store.root}:committed:v1`])), image.digest);

  // It runs: the committed config and the changed root.
  const id2 = containerId();
  const bundle2 = join(dir, 'bundle2');
  await writeBundle(
    bundle2,
    defaultSpec({ args: image.config.config?.Cmd ?? [], cwd: '/app', layers: { lower: await store.unpackImage(image), writable: join(dir, 'w2') } }),
  );
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
  const set = spawnSync(defaultFsutilBinary, ['apply', upper], {
    input: Buffer.from('xattr\0moved\0trusted.overlay.redirect\0' + Buffer.from('/etc').toString('hex') + '\0'),
  });
  t.is(set.status, 0, String(set.stderr));
  const e = await t.throwsAsync(commitContainer(store, { image: 'busybox', upper, fsutil: defaultFsutilBinary }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_LAYER_INVALID', String(e));
  t.regex(e?.message ?? '', /cannot commit moved: overlayfs marked it with trusted\.overlay\.redirect/);
  t.deepEqual([...store.tags().keys()], ['busybox:latest']);
});

/** name → uid:gid of every entry of the image's top layer, read from the stored blob. */
async function topLayerOwners(store: ImageStore, image: Image): Promise<Record<string, string>> {
  return Object.fromEntries((await topLayerHeaders(store, image)).map((h) => [h.name, `${h.uid}:${h.gid}`]));
}

test("a user-namespaced container's commit: host ids in the upper directory become the container's ids in the layer; an id outside the map is refused", async (t) => {
  requireRoot('berth-runtime with a user namespace');
  const dir = await tempDir(t, 'berth-commit-userns-');
  const store = await ImageStore.open(join(dir, 'images'));
  const busybox = await buildBusyboxImage(store);
  const rt = await useRuntime(t);
  const hostId = 300_000 + 65_536 * Math.floor(Math.random() * 8);
  const userns = { hostId, size: 65_536 };
  const id = containerId();
  const writable = join(dir, 'writable');
  const bundle = join(dir, 'bundle');
  const asRoot = 'echo r > /by-root && mkdir -p /home/u && chown 1000:1000 /home/u && rm /bin/vi && touch /ready && exec sleep 60';
  await writeBundle(bundle, defaultSpec({ args: ['sh', '-c', asRoot], layers: { lower: await store.unpackImage(busybox), writable }, userns }));
  const created = rt.run(['run', '-d', '--bundle', bundle, id]);
  t.is(created.status, 0, created.stderr);
  const upper = join(writable, 'upper');
  await waitFor("the container's root writes", async () => (await stat(join(upper, 'ready')).catch(() => undefined)) && true);
  // uid 1000 writes its own files, through exec with a process whose user is 1000:1000.
  const proc = join(dir, 'process.json');
  await writeFile(
    proc,
    JSON.stringify({
      args: ['sh', '-c', 'id -u && echo u > /home/u/by-user && mkdir /home/u/d'],
      cwd: '/',
      user: { uid: 1000, gid: 1000 },
      env: ['PATH=/bin:/usr/bin'],
    }),
  );
  const e = rt.run(['exec', '--process', proc, id]);
  t.is(e.status, 0, e.stderr);
  t.is(e.stdout, '1000\n');
  t.is((await stat(join(upper, 'by-root'))).uid, hostId, 'the upper directory holds host ids');
  t.is((await stat(join(upper, 'home', 'u', 'by-user'))).uid, hostId + 1000);

  const image = await commitContainer(store, { image: 'busybox', upper, tag: 'userns-commit:v1', fsutil: defaultFsutilBinary, idMap: userns });
  const owners = await topLayerOwners(store, image);
  t.like(owners, { 'by-root': '0:0', 'home/': '0:0', 'home/u/': '1000:1000', 'home/u/by-user': '1000:1000', 'home/u/d/': '1000:1000', 'bin/.wh.vi': '0:0' });
  t.false(
    Object.values(owners).some((o) => o.split(':').some((n) => Number(n) >= 65_536)),
    `no host id in the layer: ${JSON.stringify(owners)}`,
  );

  // A file changed from outside the container (a host id the map does not cover) is refused, naming it.
  await chown(join(upper, 'home', 'u', 'by-user'), 5, 5);
  const refused = await t.throwsAsync(commitContainer(store, { image: 'busybox', upper, tag: 'userns-commit:v2', fsutil: defaultFsutilBinary, idMap: userns }));
  t.true(isBerthError(refused) && refused.code === 'E_IMAGE_LAYER_INVALID', String(refused));
  t.is(
    refused?.message,
    `cannot commit home/u/by-user: its owner is host id 5, outside the container's user namespace (host ${hostId}-${hostId + 65_535} as 0-65535), so the container did not write it that way`,
  );
  t.deepEqual([...store.tags().keys()].sort(), ['busybox:latest', 'userns-commit:v1']);
  t.is(rt.run(['delete', '--force', id]).status, 0);

  // The new image runs, in another user namespace, with the same owners inside.
  const id2 = containerId();
  const bundle2 = join(dir, 'bundle2');
  const check = 'stat -c "%u:%g %n" /by-root /home/u /home/u/by-user /home/u/d; cat /home/u/by-user; test -e /bin/vi || echo no vi';
  await writeBundle(
    bundle2,
    defaultSpec({
      args: ['sh', '-c', check],
      layers: { lower: await store.unpackImage(image), writable: join(dir, 'w2') },
      userns: { hostId: hostId + 65_536 * 8, size: 65_536 },
    }),
  );
  const run = rt.run(['run', '--bundle', bundle2, id2]);
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout, '0:0 /by-root\n1000:1000 /home/u\n1000:1000 /home/u/by-user\n1000:1000 /home/u/d\nu\nno vi\n');
  t.deepEqual(await readdir(join(store.root, 'ingest')), []);
});
