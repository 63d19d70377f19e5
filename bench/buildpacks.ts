/**
 * bench/buildpacks.sh's body (run it through the script). In one run, on the stack image
 * imported from the tests' cached archive (or built with debootstrap when there is none):
 * - a Procfile-only app's buildpack build, end to end (goal ≤ 1.5 s), median of RUNS, with
 *   the time to each of its marks: the container's first line (create + start + detect),
 *   the driver's end (compile, release), the slug layer written (its compression and
 *   commit) and the image stored;
 * - the slug layer's size and the time to write it, for a small app and for one with
 *   20 MB of files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildBuildpacks, type BuildEvent } from '../server/build/index.js';
import { ContainerManager } from '../server/containers/index.js';
import { createLogger } from '../server/core/index.js';
import { ImageStore } from '../server/images/index.js';
import { RuntimeClient } from '../server/runtime/index.js';
import { useStackImage } from '../test/helpers/stack.js';

const work = process.argv[2] ?? '';
if (!work) throw new Error('usage: bench/buildpacks.sh (it passes a work directory)');
const runs = Number(process.env.RUNS ?? 5);
const network = `bp${process.pid.toString(16).slice(-6)}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}
const row = (name: string, value: string, note = ''): void => console.log(`${name.padEnd(52)} ${value.padStart(10)}  ${note}`);
const ms = (x: number): string => `${x.toFixed(0)} ms`;

const log = createLogger({ level: 'warn', destination: process.stderr, pretty: false });
const store = await ImageStore.open(join(work, 'home', 'images'));
let t0 = performance.now();
await useStackImage(store, work);
const importMs = performance.now() - t0;
const runtime = new RuntimeClient({ root: join(work, 'r') });
const containers = await ContainerManager.open({ dir: join(work, 'home', 'containers'), images: store, runtime, network: { name: network, nat: false }, log });

async function app(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(work, 'apps', name);
  await mkdir(dir, { recursive: true });
  for (const [f, body] of Object.entries(files)) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), body);
  }
  return dir;
}

interface Marks {
  total: number;
  firstLine: number;
  compiled: number;
  layer: number;
  built: number;
  size: number;
}

async function build(dir: string, tag: string): Promise<Marks> {
  const marks: Partial<Marks> = {};
  let size = 0;
  const start = performance.now();
  const at = (): number => performance.now() - start;
  const r = await buildBuildpacks({ dir, images: store, containers }, { app: 'bench', cacheDir: join(work, 'cache'), tags: [tag] }, (e: BuildEvent) => {
    if (e.type === 'line') {
      if (marks.firstLine === undefined) marks.firstLine = at();
      if (e.line === '-----> Discovering process types') marks.compiled = at();
      if (e.line.startsWith('       Done: ')) marks.layer = at();
    }
    if (e.type === 'built') marks.built = at();
  });
  size = r.image.manifest.layers.at(-1)?.size ?? 0;
  return { ...(marks as Marks), total: at(), size };
}

const procfile = await app('procfile', { Procfile: 'web: python3 -m http.server $PORT\nworker: sleep infinity\n', 'index.html': '<p>hi</p>\n' });
const big = await app('big', {
  Procfile: 'web: python3 -m http.server $PORT\n',
  ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`data/blob${i}.bin`, randomBytes(1024 * 1024)])),
});

await build(procfile, 'warmup:latest'); // the first build creates the network and unpacks the stack's layer
const all: Marks[] = [];
for (let i = 0; i < runs; i++) all.push(await build(procfile, `p${i}:latest`));
const bigRuns: Marks[] = [];
for (let i = 0; i < Math.min(runs, 3); i++) bigRuns.push(await build(big, `b${i}:latest`));

const m = (k: keyof Marks, xs = all): number => median(xs.map((x) => x[k]));
console.log(
  `buildpack builds (load before: ${process.env.LOAD_BEFORE ?? '?'}, after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${runs} runs, medians)`,
);
row('stack image import (once, not part of a build)', ms(importMs));
row('Procfile-only build, end to end', ms(m('total')), 'goal ≤ 1500 ms');
row('  until the container printed its first line', ms(m('firstLine')), 'create + mounts + start + detect');
row('  until the driver ended', ms(m('compiled')), 'compile + release + container exit and removal');
row('  until the slug layer was written', ms(m('layer')), `size ${(m('size') / 1024).toFixed(1)} KiB (zstd)`);
row('  until the image was stored', ms(m('built')));
row('20 MB app build, end to end', ms(m('total', bigRuns)));
row('  slug layer write (compress + store)', ms(m('layer', bigRuns) - m('compiled', bigRuns)), `size ${(m('size', bigRuns) / 1048576).toFixed(1)} MiB (zstd)`);
t0 = performance.now();
containers.close();
