/**
 * Commit leaves out the mount points the runtime made (docs/images.md, "Commit"): the empty
 * /etc/hosts, /etc/resolv.conf and /etc/hostname on busybox (which has none), and /proc,
 * /dev, /sys and /etc itself on a scratch image; what the program wrote is kept, a path the
 * image has is kept when the container changed it, and what a program writes to a
 * bind-mounted /etc/hosts goes to the runtime's file, not to the writable layer.
 */
import test from 'ava';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { buildImage, busyboxLayer, type ImageStore } from '../../../server/images/index.js';
import { until, useContainers, type ContainerEnv } from '../../helpers/containers.js';
import { topLayerHeaders } from '../../helpers/tarball.js';

/** `name type mode size` of every entry of the image's top layer, in tar order. */
async function topLayer(store: ImageStore, digest: string): Promise<string[]> {
  const headers = await topLayerHeaders(store, await store.image(digest));
  return headers.map((h) => `${h.name} ${h.type} ${(h.mode ?? 0).toString(8)} ${h.size ?? 0}`);
}

/** Run `cmd` in a new container of `image` to its end, commit it (tagged `reference`); its id, the commit's digest and its log. */
async function runAndCommit(c: ContainerEnv, image: string, cmd: string[], reference?: string): Promise<{ id: string; digest: string; log: string }> {
  const r = await c.api('POST', '/v1/containers', { image, cmd });
  if (r.status !== 201) throw new Error(r.text);
  const id = r.body.id as string;
  await c.api('POST', `/v1/containers/${id}/start`);
  await until('exit', async () => (await c.api('GET', `/v1/containers/${id}`)).body.state === 'exited');
  const commit = await c.api('POST', `/v1/containers/${id}/commit`, reference === undefined ? {} : { reference });
  if (commit.status !== 201) throw new Error(commit.text);
  const log = (await c.api('GET', `/v1/containers/${id}/logs`)).text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { line: { log: string } }).line.log)
    .join('');
  return { id, digest: commit.body.digest as string, log };
}

test('busybox: the empty /etc files the runtime mounted on are left out; what the program wrote, and an /etc it changed, are kept', async (t) => {
  const c = await useContainers(t);
  const wrote = await runAndCommit(c, 'busybox', [
    'sh',
    '-c',
    'echo written > /etc/written && touch /etc/empty && mkdir /made && echo "10.9.9.9 extra" >> /etc/hosts && grep -c extra /etc/hosts',
  ]);
  t.is(wrote.log, '1\n', 'the program wrote to its /etc/hosts');
  const upper = join(c.home, 'containers', wrote.id, 'rw', 'upper');
  t.is((await stat(join(upper, 'etc/hosts'))).size, 0, "the line went to the runtime's file: the upper directory's mount point is still empty");
  t.deepEqual(await topLayer(c.store, wrote.digest), ['etc/ directory 755 0', 'etc/empty file 644 0', 'etc/written file 644 8', 'made/ directory 755 0']);

  const nothing = await runAndCommit(c, 'busybox', ['true']);
  t.deepEqual(await topLayer(c.store, nothing.digest), [], 'nothing but mount points (and the /etc copied up for them): an empty layer');

  const chmod = await runAndCommit(c, 'busybox', ['chmod', '700', '/etc']);
  t.deepEqual(await topLayer(c.store, chmod.digest), ['etc/ directory 700 0'], "the image's /etc with the container's mode is kept, its mount points are not");

  for (const id of [wrote.id, nothing.id, chmod.id]) await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});

/** An uncompressed layer of `entries` (a file's content as a string). */
async function layerOf(
  entries: { name: string; type?: 'directory' | 'symlink'; mode: number; content?: string | Buffer; linkname?: string }[],
): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (b: unknown) => chunks.push(b as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    if (e.content === undefined) p.entry({ name: e.name, type: e.type ?? 'directory', mode: e.mode, ...(e.linkname ? { linkname: e.linkname } : {}) });
    else p.entry({ name: e.name, mode: e.mode }, typeof e.content === 'string' ? Buffer.from(e.content) : e.content);
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

test("an /etc/hosts an image's lower layer has but an opaque /etc above hides: the runtime's empty one is left out", async (t) => {
  const c = await useContainers(t);
  const layers = [
    (await busyboxLayer()).tar,
    await layerOf([{ name: 'etc/hosts', mode: 0o644, content: '10.1.1.1 hidden\n' }]),
    await layerOf([
      { name: 'etc/', mode: 0o755 },
      { name: 'etc/.wh..wh..opq', mode: 0o644, content: '' },
      { name: 'etc/passwd', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/sh\n' },
    ]),
  ];
  await buildImage(c.store, { layers, config: { Env: ['PATH=/bin'] }, tags: ['opaque-etc:1'] });
  const r = await runAndCommit(c, 'opaque-etc:1', ['sh', '-c', 'grep -c hidden /etc/hosts; ls /etc']);
  t.is(r.log, '0\nhostname\nhosts\npasswd\nresolv.conf\n', "the container sees the runtime's files and the image's passwd");
  t.deepEqual(await topLayer(c.store, r.digest), [], 'the image lacks /etc/hosts (the opaque /etc hides the lower one): the mount points are left out');
  await c.api('DELETE', `/v1/containers/${r.id}`);
  t.deepEqual(c.leftovers(), []);
});

test('a scratch image: /proc, /dev, /sys and the /etc made for the network files are left out; a file written in /etc keeps /etc', async (t) => {
  const c = await useContainers(t);
  const scratch = await layerOf([
    { name: 'bin/', mode: 0o755 },
    { name: 'bin/busybox', mode: 0o755, content: await readFile('/bin/busybox') },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777 },
  ]);
  await buildImage(c.store, { layers: [scratch], config: { Env: ['PATH=/bin'] }, tags: ['scratchy:1'] });

  const nothing = await runAndCommit(c, 'scratchy:1', ['sh', '-c', 'test -d /proc/self && test -f /etc/hosts && echo mounted']);
  t.is(nothing.log, 'mounted\n');
  const upper = join(c.home, 'containers', nothing.id, 'rw', 'upper');
  for (const made of ['proc', 'dev', 'sys', 'etc', 'etc/hosts', 'etc/resolv.conf', 'etc/hostname']) {
    await t.notThrowsAsync(stat(join(upper, made)), `the runtime made /${made} in the upper directory`);
  }
  t.deepEqual(await topLayer(c.store, nothing.digest), []);

  const wrote = await runAndCommit(c, 'scratchy:1', ['sh', '-c', 'echo written > /etc/written'], 'scratchy:2');
  t.deepEqual(await topLayer(c.store, wrote.digest), ['etc/ directory 755 0', 'etc/written file 644 8']);

  // The committed image has no mount points of its own, and still runs.
  const again = await runAndCommit(c, 'scratchy:2', ['sh', '-c', 'cat /etc/written']);
  t.is(again.log, 'written\n');
  t.deepEqual(await topLayer(c.store, again.digest), []);

  for (const id of [nothing.id, wrote.id, again.id]) await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});
