/**
 * Import and export against skopeo, the oracle: what Berth exports, skopeo reads with the
 * same digests; what skopeo writes (OCI archive, docker archive, OCI layout directory),
 * Berth imports with the same digests. Broken and tampered archives store nothing.
 */
import test, { type ExecutionContext } from 'ava';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ErrorCode } from '../../../server/core/index.js';
import { isBerthError } from '../../../server/core/errors.js';
import { buildBusyboxImage, buildImage, exportOciArchive, ImageStore, importArchive, type Image } from '../../../server/images/index.js';
import { exportDockerArchive, importLayoutDirectory } from '../../../server/images/archive.js';
import { sha256 } from '../../../server/images/digest.js';
import { requireRoot } from '../../helpers/prereq.js';
import { skopeo } from '../../helpers/skopeo.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { tarball } from '../../helpers/tarball.js';

interface Fixture {
  dir: string;
  store: ImageStore;
  busybox: Image;
  app: Image;
}

async function fixture(t: ExecutionContext): Promise<Fixture> {
  requireRoot('the image store');
  const dir = await tempDir(t, 'berth-archive-');
  const store = await ImageStore.open(join(dir, 'images'));
  const busybox = await buildBusyboxImage(store);
  const busyboxTar = await readFile(await firstLayerTar(store, busybox));
  const appLayer = await tarball([
    { name: 'app/', type: 'directory' },
    { name: 'app/run', content: '#!/bin/sh\necho app\n', mode: 0o755 },
    { name: 'bin/.wh.vi', content: '' },
  ]);
  const app = await buildImage(store, {
    layers: [busyboxTar, appLayer],
    compression: 'zstd',
    config: { Cmd: ['/app/run'], Env: ['PATH=/bin'], WorkingDir: '/app', Labels: { 'org.example': 'yes' } },
    created: '2026-01-02T03:04:05Z',
    tags: ['127.0.0.1:5000/team/app:v1'],
  });
  return { dir, store, busybox, app };
}

/** The busybox layer as an uncompressed tar (through a docker export, which decompresses). */
async function firstLayerTar(store: ImageStore, image: Image): Promise<string> {
  const dir = join(store.root, '..', `x-${Date.now()}`);
  const out = `${dir}.tar`;
  await exportDockerArchive(store, [image.digest], createWriteStream(out));
  skopeo(['copy', `docker-archive:${out}`, `dir:${dir}`]);
  return join(dir, image.config.rootfs.diff_ids[0]?.slice(7) ?? '');
}

async function codeOf(t: ExecutionContext, p: Promise<unknown>): Promise<ErrorCode | undefined> {
  const e = await t.throwsAsync(p);
  return isBerthError(e) ? e.code : undefined;
}

