/**
 * bench/build.sh's body (run it through the script). In one run, on the same Dockerfiles and
 * the same busybox base (Berth's, exported to buildah as an OCI archive):
 * - a cold build of a 10-step Dockerfile (Berth with an empty cache, buildah with fresh vfs
 *   storage holding only the base), and Berth's ratio to buildah;
 * - Berth's no-change rebuild (every step from the cache) and its rebuild after one file of
 *   the last COPY changed;
 * - the cost of one RUN step: a Dockerfile of 20 `RUN true` steps minus a FROM-only one,
 *   divided by 20, for both.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BuildCache, buildDockerfile } from '../server/build/index.js';
import { ContainerManager } from '../server/containers/index.js';
import { createLogger } from '../server/core/index.js';
import { ensureBusyboxImage, exportOciArchive, ImageStore } from '../server/images/index.js';
import { RuntimeClient } from '../server/runtime/index.js';

const work = process.argv[2] ?? '';
if (!work) throw new Error('usage: bench/build.sh (it passes a work directory)');
const runs = Number(process.env.RUNS ?? 3);
const network = `bb${process.pid.toString(16).slice(-6)}`;

const tenSteps = [
  'FROM busybox',
  'ENV APP=/app MODE=bench',
  'WORKDIR /app',
  'COPY deps.txt ./',
  'RUN cat deps.txt | wc -l > /app/count',
  'RUN mkdir -p /app/bin && echo built > /app/bin/out',
  'LABEL bench=build',
  'EXPOSE 8080',
  'COPY src/ /app/src/',
  'CMD ["cat", "/app/bin/out"]',
  '',
].join('\n');
const runTrue = ['FROM busybox', ...Array.from({ length: 20 }, () => 'RUN true'), ''].join('\n');

async function context(name: string, dockerfile: string): Promise<string> {
  const dir = join(work, 'contexts', name);
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  await writeFile(join(dir, 'deps.txt'), 'a\nb\nc\n');
  for (let i = 0; i < 20; i++) await writeFile(join(dir, 'src', `f${i}.txt`), `file ${i}\n`);
  return dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function sh(cmd: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

const row = (name: string, value: string, note = ''): void => console.log(`${name.padEnd(52)} ${value.padStart(10)}  ${note}`);
const s = (x: number): string => `${x.toFixed(3)} s`;
const ms = (x: number): string => `${(x * 1000).toFixed(0)} ms`;

const log = createLogger({ level: 'warn', destination: process.stderr, pretty: false });
const store = await ImageStore.open(join(work, 'home', 'images'));
await ensureBusyboxImage(store);
const runtime = new RuntimeClient({ root: join(work, 'r') });
const containers = await ContainerManager.open({ dir: join(work, 'home', 'containers'), images: store, runtime, network: { name: network, nat: false }, log });
const ten = await context('ten', tenSteps);
const twenty = await context('twenty', runTrue);
const fromOnly = await context('from', 'FROM busybox\n');

let n = 0;
async function berth(dir: string, cache: BuildCache): Promise<number> {
  return timed(() => buildDockerfile({ dir, images: store, containers, cache }, { tags: [`bench:${n++}`] }, () => undefined));
}
const freshCache = async (): Promise<BuildCache> => BuildCache.open(join(work, 'caches', String(n++)));

// buildah: its own vfs storage per cold build, holding only the base (pulled from Berth's busybox).
const archive = join(work, 'busybox-oci.tar');
await exportOciArchive(store, ['busybox:latest'], createWriteStream(archive));
let b = 0;
function buildahStorage(): string[] {
  const dir = join(work, 'buildah', String(b++));
  const args = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'];
  sh('buildah', [...args, 'pull', '--quiet', `oci-archive:${archive}`]);
  sh('buildah', [...args, 'tag', 'busybox:latest', 'localhost/busybox:latest']);
  return args;
}
async function buildah(dir: string, args: string[]): Promise<number> {
  return timed(async () =>
    sh(
      'buildah',
      [...args, 'bud', '--quiet', '--pull-never', '--layers', '--isolation', 'oci', '--runtime', 'runc', '--network', 'none', '-t', `bench${n++}`, dir],
      { BUILDAH_ISOLATION: 'oci' },
    ),
  );
}

try {
  await berth(fromOnly, await freshCache()); // warm: the network and the unpacked base
  const cold: number[] = [];
  const rebuild: number[] = [];
  const changed: number[] = [];
  const bCold: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cache = await freshCache();
    cold.push(await berth(ten, cache));
    rebuild.push(await berth(ten, cache));
    await writeFile(join(ten, 'src', 'f7.txt'), `changed ${i} ${Date.now()}\n`);
    changed.push(await berth(ten, cache));
    bCold.push(await buildah(ten, buildahStorage()));
  }
  const perRun: number[] = [];
  const bPerRun: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = await freshCache();
    const base = await berth(fromOnly, c);
    perRun.push(((await berth(twenty, c)) - base) / 20);
    const args = buildahStorage();
    const bBase = await buildah(fromOnly, args);
    bPerRun.push(((await buildah(twenty, args)) - bBase) / 20);
  }
  console.log(
    `build: median of ${runs} runs; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (before: ${process.env.LOAD_BEFORE ?? '?'})`,
  );
  row('10-step Dockerfile, cold: Berth', s(median(cold)));
  row('10-step Dockerfile, cold: buildah bud (vfs, runc)', s(median(bCold)), `Berth/buildah = ${(median(cold) / median(bCold)).toFixed(2)} (goal <= 0.8)`);
  row('no-change rebuild: Berth', s(median(rebuild)), `${((median(rebuild) / median(cold)) * 100).toFixed(1)}% of cold (goal <= 5%, < 0.5 s)`);
  row('rebuild after one file of the last COPY changed', s(median(changed)));
  row('one RUN step: Berth (20 x RUN true, less FROM only)', ms(median(perRun)), 'goal <= 50 ms');
  row('one RUN step: buildah bud', ms(median(bPerRun)));
} finally {
  for (const c of containers.list({ all: true })) await containers.remove(c.id, true).catch(() => undefined);
  containers.close();
  await store.close();
  spawnSync(new URL('../native/build/berth-runtime', import.meta.url).pathname, ['--root', join(work, 'r'), 'network', 'rm', '--force', network]);
}
