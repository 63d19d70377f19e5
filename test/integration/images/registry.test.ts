/**
 * Push and pull against Debian's docker-registry on loopback, with skopeo as the other
 * client: what Berth pushes skopeo copies back unchanged; what skopeo pushes Berth pulls
 * and runs. Blobs already present move once; auth, a corrupt registry blob and an
 * unreachable registry each give their own clear error.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorCode } from '../../../server/core/index.js';
import { isBerthError } from '../../../server/core/errors.js';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildBusyboxImage, buildImage, busyboxLayer, ImageStore, pullImage, pushImage, type Image, type ProgressEvent } from '../../../server/images/index.js';
import { sha256 } from '../../../server/images/digest.js';
import { progressWords } from '../../../server/images/registry.js';
import { defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { requireRoot } from '../../helpers/prereq.js';
import { containerId, useRuntime } from '../../helpers/runtime.js';
import { skopeo } from '../../helpers/skopeo.js';
import { startRegistry } from '../../helpers/start-registry.js';
import { startTokenService } from '../../helpers/token-service.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { tarball } from '../../helpers/tarball.js';
import { freePort } from '../../../server/core/index.js';

async function stores(t: ExecutionContext): Promise<{ dir: string; src: ImageStore; dst: ImageStore; busybox: Image }> {
  requireRoot('the image store');
  const dir = await tempDir(t, 'berth-registry-test-');
  const src = await ImageStore.open(join(dir, 'src'));
  const dst = await ImageStore.open(join(dir, 'dst'));
  return { dir, src, dst, busybox: await buildBusyboxImage(src) };
}

async function codeOf(t: ExecutionContext, p: Promise<unknown>): Promise<ErrorCode | undefined> {
  const e = await t.throwsAsync(p);
  return isBerthError(e) ? e.code : undefined;
}

test('Berth pushes; skopeo copies it back unchanged; Berth pulls it with per-layer progress', async (t) => {
  const { dir, src, dst, busybox } = await stores(t);
  const reg = await startRegistry(t);
  const target = `${reg.host}/team/busybox:v1`;
  const pushed: ProgressEvent[] = [];
  const result = await pushImage(src, 'busybox', target, { onProgress: (e) => pushed.push(e) });
  t.is(result.digest, busybox.digest);
  t.is(result.pushed.length, 2, 'the layer and the config');
  t.true(pushed.some((e) => e.status === 'pushed' && e.kind === 'layer'));

  t.is(sha256(skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${target}`])), busybox.digest);
  skopeo(['copy', '--src-tls-verify=false', `docker://${target}`, `oci:${join(dir, 'back')}:x`]);
  const index = JSON.parse(await readFile(join(dir, 'back', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  t.is(index.manifests[0]?.digest, busybox.digest);

  const events: ProgressEvent[] = [];
  const pulled = await pullImage(dst, target, { onProgress: (e) => events.push(e) });
  t.is(pulled.digest, busybox.digest);
  t.deepEqual(pulled.tags, [target]);
  const layer = busybox.manifest.layers[0]?.digest;
  const forLayer = events.filter((e) => e.digest === layer);
  t.is(forLayer[0]?.status, 'downloading');
  t.is(forLayer.at(-1)?.status, 'downloaded');
  t.is(forLayer.at(-1)?.current, forLayer.at(-1)?.total);
  t.true(forLayer.length > 2, 'byte counts while the layer downloads');

  // Everything is there already: nothing moves again, either way.
  const again = await pushImage(src, 'busybox', target);
  t.deepEqual(again.pushed, []);
  t.is(again.existed.length, 2);
  const second: ProgressEvent[] = [];
  await pullImage(dst, target, { onProgress: (e) => second.push(e) });
  t.deepEqual([...new Set(second.map((e) => e.status))], ['exists']);
});

test('what skopeo pushes, Berth pulls and runs; layers Berth already has are not fetched', async (t) => {
  const { dir, src, dst, busybox } = await stores(t);
  const reg = await startRegistry(t);
  const appLayer = await tarball([{ name: 'hello', content: 'hello from the registry\n' }]);
  // busybox + one app layer, made by Berth into its own store, pushed by skopeo from that OCI layout.
  const app = await buildImage(src, { layers: [(await busyboxLayer()).tar, appLayer], tags: ['app:v1'], config: { Cmd: ['cat', '/hello'] } });
  const base = app.manifest.layers[0]?.digest;
  t.is(base, busybox.manifest.layers[0]?.digest, 'the same busybox layer, byte for byte');
  skopeo(['copy', '--dest-tls-verify=false', `oci:${src.root}:app:v1`, `docker://${reg.host}/sk/app:v1`]);
  skopeo(['copy', '--dest-tls-verify=false', `oci:${src.root}:busybox:latest`, `docker://${reg.host}/sk/busybox:latest`]);

  await pullImage(dst, `${reg.host}/sk/busybox:latest`);
  const events: ProgressEvent[] = [];
  const pulled = await pullImage(dst, `${reg.host}/sk/app:v1`, { onProgress: (e) => events.push(e) });
  t.is(pulled.digest, app.digest);
  t.is(pulled.configDigest, app.configDigest);
  t.deepEqual(
    events.filter((e) => e.digest === base).map((e) => e.status),
    ['exists'],
    'the base layer is not fetched again',
  );
  t.is(events.filter((e) => e.digest === app.manifest.layers[1]?.digest).at(-1)?.status, 'downloaded');

  const lower = await dst.unpackImage(pulled);
  const rt = await useRuntime(t);
  const bundle = join(dir, 'bundle');
  await writeBundle(bundle, defaultSpec({ args: pulled.config.config?.Cmd ?? [], layers: { lower, writable: join(dir, 'w') } }));
  const r = rt.run(['run', '--bundle', bundle, containerId()]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'hello from the registry\n');
});

test('basic auth: the right password works, a wrong one and none are E_IMAGE_REGISTRY_AUTH', async (t) => {
  const { src, dst, busybox } = await stores(t);
  const reg = await startRegistry(t, { users: { alice: 's3cret' } });
  const target = `${reg.host}/private/busybox:1`;
  t.is(await codeOf(t, pushImage(src, 'busybox', target)), 'E_IMAGE_REGISTRY_AUTH');
  const wrong = await t.throwsAsync(pushImage(src, 'busybox', target, { credentials: { username: 'alice', password: 'nope' } }));
  t.true(isBerthError(wrong) && wrong.code === 'E_IMAGE_REGISTRY_AUTH');
  t.is(wrong?.message, `registry ${reg.host} refused the credentials of user alice (401 for GET /v2/): UNAUTHORIZED: authentication required`);
  await pushImage(src, 'busybox', target, { credentials: { username: 'alice', password: 's3cret' } });
  t.is(await codeOf(t, pullImage(dst, target)), 'E_IMAGE_REGISTRY_AUTH');
  t.is((await pullImage(dst, target, { credentials: { username: 'alice', password: 's3cret' } })).digest, busybox.digest);
});

test("bearer tokens: Berth gets one from the registry's token service, with its credentials", async (t) => {
  const { src, dst, busybox } = await stores(t);
  const tokens = await startTokenService(t, { bob: 'hunter2' });
  const reg = await startRegistry(t, { token: tokens });
  const target = `${reg.host}/bob/busybox:1`;
  t.is(await codeOf(t, pushImage(src, 'busybox', target)), 'E_IMAGE_REGISTRY_AUTH', 'anonymous: the token service refuses');
  const wrong = await t.throwsAsync(pushImage(src, 'busybox', target, { credentials: { username: 'bob', password: 'nope' } }));
  t.regex(wrong?.message ?? '', /token service .* refused user bob \(401\)/);
  await pushImage(src, 'busybox', target, { credentials: { username: 'bob', password: 'hunter2' } });
  t.is((await pullImage(dst, target, { credentials: { username: 'bob', password: 'hunter2' } })).digest, busybox.digest);
  t.true(tokens.issued() >= 2);
});

test('a missing tag lists the tags the registry has; a missing repository says so', async (t) => {
  const { src, dst } = await stores(t);
  const reg = await startRegistry(t);
  await pushImage(src, 'busybox', `${reg.host}/bb:one`);
  await pushImage(src, 'busybox', `${reg.host}/bb:two`);
  const e = await t.throwsAsync(pullImage(dst, `${reg.host}/bb:three`));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_NOT_FOUND');
  t.regex(e?.message ?? '', /has no bb:three \(its tags: one, two\)/);
  t.is(await codeOf(t, pullImage(dst, `${reg.host}/nothing:here`)), 'E_IMAGE_NOT_FOUND');
  t.is(await codeOf(t, pullImage(dst, 'busybox')), 'E_IMAGE_REFERENCE_INVALID', 'no registry named');
  t.deepEqual([...dst.tags()], []);
});

test('a blob corrupted in the registry is E_IMAGE_DIGEST_MISMATCH and stores nothing', async (t) => {
  const { src, dst, busybox } = await stores(t);
  const reg = await startRegistry(t);
  await pushImage(src, 'busybox', `${reg.host}/bb:v1`);
  const layer = busybox.manifest.layers[0]?.digest.slice(7) ?? '';
  const data = join(reg.storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', layer.slice(0, 2), layer, 'data');
  const bytes = await readFile(data);
  bytes.writeUInt8((bytes.readUInt8(bytes.length - 100) ^ 0xff) & 0xff, bytes.length - 100);
  await writeFile(data, bytes);
  t.is(await codeOf(t, pullImage(dst, `${reg.host}/bb:v1`)), 'E_IMAGE_DIGEST_MISMATCH');
  t.deepEqual([...dst.tags()], []);
  t.false(await dst.hasBlob(busybox.manifest.layers[0]?.digest ?? ''));
  t.deepEqual(await readdir(join(dst.root, 'ingest')), []);
});

test('an unreachable registry says how long and how often Berth tried', async (t) => {
  const { dst } = await stores(t);
  const port = await freePort();
  const e = await t.throwsAsync(pullImage(dst, `127.0.0.1:${port}/x:y`, { attempts: 3 }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_REGISTRY_UNREACHABLE', String(e));
  t.regex(e?.message ?? '', new RegExp(`cannot reach registry 127\\.0\\.0\\.1:${port} .*ECONNREFUSED.*tried 3 times over \\d+\\.\\d s`));
});

async function storeIsConsistent(t: ExecutionContext, store: ImageStore): Promise<void> {
  t.deepEqual(await readdir(join(store.root, 'ingest')), [], 'nothing half-written in ingest/');
  for (const hex of await readdir(join(store.root, 'blobs', 'sha256'))) {
    t.is(sha256(await readFile(join(store.root, 'blobs', 'sha256', hex))), `sha256:${hex}`, 'every blob in blobs/ is whole');
  }
  t.deepEqual([...store.tags()], [], 'no tag');
}

test('a wrong password on pull: the registry that refused it is named, and nothing is stored', async (t) => {
  const { src, dst } = await stores(t);
  const reg = await startRegistry(t, { users: { alice: 's3cret' } });
  const target = `${reg.host}/private/busybox:1`;
  await pushImage(src, 'busybox', target, { credentials: { username: 'alice', password: 's3cret' } });
  const e = await t.throwsAsync(pullImage(dst, target, { credentials: { username: 'alice', password: 'wrong' } }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_REGISTRY_AUTH', String(e));
  t.is(
    e?.message,
    `registry ${reg.host} refused the credentials of user alice (401 for GET /v2/private/busybox/manifests/1): UNAUTHORIZED: authentication required`,
  );
  t.regex(isBerthError(e) ? e.hint : '', new RegExp(`Check the password of alice for ${reg.host}`));
  t.deepEqual(await readdir(join(dst.root, 'blobs', 'sha256')), []);
  await storeIsConsistent(t, dst);
});

test('a pull that fills the disk is E_IMAGE_DISK_FULL saying where and how much; the store stays consistent, gc and a later pull work', async (t) => {
  const { dir, src } = await stores(t);
  const reg = await startRegistry(t);
  // busybox plus 12 MiB of random bytes (gzip cannot shrink them): more than the 8 MiB disk.
  const big = await buildImage(src, {
    layers: [(await busyboxLayer()).tar, await tarball([{ name: 'big', content: randomBytes(12 * 1024 * 1024) }])],
    tags: ['big:v1'],
  });
  const bigLayer = big.manifest.layers[1];
  if (!bigLayer) throw new Error('no big layer');
  const target = `${reg.host}/team/big:v1`;
  await pushImage(src, 'big:v1', target);

  const disk = join(dir, 'small-disk');
  await mkdir(disk);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk], { encoding: 'utf8' });
  t.is(m.status, 0, m.stderr);
  let store: ImageStore | undefined;
  t.teardown(async () => {
    await store?.close();
    spawnSync('umount', ['-l', disk]);
  });
  store = await ImageStore.open(join(disk, 'images'));
  const e = await t.throwsAsync(pullImage(store, target));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_DISK_FULL', String(e));
  const needed = (bigLayer.size / 1024 / 1024).toFixed(1);
  t.regex(
    e?.message ?? '',
    new RegExp(
      `^no space left on the filesystem of ${store.root} while writing layer ${bigLayer.digest} from ${reg.host} \\(${needed} MiB needed, [\\d.]+ (B|KiB|MiB) free now\\); what was half-written was removed$`,
    ),
  );
  t.regex(isBerthError(e) ? e.hint : '', /berth image:prune.*bigger disk/);
  t.false(await store.hasBlob(bigLayer.digest));
  await storeIsConsistent(t, store);

  // What was whole (the config, the busybox layer) is not referenced by anything: gc takes it.
  const before = await readdir(join(store.root, 'blobs', 'sha256'));
  const gc = await store.gc();
  t.deepEqual(gc.removedBlobs.map((d) => d.slice(7)).sort(), before.sort());
  t.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), []);

  // A bigger disk: the same store pulls the image and unpacks it.
  const r = spawnSync('mount', ['-o', 'remount,size=64m', disk], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const pulled = await pullImage(store, target);
  t.is(pulled.digest, big.digest);
  t.deepEqual(pulled.tags, [target]);
  const [top] = await store.unpackImage(pulled);
  t.is((await readFile(join(top ?? '', 'big'))).length, 12 * 1024 * 1024);
});

interface Seen {
  method: string;
  url: string;
  status: number;
  bytes: number;
}

/** A loopback HTTP proxy in front of the registry that records every request and the body bytes it carried. */
async function countingProxy(t: ExecutionContext, registryPort: number): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    const upstream = request(
      { host: '127.0.0.1', port: registryPort, method: req.method, path: req.url, headers: req.headers as IncomingHttpHeaders },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', () => seen.push({ method: req.method ?? '', url: req.url ?? '', status: up.statusCode ?? 0, bytes }));
      },
    );
    upstream.on('error', (e) => res.destroy(e));
    req.on('data', (b: Buffer) => (bytes += b.length));
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('a push to another repository of the same registry mounts the blobs ("Mounted from a") and uploads no layer byte; a registry that does not mount gets the upload', async (t) => {
  const { src, dst, busybox } = await stores(t);
  const reg = await startRegistry(t);
  const proxy = await countingProxy(t, reg.port);
  const layer = busybox.manifest.layers[0]?.digest ?? '';
  const first = await pushImage(src, 'busybox', `${proxy.host}/a:v1`);
  t.deepEqual(first.pushed.sort(), [layer, busybox.configDigest].sort());
  t.deepEqual(await src.blobSources(layer), [`${proxy.host}/a`], 'the store remembers where the layer went');
  t.true(
    proxy.seen.some((r) => r.method === 'PUT' && r.url.includes('/v2/a/blobs/uploads/') && r.bytes === busybox.manifest.layers[0]?.size),
    'the first push uploads the layer',
  );

  proxy.seen.length = 0;
  const events: ProgressEvent[] = [];
  const second = await pushImage(src, 'busybox', `${proxy.host}/b:v1`, { onProgress: (e) => events.push(e) });
  t.deepEqual(second.pushed, []);
  t.deepEqual(
    second.mounted.map((m) => m.from),
    ['a', 'a'],
  );
  t.deepEqual(events.filter((e) => e.digest === layer).map(progressWords), ['Mounted from a']);
  const mounts = proxy.seen.filter((r) => r.method === 'POST' && r.url.startsWith('/v2/b/blobs/uploads/?mount='));
  t.is(mounts.length, 2);
  t.true(
    mounts.every((r) => r.status === 201 && r.url.endsWith('&from=a')),
    JSON.stringify(mounts),
  );
  const uploads = proxy.seen.filter((r) => (r.method === 'PUT' || r.method === 'PATCH') && r.url.includes('/blobs/uploads/'));
  t.deepEqual(uploads, [], 'no blob upload at all');
  t.deepEqual(
    proxy.seen.filter((r) => r.bytes > 0).map((r) => `${r.method} ${r.url}`),
    ['PUT /v2/b/manifests/v1'],
    'only the manifest carried bytes',
  );
  t.deepEqual(await src.blobSources(layer), [`${proxy.host}/b`, `${proxy.host}/a`]);
  t.is((await pullImage(dst, `${reg.host}/b:v1`)).digest, busybox.digest, 'b really has the image');

  // A repository that does not have the blob: the registry answers 202, and Berth uploads.
  await src.recordBlobSources([layer, busybox.configDigest], `${proxy.host}/nowhere`);
  proxy.seen.length = 0;
  const third = await pushImage(src, 'busybox', `${proxy.host}/c:v1`);
  t.deepEqual(third.mounted, []);
  t.deepEqual(third.pushed.sort(), [layer, busybox.configDigest].sort());
  t.true(proxy.seen.some((r) => r.method === 'POST' && r.url.includes('from=nowhere') && r.status === 202));
  t.true(proxy.seen.some((r) => r.method === 'PUT' && r.url.includes('/v2/c/blobs/uploads/') && r.bytes === busybox.manifest.layers[0]?.size));
  t.is(sha256(skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/c:v1`])), busybox.digest);
});

/**
 * A loopback proxy in front of the registry that sends blob bodies in 16 KiB pieces,
 * `gapMs` apart, after waiting `stallMs` once half of the blob is out.
 */
async function pacingProxy(t: ExecutionContext, registryPort: number, o: { gapMs: number; stallMs: number }): Promise<string> {
  const server = createServer((req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port: registryPort, method: req.method, path: req.url, headers: req.headers as IncomingHttpHeaders },
      (up) => {
        if (!/\/blobs\/sha256:/.test(req.url ?? '') || req.method !== 'GET' || up.statusCode !== 200) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (b: Buffer) => chunks.push(b));
        up.on('end', async () => {
          const all = Buffer.concat(chunks);
          res.writeHead(200, up.headers);
          for (let at = 0, stalled = false; at < all.length && !res.destroyed; at += 16 * 1024) {
            if (!stalled && at >= all.length / 2) {
              stalled = true;
              await new Promise((r) => setTimeout(r, o.stallMs));
            }
            res.write(all.subarray(at, at + 16 * 1024));
            await new Promise((r) => setTimeout(r, o.gapMs));
          }
          res.end();
        });
      },
    );
    upstream.on('error', (e) => res.destroy(e));
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a blob that keeps coming takes as long as it needs; one that stops for timeoutMs fails naming the registry, and stores nothing', async (t) => {
  const { src, dst, busybox } = await stores(t);
  const reg = await startRegistry(t);
  await pushImage(src, 'busybox', `${reg.host}/bb:v1`);
  const layerSize = busybox.manifest.layers[0]?.size ?? 0;
  t.true(layerSize > 40 * 16 * 1024, `the layer (${layerSize} bytes) takes more than 40 pieces`);

  // 50 ms between pieces, 300 ms once: well over the 1 s timeout in all, never idle that long.
  const slow = await pacingProxy(t, reg.port, { gapMs: 50, stallMs: 300 });
  const started = Date.now();
  const pulled = await pullImage(dst, `${slow}/bb:v1`, { timeoutMs: 1000 });
  t.true(Date.now() - started > 1000, 'the pull outlasted the timeout');
  t.is(pulled.digest, busybox.digest);

  const other = await ImageStore.open(join(dst.root, '..', 'other'));
  t.teardown(() => other.close());
  const stalling = await pacingProxy(t, reg.port, { gapMs: 1, stallMs: 2500 });
  const e = await t.throwsAsync(pullImage(other, `${stalling}/bb:v1`, { timeoutMs: 1000, attempts: 1 }));
  t.true(isBerthError(e) && e.code === 'E_IMAGE_REGISTRY_UNREACHABLE', String(e));
  t.regex(
    (e as Error).message,
    new RegExp(`registry ${stalling.replace(/\./g, '\\.')} sent nothing of layer sha256:[0-9a-f]{64} for 1 s \\(\\d+ of ${layerSize} bytes received\\)`),
  );
  t.deepEqual([...other.tags()], []);
  t.false(await other.hasBlob(busybox.manifest.layers[0]?.digest ?? ''));
  t.deepEqual(await readdir(join(other.root, 'ingest')), []);
});