test('an OCI archive exported by Berth is read by skopeo with the same manifest, config and layer digests', async (t) => {
  const f = await fixture(t);
  const out = join(f.dir, 'app.oci.tar');
  await exportOciArchive(f.store, ['127.0.0.1:5000/team/app:v1', 'busybox'], createWriteStream(out));
  for (const [image, tag] of [
    [f.app, '127.0.0.1:5000/team/app:v1'],
    [f.busybox, 'busybox:latest'],
  ] as const) {
    const raw = skopeo(['inspect', '--raw', `oci-archive:${out}:${tag}`]);
    t.is(sha256(raw), image.digest, `${tag}: manifest digest`);
    t.is(sha256(skopeo(['inspect', '--config', '--raw', `oci-archive:${out}:${tag}`])), image.configDigest, `${tag}: config digest`);
  }
  // skopeo copies it to an OCI layout unchanged (it verifies every blob on the way).
  skopeo(['copy', `oci-archive:${out}:127.0.0.1:5000/team/app:v1`, `oci:${join(f.dir, 'layout')}:app`]);
  const index = JSON.parse(await readFile(join(f.dir, 'layout', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  t.is(index.manifests[0]?.digest, f.app.digest);
});

test('a docker archive exported by Berth is read by skopeo with the same config digest and diff_ids', async (t) => {
  const f = await fixture(t);
  const out = join(f.dir, 'app.docker.tar');
  await exportDockerArchive(f.store, ['127.0.0.1:5000/team/app:v1'], createWriteStream(out));
  t.is(sha256(skopeo(['inspect', '--config', '--raw', `docker-archive:${out}`])), f.app.configDigest);
  const info = JSON.parse(skopeo(['inspect', `docker-archive:${out}`])) as { Layers: string[]; Labels: Record<string, string> };
  t.deepEqual(info.Layers, f.app.config.rootfs.diff_ids, 'layers are the uncompressed tars: their digests are the diff_ids');
  t.deepEqual(info.Labels, { 'org.example': 'yes' });
});

test('the store itself is an OCI layout skopeo reads', async (t) => {
  const f = await fixture(t);
  t.is(sha256(skopeo(['inspect', '--raw', `oci:${f.store.root}:busybox:latest`])), f.busybox.digest);
});

test('what skopeo writes (OCI archive, docker archive, OCI directory) Berth imports with the same digests', async (t) => {
  const f = await fixture(t);
  const src = `oci:${f.store.root}:127.0.0.1:5000/team/app:v1`;
  const ociTar = join(f.dir, 's.oci.tar');
  const dockerTar = join(f.dir, 's.docker.tar');
  const layout = join(f.dir, 's.layout');
  skopeo(['copy', src, `oci-archive:${ociTar}:imported/app:v2`]);
  skopeo(['copy', '--dest-compress-format', 'gzip', src, `oci:${layout}:imported/app:v4`]);
  // skopeo 1.9 cannot turn zstd layers into a docker image: it starts from its gzip copy.
  skopeo(['copy', `oci:${layout}:imported/app:v4`, `docker-archive:${dockerTar}:imported/app:v3`]);

  const fresh = await ImageStore.open(join(f.dir, 'fresh'));
  const [fromOci] = await importArchive(fresh, createReadStream(ociTar), { what: 's.oci.tar' });
  t.is(fromOci?.digest, f.app.digest, 'OCI archive: the manifest digest is kept');
  t.deepEqual(fromOci?.tags, ['imported/app:v2']);

  const [fromDocker] = await importArchive(fresh, createReadStream(dockerTar), { what: 's.docker.tar' });
  t.is(fromDocker?.configDigest, f.app.configDigest, 'docker archive: the config digest is kept');
  t.deepEqual(fromDocker?.config.rootfs.diff_ids, f.app.config.rootfs.diff_ids);
  t.deepEqual(fromDocker?.tags, ['imported/app:v3'], 'docker.io/ added by skopeo is taken off again');

  const [fromDir] = await importLayoutDirectory(fresh, layout, { what: 's.layout' });
  const skopeoIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  t.is(fromDir?.digest, skopeoIndex.manifests[0]?.digest, "OCI directory: skopeo's manifest (recompressed) kept");
  t.deepEqual(fromDir?.config.rootfs.diff_ids, f.app.config.rootfs.diff_ids, 'recompressed, the same diff_ids');

  // Every one of them unpacks and shares the layers with the others.
  for (const image of [fromOci, fromDocker, fromDir]) await fresh.unpackImage(image as Image);
  t.is((await readdir(join(fresh.root, 'layers', 'sha256'))).length, 2);
  t.deepEqual(await readdir(join(fresh.root, 'ingest')), [], 'nothing left staged');
  // …and goes back out to skopeo unchanged.
  const back = join(f.dir, 'back.oci.tar');
  await exportOciArchive(fresh, ['imported/app:v2'], createWriteStream(back));
  t.is(sha256(skopeo(['inspect', '--raw', `oci-archive:${back}:imported/app:v2`])), f.app.digest);
});

test('Berth to Berth: OCI export then import keeps the digest; docker export then import keeps config and diff_ids', async (t) => {
  const f = await fixture(t);
  const oci = join(f.dir, 'rt.oci.tar');
  const docker = join(f.dir, 'rt.docker.tar');
  await exportOciArchive(f.store, ['busybox'], createWriteStream(oci));
  await exportDockerArchive(f.store, ['busybox'], createWriteStream(docker));
  const other = await ImageStore.open(join(f.dir, 'other'));
  t.is((await importArchive(other, createReadStream(oci), { what: 'rt.oci.tar', tag: 'copy:oci' }))[0]?.digest, f.busybox.digest);
  const [d] = await importArchive(other, createReadStream(docker), { what: 'rt.docker.tar' });
  t.is(d?.configDigest, f.busybox.configDigest);
  t.deepEqual([...other.tags().keys()].sort(), ['busybox:latest', 'copy:oci']);
});

// ---- bad archives: a clear error, and the store as it was

async function assertUntouched(t: ExecutionContext, store: ImageStore, tags: string[]): Promise<void> {
  t.deepEqual([...store.tags().keys()].sort(), tags);
  t.deepEqual(await readdir(join(store.root, 'ingest')), [], 'nothing left staged');
}

test('a truncated archive, a missing member and a non-archive are E_IMAGE_ARCHIVE_INVALID', async (t) => {
  const f = await fixture(t);
  const oci = join(f.dir, 'ok.oci.tar');
  await exportOciArchive(f.store, ['busybox'], createWriteStream(oci));
  const bytes = await readFile(oci);
  const store = await ImageStore.open(join(f.dir, 'target'));
  t.is(await codeOf(t, importArchive(store, Readable.from([bytes.subarray(0, 5000)]), { what: 'truncated.tar' })), 'E_IMAGE_ARCHIVE_INVALID');
  t.is(await codeOf(t, importArchive(store, Readable.from([Buffer.from('not a tar at all, just text')]), { what: 'text' })), 'E_IMAGE_ARCHIVE_INVALID');
  const missing = await tarball([{ name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['l.tar'] }]) }]);
  const e = await t.throwsAsync(importArchive(store, Readable.from([missing]), { what: 'missing.tar' }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_ARCHIVE_INVALID');
  t.regex(e?.message ?? '', /missing\.tar has no member "c\.json"/);
  const neither = await tarball([{ name: 'hello.txt', content: 'hi' }]);
  t.is(await codeOf(t, importArchive(store, Readable.from([neither]), { what: 'neither.tar' })), 'E_IMAGE_ARCHIVE_INVALID');
  await assertUntouched(t, store, []);
  t.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), []);
});

