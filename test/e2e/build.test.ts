/**
 * `berth image:build` through the real daemon and the built CLI (docs/builds.md): a
 * multi-stage Dockerfile built and run with `container:run --rm`; a no-change rebuild
 * answered by the cache at every step; `-q` and `--format json`; a bad Dockerfile exiting
 * non-zero naming its line; `.dockerignore` honoured by the CLI (an ignored file larger than
 * the daemon's BERTH_BUILD_CONTEXT_MAX is never sent) and by the daemon (a context sent
 * without the CLI's filtering); the build cache kept by `image:prune` and dropped by
 * `builder:prune`. Each test has its own daemon, state root and bridge.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniqueBridge } from '../helpers/network.js';
import { requireBinary, requireRoot } from '../helpers/prereq.js';
import { runtimeBinary } from '../helpers/runtime.js';
import { cliPath, runCli, startTestDaemon, type CliResult, type RunningTestDaemon } from '../helpers/start-daemon.js';
import { tarball } from '../helpers/tarball.js';
import { tempDir, uniqueName } from '../helpers/temp-dir.js';

interface Daemon {
  d: RunningTestDaemon;
  cli: (...args: string[]) => Promise<CliResult>;
  ok: (...args: string[]) => Promise<string>;
}

function runtime(root: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(runtimeBinary, ['--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr ?? '' };
}

async function buildDaemon(t: ExecutionContext, extra: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  t.timeout(6 * 60_000);
  requireRoot('builds');
  requireBinary('/usr/sbin/nft', 'nftables');
  const dir = await tempDir(t, 'berth-bld-');
  const root = join(dir, 'run');
  const network = uniqueBridge();
  t.teardown(() => {
    for (const id of existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('.')) : []) runtime(root, ['delete', '--force', id]);
    const rm = runtime(root, ['network', 'rm', '--force', network]);
    if (rm.status !== 0 && !/does not exist|no network/i.test(rm.stderr)) throw new Error(`network rm --force ${network}: ${rm.stderr}`);
  });
  const d = await startTestDaemon(t, { BERTH_RUNTIME_ROOT: root, BERTH_NETWORK: network, ...extra });
  const cli = (...args: string[]) => runCli(args, d.env);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    t.is(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('image:base', 'busybox');
  return { d, cli, ok };
}

async function context(t: ExecutionContext, files: Record<string, string | Buffer>): Promise<string> {
  const dir = await tempDir(t, 'berth-build-ctx-');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

const multiStage = `FROM busybox AS build
ARG GREETING=hello
RUN mkdir /out && echo "$GREETING from the build stage: $((6 * 7))" > /out/result.txt
FROM busybox
COPY --from=build /out/result.txt /app/result.txt
COPY message.txt /app/
WORKDIR /app
CMD ["sh", "-c", "cat result.txt message.txt"]
`;

test('a multi-stage build runs, prints the classic lines, and a no-change rebuild uses the cache at every step', async (t) => {
  const { cli, ok } = await buildDaemon(t);
  const dir = await context(t, { Dockerfile: multiStage, 'message.txt': 'and a file from the context\n' });
  const tag = `${uniqueName('multi')}:1`;
  const first = await ok('image:build', '-t', tag, '--build-arg', 'GREETING=hi', dir);
  const lines = first.split('\n');
  t.true(lines.includes('Step 1/8 : FROM busybox AS build'), first);
  t.true(lines.includes('Step 3/8 : RUN mkdir /out && echo "$GREETING from the build stage: $((6 * 7))" > /out/result.txt'), first);
  t.true(
    lines.some((l) => /^ ---> Running in [0-9a-f]{12}$/.test(l)),
    first,
  );
  const built = /^Successfully built ([0-9a-f]{12})$/m.exec(first);
  t.truthy(built, first);
  t.true(lines.includes(`Successfully tagged ${tag}`), first);

  const run = await cli('container:run', '--rm', tag);
  t.deepEqual([run.code, run.stdout], [0, 'hi from the build stage: 42\nand a file from the context\n'], run.stderr);

  const again = await ok('image:build', '-t', tag, '--build-arg', 'GREETING=hi', dir);
  const steps = again.split('\n').filter((l) => l.startsWith('Step '));
  t.is(steps.length, 8, again);
  // Every step but the two FROMs is answered by the cache; nothing runs.
  t.is(again.split('\n').filter((l) => l === ' ---> Using cache').length, 6, again);
  t.false(again.includes('Running in'), again);
  t.true(again.includes(`Successfully built ${built?.[1]}`), again);

  const quiet = await ok('image:build', '-q', '--build-arg', 'GREETING=hi', dir);
  t.regex(quiet, /^sha256:[0-9a-f]{64}\n$/);
  t.true(quiet.startsWith(`sha256:${built?.[1]}`), quiet);

  const json = await ok('image:build', '--format', 'json', '--build-arg', 'GREETING=hi', dir);
  const events = json
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type?: string; text?: string; result?: { id: string } });
  t.is(events.filter((e) => e.type === 'cache').length, 6);
  t.is(events.at(-1)?.result?.id, built?.[1]);

  // The cache's images are GC roots: a prune keeps them, builder:prune drops the cache.
  await ok('image:prune');
  t.true((await ok('image:build', '--build-arg', 'GREETING=hi', dir)).includes(' ---> Using cache'));
  t.regex(await ok('builder:prune'), /^Dropped \d+ build cache entries\. Deleted/);
  const cold = await ok('image:build', '--build-arg', 'GREETING=hi', dir);
  t.false(cold.includes('Using cache'), cold);
});

test('a bad Dockerfile and a failing RUN exit non-zero naming the line; nothing is tagged', async (t) => {
  const { cli } = await buildDaemon(t);
  const bad = await context(t, { Dockerfile: 'FROM busybox\nRUN true\nFROBNICATE now\n' });
  const r = await cli('image:build', '-t', 'bad:1', bad);
  t.not(r.code, 0);
  t.regex(r.stderr, /Dockerfile:3/);
  t.regex(r.stderr, /FROBNICATE/i);
  const failing = await context(t, { 'sub/Build.df': 'FROM busybox\nRUN echo about to fail; exit 7\n' });
  const f = await cli('image:build', '-f', join(failing, 'sub/Build.df'), '-t', 'bad:2', failing);
  t.not(f.code, 0);
  t.regex(f.stdout, /about to fail/);
  t.regex(f.stderr, /Build\.df:2.*7/s);
  const images = await cli('images', '--format', 'json');
  t.false(images.stdout.includes('bad:'), images.stdout);
  const missing = await cli('image:build', join(bad, 'nowhere'));
  t.not(missing.code, 0);
  t.regex(missing.stderr, /nowhere is not a directory/);
});

test('.dockerignore: the CLI does not send what it excludes, and the daemon applies it again to a context sent as is', async (t) => {
  const { d, cli, ok } = await buildDaemon(t, { BERTH_BUILD_CONTEXT_MAX: '1m' });
  const dir = await context(t, {
    Dockerfile: 'FROM busybox\nCOPY . /app\nCMD ["sh", "-c", "cd /app && find . -type f | sort"]\n',
    '.dockerignore': 'big.bin\n*.log\nsecrets/\n!secrets/public.txt\n',
    'big.bin': Buffer.alloc(2 * 1024 * 1024, 1),
    'keep.txt': 'k',
    'debug.log': 'x',
    'sub/debug.log': 'kept: *.log matches at the root only',
    'secrets/key.pem': 'secret',
    'secrets/public.txt': 'public',
  });
  const tag = `${uniqueName('ignored')}:1`;
  await ok('image:build', '-t', tag, dir); // big.bin would be over BERTH_BUILD_CONTEXT_MAX were it sent
  const run = await cli('container:run', '--rm', tag);
  t.deepEqual(run.stdout.trim().split('\n'), ['./.dockerignore', './Dockerfile', './keep.txt', './secrets/public.txt', './sub/debug.log'], run.stderr);

  // Without the CLI: the whole directory in the tar, the daemon still hides what .dockerignore excludes.
  const tar = await tarball([
    { name: 'Dockerfile', content: 'FROM busybox\nCOPY . /app\nRUN test ! -e /app/secret.txt && test -e /app/keep.txt\n' },
    { name: '.dockerignore', content: 'secret.txt\n' },
    { name: 'secret.txt', content: 'secret' },
    { name: 'keep.txt', content: 'k' },
  ]);
  const res = await fetch(`${d.url}/v1/build?t=${encodeURIComponent(`${uniqueName('raw')}:1`)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/x-tar' },
    body: tar,
  });
  const last = (await res.text()).trim().split('\n').at(-1) ?? '';
  t.regex(last, /^\{"result":\{"id":"[0-9a-f]{12}"/, last);

  // Too large when sent as is: a clear error, and no context is left under BERTH_HOME.
  const big = await tarball([{ name: 'big.bin', content: Buffer.alloc(2 * 1024 * 1024) }]);
  const tooLarge = await fetch(`${d.url}/v1/build`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/x-tar' },
    body: big,
  });
  t.is(tooLarge.status, 413);
  t.regex(await tooLarge.text(), /E_BUILD_CONTEXT_TOO_LARGE/);
  t.deepEqual(await readdir(join(d.home, 'tmp', 'build-contexts')), []);
});

test('Ctrl-C during a RUN cancels the build: its container is removed, nothing is tagged, no context is left', async (t) => {
  const { d, ok } = await buildDaemon(t);
  const dir = await context(t, { Dockerfile: 'FROM busybox\nRUN echo started && sleep 120\n' });
  const child = spawn(process.execPath, [cliPath, 'image:build', '-t', 'cancelled:1', dir], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "started" in 60 s: ${out}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\nstarted\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  t.regex(out, / ---> Running in [0-9a-f]{12}/);
  t.true((await ok('container:ls', '-a', '-q')).trim() !== '', 'the step container exists while it runs');
  child.kill('SIGINT');
  t.not(await exited, 0);
  const deadline = Date.now() + 30_000;
  let left = '';
  do {
    left = (await ok('container:ls', '-a', '-q')).trim();
    if (left === '') break;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < deadline);
  t.is(left, '', 'the step container is killed and removed');
  t.false((await ok('images')).includes('cancelled'), 'nothing is tagged');
  t.deepEqual(await readdir(join(d.home, 'tmp', 'build-contexts')), []);
});
