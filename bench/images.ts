/**
 * bench/images.sh's body (run it through the script). Prints, in one run:
 * - import of an image archive into the store with its layers unpacked, and the unpack
 *   alone, against `umoci unpack` of the same image from an OCI layout directory;
 * - starting a container (`sh -c true` under berth-runtime) on the image's unpacked layers
 *   (an overlay mount) against the same tree as a plain directory;
 * - disk used by two images sharing a base in one store, against the sum of each alone.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { freePort } from '../server/core/index.js';
import { busyboxLayer, buildImage, exportOciArchive, ImageStore, importArchive, pullImage, pushImage } from '../server/images/index.js';
import { defaultSpec, writeBundle } from '../server/runtime/index.js';

const work = process.argv[2] ?? '';
const tree = (process.env.BENCH_TREE ?? 'usr/lib/python3 usr/share/doc').split(' ').filter(Boolean);
const runs = Number(process.env.RUNS ?? 3);
const startRuns = Number(process.env.START_RUNS ?? 20);
const runtime = process.env.BERTH_RUNTIME ?? new URL('../native/build/berth-runtime', import.meta.url).pathname;
if (!work) throw new Error('usage: bench/images.sh (it passes a work directory)');

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

function duBytes(...paths: string[]): number {
  return Number(
    sh('du', ['-s', '-B1', '-c', ...paths])
      .trim()
      .split('\n')
      .at(-1)
      ?.split('\t')[0],
  );
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const row = (name: string, value: string, note = '') => console.log(`${name.padEnd(58)} ${value.padStart(12)}  ${note}`);

// ---- the images: busybox, and busybox + a tree of many files (with an app layer on top for the disk row)
const src = await ImageStore.open(join(work, 'src'));
const base = await busyboxLayer();
const bigTar = join(work, 'big.tar');
sh('tar', ['--numeric-owner', '--xattrs', '-C', '/', '-cf', bigTar, ...tree]);
const big = await readFile(bigTar);
const appTar = join(work, 'app.tar');
sh('tar', ['--numeric-owner', '-C', '/', '-cf', appTar, 'etc/hostname']);
const app = await readFile(appTar);
const one = await buildImage(src, { layers: [base.tar, big], tags: ['bench/one'], created: '2026-01-01T00:00:00Z' });
await buildImage(src, { layers: [base.tar, big, new Uint8Array(app)], tags: ['bench/two'], created: '2026-01-01T00:00:00Z' });
const archive = join(work, 'one.oci.tar');
await exportOciArchive(src, ['bench/one'], createWriteStream(archive));
const archiveBytes = duBytes(archive);
const files = Number(sh('sh', ['-c', `tar -tf "$1" | wc -l`, 'sh', bigTar]).trim());
console.log(
  `image: busybox + ${tree.join(' ')} (${files} entries), ${one.manifest.layers.length} gzip layers; archive ${mb(archiveBytes)}, uncompressed ${mb(big.length + base.tar.length)}`,
);
console.log(`load average before: ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}; median of ${runs} runs\n`);

// ---- import and unpack vs umoci unpack
const layout = join(work, 'layout');
await mkdir(layout);
sh('tar', ['-C', layout, '-xf', archive]);
const importTimes: number[] = [];
const unpackTimes: number[] = [];
const umociTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = join(work, `import-${i}`);
  let store: ImageStore | undefined;
  importTimes.push(
    await timed(async () => {
      store = await ImageStore.open(dir);
      const [image] = await importArchive(store, createReadStream(archive), { what: 'one.oci.tar' });
      if (image) await store.unpackImage(image);
    }),
  );
  await rm(join(dir, 'layers', 'sha256'), { recursive: true });
  await mkdir(join(dir, 'layers', 'sha256'));
  const s = await ImageStore.open(dir);
  const image = await s.resolve('bench/one');
  unpackTimes.push(await timed(async () => void (await s.unpackImage(image))));
  await rm(dir, { recursive: true });
  const bundle = join(work, `umoci-${i}`);
  umociTimes.push(await timed(async () => void sh('umoci', ['unpack', '--image', `${layout}:bench/one:latest`, bundle])));
  await rm(bundle, { recursive: true });
}
row('berth: import archive + unpack layers', `${median(importTimes).toFixed(2)} s`);
row('berth: unpack layers from the store', `${median(unpackTimes).toFixed(2)} s`, `x umoci ${(median(unpackTimes) / median(umociTimes)).toFixed(2)}`);
row('umoci unpack (OCI layout dir -> bundle rootfs)', `${median(umociTimes).toFixed(2)} s`);

// ---- pull from a loopback docker-registry vs skopeo copy of the same image
const port = await freePort();
await writeFile(
  join(work, 'registry.yml'),
  `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
);
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
try {
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const remote = `127.0.0.1:${port}/bench/one:latest`;
  await pushImage(src, 'bench/one', remote);
  const pullTimes: number[] = [];
  const skopeoTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = join(work, `pull-${i}`);
    pullTimes.push(await timed(async () => void (await pullImage(await ImageStore.open(dir), remote))));
    await rm(dir, { recursive: true });
    skopeoTimes.push(
      await timed(async () => void sh('skopeo', ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${remote}`, `oci:${dir}:x`])),
    );
    await rm(dir, { recursive: true });
  }
  console.log('');
  row(
    'berth: pull from a loopback registry (blobs only)',
    `${median(pullTimes).toFixed(2)} s`,
    `x skopeo ${(median(pullTimes) / median(skopeoTimes)).toFixed(2)}`,
  );
  row('skopeo copy docker://… oci:DIR (the same image)', `${median(skopeoTimes).toFixed(2)} s`);
} finally {
  registry.kill('SIGTERM');
}

// ---- container start: overlay layers vs a plain directory
const layers = await src.unpackImage(one);
const plain = join(work, 'plain-rootfs');
await mkdir(plain);
for (const dir of [...layers].reverse()) sh('cp', ['-a', `${dir}/.`, plain]);
async function startTimes(kind: 'layers' | 'plain'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < startRuns; i++) {
    const bundle = join(work, `bundle-${kind}-${i}`);
    const spec = defaultSpec({ args: ['sh', '-c', 'true'], ...(kind === 'layers' ? { layers: { lower: layers, writable: join(work, `w-${i}`) } } : {}) });
    if (kind === 'plain') spec.root = { path: plain, readonly: false };
    await writeBundle(bundle, spec);
    const t0 = process.hrtime.bigint();
    sh(runtime, ['--root', join(work, 'state'), 'run', '--bundle', bundle, `bench-${kind}-${i}`]);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}
const onLayers = median(await startTimes('layers'));
const onPlain = median(await startTimes('plain'));
console.log('');
row(
  `start sh -c true on the ${layers.length} unpacked layers (overlay), median of ${startRuns}`,
  `${onLayers.toFixed(1)} ms`,
  `x plain ${(onLayers / onPlain).toFixed(2)}`,
);
row('start sh -c true on the same tree as a plain directory', `${onPlain.toFixed(1)} ms`);

// ---- disk: two images sharing a base in one store vs each alone
const shared = await ImageStore.open(join(work, 'shared'));
const alone = [await ImageStore.open(join(work, 'alone-1')), await ImageStore.open(join(work, 'alone-2'))];
for (const [store, tag] of [
  [shared, 'bench/one'],
  [shared, 'bench/two'],
  [alone[0], 'bench/one'],
  [alone[1], 'bench/two'],
] as const) {
  const out = join(work, `x-${tag.replace('/', '-')}.tar`);
  await exportOciArchive(src, [tag], createWriteStream(out));
  const [image] = await importArchive(store as ImageStore, createReadStream(out), { what: out });
  if (image) await (store as ImageStore).unpackImage(image);
}
const sharedBytes = duBytes(join(work, 'shared'));
const sumBytes = duBytes(join(work, 'alone-1')) + duBytes(join(work, 'alone-2'));
console.log('');
row('disk: two images sharing a base, one store (blobs + layers)', mb(sharedBytes), `x sum ${(sharedBytes / sumBytes).toFixed(2)}`);
row('disk: the same two images each in its own store (sum)', mb(sumBytes));