test('a tampered layer is E_IMAGE_DIGEST_MISMATCH in both formats, and nothing is tagged', async (t) => {
  const f = await fixture(t);
  const store = await ImageStore.open(join(f.dir, 'target'));
  const config = await f.store.readBlob(f.busybox.configDigest);
  const evil = await tarball([{ name: 'bin/sh', content: 'evil' }]);
  const docker = await tarball([
    { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: ['l.tar'] }]) },
    { name: 'c.json', content: config },
    { name: 'l.tar', content: evil },
  ]);
  t.is(await codeOf(t, importArchive(store, Readable.from([docker]), { what: 'evil.docker.tar' })), 'E_IMAGE_DIGEST_MISMATCH');

  const manifest = await f.store.readBlob(f.busybox.digest);
  const layerDigest = f.busybox.manifest.layers[0]?.digest ?? '';
  const oci = await tarball([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    {
      name: 'index.json',
      content: JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: f.busybox.digest,
            size: manifest.length,
            annotations: { 'org.opencontainers.image.ref.name': 'evil:2' },
          },
        ],
      }),
    },
    { name: `blobs/sha256/${f.busybox.digest.slice(7)}`, content: manifest },
    { name: `blobs/sha256/${f.busybox.configDigest.slice(7)}`, content: config },
    { name: `blobs/sha256/${layerDigest.slice(7)}`, content: evil },
  ]);
  const e = await t.throwsAsync(importArchive(store, Readable.from([oci]), { what: 'evil.oci.tar' }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_DIGEST_MISMATCH', String(e));
  t.regex(e?.message ?? '', new RegExp(`evil\\.oci\\.tar: layer 1 .* should have digest ${layerDigest}`));
  await assertUntouched(t, store, []);
  t.false(existsSync(store.blobPath(layerDigest)));
});

test('an archive written to a file and read back through a pipe works the same', async (t) => {
  const f = await fixture(t);
  const out = join(f.dir, 'pipe.tar');
  await exportOciArchive(f.store, ['127.0.0.1:5000/team/app:v1'], createWriteStream(out));
  const store = await ImageStore.open(join(f.dir, 'piped'));
  const [image] = await importArchive(store, createReadStream(out, { highWaterMark: 1000 }), { what: 'pipe.tar' });
  t.is(image?.digest, f.app.digest);
  const copy = join(f.dir, 'copy.tar');
  await pipeline(createReadStream(out), createWriteStream(copy));
  t.deepEqual(await readFile(copy), await readFile(out));
});
