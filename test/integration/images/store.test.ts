/**
 * The image store on real files: blobs verified on write and read, tags, unpacked layers
 * shared between images, crash leftovers discarded, a full disk, garbage collection.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorCode } from '../../../server/core/index.js';
import { isBerthError } from '../../../server/core/errors.js';
import { buildImage, ImageStore, type Image } from '../../../server/images/index.js';
import { sha256 } from '../../../server/images/digest.js';
import { requireRoot } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { tarball } from '../../helpers/tarball.js';

async function openStore(t: ExecutionContext): Promise<ImageStore> {
  requireRoot('the image store (layers keep numeric owners)');
  return ImageStore.open(join(await tempDir(t, 'berth-images-'), 'images'));
}

async function codeOf(t: ExecutionContext, p: Promise<unknown>): Promise<ErrorCode | undefined> {
  const e = await t.throwsAsync(p);
  return isBerthError(e) ? e.code : undefined;
}

const base = () =>
  tarball([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/base', content: 'base' },
    { name: 'etc/os', content: 'berth' },
  ]);
const app = (n: string) =>
  tarball([
    { name: 'app/', type: 'directory' },
    { name: `app/${n}`, content: n },
    { name: 'etc/.wh.os', content: '' },
  ]);

async function twoImages(store: ImageStore): Promise<[Image, Image]> {
  const b = await base();
  const one = await buildImage(store, { layers: [b, await app('one')], tags: ['one'], created: '2026-01-01T00:00:00Z' });
  const two = await buildImage(store, { layers: [b, await app('two')], tags: ['two:v1'], created: '2026-01-01T00:00:00Z', compression: 'zstd' });
  return [one, two];
}

test('the store is an OCI layout: oci-layout, index.json with ref.name tags, blobs by sha256', async (t) => {
  const store = await openStore(t);
  const [one] = await twoImages(store);
  t.deepEqual(JSON.parse(await readFile(join(store.root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  t.deepEqual(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']).sort(), ['one:latest', 'two:v1']);
  for (const hex of await readdir(join(store.root, 'blobs', 'sha256'))) {
    t.is(sha256(await readFile(join(store.root, 'blobs', 'sha256', hex))), `sha256:${hex}`);
  }
  t.is((await store.resolve('one')).digest, one.digest);
  t.is((await store.resolve('one:latest')).digest, one.digest);
  t.is((await store.resolve(one.digest)).digest, one.digest);
  t.is((await store.resolve(`one@${one.digest}`)).digest, one.digest);
  t.deepEqual(
    (await store.list()).map((i) => i.tags),
    [['one:latest'], ['two:v1']],
  );
});

test('two images sharing a base share its blob and its unpacked directory', async (t) => {
  const store = await openStore(t);
  const [one, two] = await twoImages(store);
  const dirsOne = await store.unpackImage(one);
  const dirsTwo = await store.unpackImage(two);
  t.is(dirsOne.length, 2);
  t.is(dirsOne[1], dirsTwo[1], 'the same base directory (keyed by diff_id, whatever the compression)');
  t.not(dirsOne[0], dirsTwo[0]);
  t.is(await readFile(join(dirsOne[0] as string, 'app', 'one'), 'utf8'), 'one');
  t.true((await stat(join(dirsOne[0] as string, 'etc', 'os'))).isCharacterDevice(), 'whiteout');
  t.is((await readdir(join(store.root, 'layers', 'sha256'))).length, 3);
  t.deepEqual(await readdir(join(store.root, 'layers', 'tmp')), []);
  // Layers run: the two directories stacked by overlayfs, as berth-runtime mounts them.
  const mnt = await tempDir(t, 'berth-ovl-');
  const r = spawnSync(
    'unshare',
    ['-m', 'sh', '-c', 'mount -t overlay overlay -o "lowerdir=$1" "$2" && ls "$2" "$2/app" "$2/etc"', 'sh', dirsTwo.join(':'), mnt],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /app:\ntwo\n/);
  t.regex(r.stdout, /etc:\n$/, '/etc/os is whited out');
});

test('a blob is verified on write: a wrong digest or size stores nothing', async (t) => {
  const store = await openStore(t);
  const bytes = Buffer.from('hello');
  t.is(await codeOf(t, store.writeBlob(bytes, { digest: sha256('other') })), 'E_IMAGE_DIGEST_MISMATCH');
  t.is(
    await codeOf(
      t,
      store.writeBlob(
        (async function* () {
          yield bytes;
        })(),
        { digest: sha256('other') },
      ),
    ),
    'E_IMAGE_DIGEST_MISMATCH',
  );
  t.is(await codeOf(t, store.writeBlob(bytes, { digest: sha256(bytes), size: 4 })), 'E_IMAGE_DIGEST_MISMATCH');
  t.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), []);
  t.deepEqual(await readdir(join(store.root, 'ingest')), [], 'no temp file left');
  t.is(
    (
      await store.writeBlob(
        (async function* () {
          yield bytes;
        })(),
        { digest: sha256(bytes), size: 5 },
      )
    ).digest,
    sha256(bytes),
  );
});

test('a corrupt blob is reported, never used: not read, not unpacked', async (t) => {
  const store = await openStore(t);
  const [one] = await twoImages(store);
  const layer = one.manifest.layers[1];
  if (!layer) throw new Error('no layer');
  await appendFile(store.blobPath(layer.digest), 'x');
  t.is(await codeOf(t, store.readBlob(layer.digest)), 'E_IMAGE_BLOB_CORRUPT');
  const e = await t.throwsAsync(store.unpackImage(one));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_BLOB_CORRUPT', String(e));
  t.false(existsSync(store.layerDir(one.config.rootfs.diff_ids[1] as string)), 'the corrupt layer is not in layers/');
  t.deepEqual(await readdir(join(store.root, 'layers', 'tmp')), []);
  await appendFile(store.blobPath(one.configDigest), ' ');
  t.is(await codeOf(t, store.resolve('one')), 'E_IMAGE_BLOB_CORRUPT');
});

test('a layer whose content does not match its diff_id is not unpacked', async (t) => {
  const store = await openStore(t);
  const layerTar = await base();
  const blob = await store.writeBlob(layerTar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('not the layer')] } }));
  const c = await store.writeBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: c.digest, size: c.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blob.digest, size: blob.size }],
    }),
  );
  const image = await store.addImage(manifest, ['liar']);
  t.is(await codeOf(t, store.unpackImage(image)), 'E_IMAGE_DIGEST_MISMATCH');
  t.deepEqual(await readdir(join(store.root, 'layers', 'sha256')), []);
});

test('a missing tag names the tags that exist', async (t) => {
  const store = await openStore(t);
  await twoImages(store);
  const e = await t.throwsAsync(store.resolve('two:v2'));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_NOT_FOUND');
  t.regex(e?.message ?? '', /no image two:v2 in the store \(tags of two: two:v1\)/);
  const e2 = await t.throwsAsync(store.resolve('three'));
  t.regex(e2?.message ?? '', /images in the store: one:latest, two:v1/);
  t.is(await codeOf(t, store.resolve('Bad Name')), 'E_IMAGE_REFERENCE_INVALID');
});

test('tag and untag; index.json is replaced atomically and survives a reopen', async (t) => {
  const store = await openStore(t);
  const [one] = await twoImages(store);
  await store.tag('one', '127.0.0.1:5000/team/one:v9');
  await store.untag('one:latest');
  const again = await ImageStore.open(store.root);
  t.deepEqual([...again.tags().keys()].sort(), ['127.0.0.1:5000/team/one:v9', 'two:v1']);
  t.is((await again.resolve('127.0.0.1:5000/team/one:v9')).digest, one.digest);
  t.is(await codeOf(t, again.untag('one:latest')), 'E_IMAGE_NOT_FOUND');
  t.deepEqual(
    (await readdir(store.root)).filter((n) => n.includes('tmp')),
    [],
  );
});

test('what a crash leaves half-written (ingest/, layers/tmp/, index temp files) is discarded at open', async (t) => {
  const store = await openStore(t);
  await twoImages(store);
  await writeFile(join(store.root, 'ingest', 'blob-deadbeef'), 'half a blob');
  await mkdir(join(store.root, 'layers', 'tmp', 'abc', 'usr'), { recursive: true });
  await writeFile(join(store.root, '.index.json.berth-tmp-123456'), '{"half');
  const again = await ImageStore.open(store.root);
  t.deepEqual(await readdir(join(again.root, 'ingest')), []);
  t.deepEqual(await readdir(join(again.root, 'layers', 'tmp')), []);
  t.false(existsSync(join(store.root, '.index.json.berth-tmp-123456')));
  t.deepEqual([...again.tags().keys()].sort(), ['one:latest', 'two:v1']);
});

test('a full disk is E_IMAGE_DISK_FULL and leaves the store consistent', async (t) => {
  requireRoot('mounting a small tmpfs');
  const dir = await tempDir(t, 'berth-full-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  t.is(r.status, 0, String(r.stderr));
  t.teardown(() => void spawnSync('umount', ['-l', dir]));
  const store = await ImageStore.open(join(dir, 'images'));
  const small = await store.writeBlob(Buffer.from('small'));
  const big = Buffer.alloc(2 * 1024 * 1024, 7);
  t.is(await codeOf(t, store.writeBlob(big)), 'E_IMAGE_DISK_FULL');
  t.is(
    await codeOf(
      t,
      store.writeBlob(
        (async function* () {
          yield big;
        })(),
      ),
    ),
    'E_IMAGE_DISK_FULL',
  );
  t.deepEqual(await readdir(join(store.root, 'ingest')), []);
  t.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), [small.digest.slice(7)]);
  t.is((await store.readBlob(small.digest)).toString(), 'small');
  const again = await ImageStore.open(store.root);
  t.deepEqual([...again.tags()], []);
});

test('a disk that fills up while a layer unpacks is E_IMAGE_DISK_FULL; the half-unpacked layer is removed', async (t) => {
  requireRoot('mounting a small tmpfs');
  const dir = await tempDir(t, 'berth-full-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  t.is(r.status, 0, String(r.stderr));
  t.teardown(() => void spawnSync('umount', ['-l', dir]));
  const store = await ImageStore.open(join(dir, 'images'));
  // 4 MB of zeros: a few kB as gzip in the store, too big once unpacked.
  const image = await buildImage(store, { layers: [await tarball([{ name: 'big', content: Buffer.alloc(4 * 1024 * 1024) }])], tags: ['big'] });
  const e = await t.throwsAsync(store.unpackImage(image));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_DISK_FULL', String(e));
  t.regex(e?.message ?? '', /no space left while unpacking layer 1\/1 of big:latest/);
  t.deepEqual(await readdir(join(store.root, 'layers', 'tmp')), []);
  t.deepEqual(await readdir(join(store.root, 'layers', 'sha256')), []);
  t.is((await store.resolve('big')).digest, image.digest, 'the image itself is intact');
});

test('garbage collection keeps tagged images, caller roots and leases; removes the rest', async (t) => {
  const store = await openStore(t);
  const [one, two] = await twoImages(store);
  await store.unpackImage(one);
  await store.unpackImage(two);
  const loose = await store.writeBlob(Buffer.from('unreferenced'));
  const leased = await store.writeBlob(Buffer.from('in flight'));
  const lease = store.lease([leased.digest]);

  const first = await store.gc();
  t.deepEqual(first.removedBlobs, [loose.digest]);
  t.deepEqual(first.removedLayers, []);

  await store.untag('two:v1');
  const kept = await store.gc([two.digest]); // a release still points at two
  t.deepEqual(kept.removedBlobs, []);
  t.true(await store.hasLayer(two.config.rootfs.diff_ids[1] as string));

  lease.release();
  const second = await store.gc();
  const twoOnly = [two.digest, two.configDigest, (two.manifest.layers[0] as { digest: string }).digest, (two.manifest.layers[1] as { digest: string }).digest];
  t.deepEqual(second.removedBlobs.sort(), [...twoOnly.filter((d) => d !== one.manifest.layers[0]?.digest), leased.digest].sort());
  t.deepEqual(second.removedLayers, [two.config.rootfs.diff_ids[1]], 'the shared base layer stays');
  t.true(second.freedBytes > 0);
  t.true(await store.hasLayer(one.config.rootfs.diff_ids[0] as string));
  t.deepEqual((await store.unpackImage(await store.resolve('one'))).length, 2, 'the kept image still unpacks');
  t.is(await codeOf(t, store.gc(['nothing:here'])), 'E_IMAGE_NOT_FOUND', 'a root naming nothing is an error, not ignored');
});
