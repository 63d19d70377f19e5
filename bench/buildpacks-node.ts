/**
 * bench/buildpacks-node.sh's body (run it through the script). The real buildpack builder
 * on a ContainerManager of its own (bridge with outbound NAT: the builds reach the npm
 * registry) and the stack image, building test/fixtures/apps/node with the bundled nodejs
 * buildpack, RUNS times each:
 * - cold: a fresh CACHE_DIR (Node.js, npm and every package downloaded);
 * - warm: the same source again on that cache (the goal: at least 5x faster than cold);
 * - one file: server.js changed, then built on that cache.
 * Each row is the median wall time of `buildBuildpacks`, container start to tagged image,
 * after one untimed Procfile-only build (which unpacks the stack's layer, once per store);
 * the slug's size is the last build's. Registry latency is part of every row.
 */
import { appendFile, cp, mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildBuildpacks, type BuildEvent } from '../server/build/index.js';
import { ContainerManager } from '../server/containers/index.js';
import { createLogger } from '../server/core/index.js';
import { ImageStore } from '../server/images/index.js';
import { RuntimeClient } from '../server/runtime/index.js';
import { loadStackImage } from '../test/helpers/stack.js';

const work = process.argv[2] ?? '';
if (!work) throw new Error('usage: bench/buildpacks-node.sh (it passes a work directory)');
const runs = Number(process.env.RUNS ?? 2);
const network = `bn${process.pid.toString(16).slice(-6)}`;
await writeFile(join(work, 'network'), network);

const row = (name: string, value: string, note = ''): void => console.log(`${name.padEnd(44)} ${value.padStart(10)}  ${note}`);
const s = (x: number): string => `${x.toFixed(2)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;

const log = createLogger({ level: 'warn', destination: process.stderr, pretty: false });
const store = await ImageStore.open(join(work, 'home', 'images'));
await loadStackImage(store, join(work, 'debs'));
const runtime = new RuntimeClient({ root: join(work, 'r') });
const containers = await ContainerManager.open({ dir: join(work, 'home', 'containers'), images: store, runtime, network: { name: network, nat: true }, log });
const fixture = new URL('../test/fixtures/apps/node/', import.meta.url).pathname;

let n = 0;
let slug = '';
/** PROFILE=1: each build's lines with the seconds since its start, to see where the time goes. */
const profile = process.env.PROFILE === '1';
async function build(dir: string, cacheDir: string): Promise<number> {
  const lines: string[] = [];
  const t0 = process.hrtime.bigint();
  const at = (): string => (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2).padStart(6);
  try {
    await buildBuildpacks({ dir, images: store, containers }, { app: 'bench', cacheDir, tags: [`bench:${n++}`] }, (e: BuildEvent) => {
      if (e.type === 'line') lines.push(e.line);
      if (profile) console.error(`${at()} ${e.type === 'line' ? e.line : e.type}`);
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${lines.slice(-20).join('\n')}`);
  }
  slug = lines.find((l) => /^ {7}Done: /.test(l))?.trim() ?? slug;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

try {
  // Not timed: the first build unpacks the stack image's layer, once per store.
  const warmUp = join(work, 'src', 'procfile');
  await mkdir(warmUp, { recursive: true });
  await writeFile(join(warmUp, 'Procfile'), 'web: true\n');
  await build(warmUp, join(work, 'cache', 'procfile'));
  const cold: number[] = [];
  const warm: number[] = [];
  const oneFile: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = join(work, 'src', String(i));
    const cache = join(work, 'cache', String(i));
    await cp(fixture, dir, { recursive: true });
    await mkdir(cache, { recursive: true });
    cold.push(await build(dir, cache));
    warm.push(await build(dir, cache));
    await appendFile(join(dir, 'server.js'), `// changed ${Date.now()}\n`);
    oneFile.push(await build(dir, cache));
  }
  console.log(
    `buildpacks-node: median of ${runs} runs; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (before: ${process.env.LOAD_BEFORE ?? '?'})`,
  );
  row('Node app, cold (fresh cache)', s(median(cold)), `runs: ${cold.map(s).join(', ')}`);
  row('Node app, warm (no change)', s(median(warm)), `cold/warm = ${(median(cold) / median(warm)).toFixed(1)}x (goal >= 5x); runs: ${warm.map(s).join(', ')}`);
  row('Node app, one source file changed', s(median(oneFile)), `runs: ${oneFile.map(s).join(', ')}`);
  row('slug layer (zstd)', slug.replace(/^Done: /, ''));
} finally {
  containers.close();
  await store.close();
}
