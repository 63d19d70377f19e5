/**
 * Bad input to the buildpack builder, in real build containers: each a BerthError naming the
 * buildpack and the phase; nothing tagged, no container, mount or build directory left. And a
 * hostile buildpack: it cannot reach a host port (a listener on 127.0.0.1 and one on the
 * bridge's gateway), and what it writes outside BUILD_DIR and CACHE_DIR goes with the build
 * container. Traffic only to this machine's addresses; every wait is bounded.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBuildpacks } from '../../helpers/buildpacks.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/buildpacks/${name}`, import.meta.url));

test('bad input: nothing detects, bad Procfile, failed clone, bad release YAML, explicit detect failure', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuildpacks(t);
  const tags = ['bad:latest'];
  const check = async (
    files: Parameters<typeof b.context>[0],
    settings: Parameters<typeof b.build2>[1],
    code: string,
    message: RegExp,
    details: Record<string, unknown> = {},
  ) => {
    const r = await b.build2(await b.context(files), { ...settings, tags });
    t.is(r.error?.code, code, `${r.error?.message}\n${r.text}`);
    t.regex(r.error?.message ?? '', message);
    for (const [k, v] of Object.entries(details)) t.deepEqual(r.error?.details?.[k], v, k);
    t.false(b.c.store.tags().has('bad:latest'), 'nothing is tagged');
    t.deepEqual(b.leftovers(), []);
    return r;
  };
  await check(
    { 'README.md': 'no app here\n' },
    {},
    'E_BUILD_BUILDPACK_NOT_DETECTED',
    /^no buildpack detected the app: tried (.*, )?procfile \(each bin\/detect exited non-zero\)$/,
    {
      phase: 'detect',
    },
  );
  await check({ Procfile: 'web: ok\nworker\n' }, {}, 'E_BUILD_PROCFILE_INVALID', /^Procfile line 2: not "name: command"/);
  await check(
    { Procfile: 'web: ok\n' },
    { buildpacks: ['file:///nonexistent/buildpack.git#main'] },
    'E_BUILD_BUILDPACK_UNAVAILABLE',
    /^buildpack file:\/\/\/nonexistent\/buildpack\.git#main: git clone .* failed/,
    {
      phase: 'fetch',
    },
  );
  await check(
    { Fixturefile: '' },
    { buildpacks: [fixture('bad-release')] },
    'E_BUILD_BUILDPACK_RELEASE_INVALID',
    /^buildpack bad-release, release: bin\/release printed invalid YAML, line 3: /,
    {
      buildpack: 'bad-release',
      phase: 'release',
    },
  );
  await check(
    { Procfile: 'web: ok\n' },
    { buildpacks: [fixture('release')] },
    'E_BUILD_BUILDPACK_NOT_DETECTED',
    /^buildpack release, detect: the app names it, but its bin\/detect exited with 1/,
    {
      buildpack: 'release',
      phase: 'detect',
    },
  );
  const r = await check(
    { Fixturefile: '' },
    { buildpacks: [fixture('failing')] },
    'E_BUILD_BUILDPACK_FAILED',
    /^buildpack failing, compile: bin\/compile exited with 3; its last lines:\n {2}-----> Fixture failing app detected\n {2}-----> Compiling the fixture\n/,
    {
      exitCode: 3,
      phase: 'compile',
    },
  );
  t.true(r.lines.includes('       step 5'), 'the output streamed before the failure');
  t.deepEqual(await readdir(b.cacheDir), [], 'the cache is as it was (empty)');
});

function listen(host: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  return new Promise((resolve, reject) => {
    let accepted = 0;
    const server = createServer((s) => {
      accepted++;
      s.on('error', () => undefined);
      s.end('hello from the host\n');
    });
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0, accepted: () => accepted });
    });
  });
}

function reaches(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
  });
}

test('a hostile buildpack cannot reach host ports; its writes outside BUILD_DIR and CACHE_DIR go with the container', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuildpacks(t);
  // A first build creates the network, so that its gateway address can be listened on.
  const warm = await b.build2(await b.context({ Procfile: 'web: true\n' }));
  t.is(warm.error, undefined, warm.error?.message);
  const ip = spawnSync('/usr/sbin/ip', ['-4', '-o', 'addr', 'show', 'dev', b.c.network], { encoding: 'utf8' });
  const gateway = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(ip.stdout)?.[1] as string;
  t.truthy(gateway, `the bridge ${b.c.network} has an address: ${ip.stdout}${ip.stderr}`);
  const loopback = await listen('127.0.0.1');
  const bridge = await listen(gateway);
  t.teardown(() => {
    loopback.server.close();
    bridge.server.close();
  });
  t.true(await reaches('127.0.0.1', loopback.port), 'the loopback listener works');
  t.true(await reaches(gateway, bridge.port), 'the gateway listener works');
  const before = loopback.accepted() + bridge.accepted();
  const targets = [`127.0.0.1:${loopback.port}`, `${gateway}:${bridge.port}`, `${gateway}:${loopback.port}`];
  const r = await b.build2(await b.context({ Fixturefile: '', Procfile: 'web: true\n' }), {
    buildpacks: [fixture('hostile')],
    env: { TARGETS: targets.join(' ') },
    tags: ['hostile:latest'],
  });
  t.is(r.error, undefined, `${r.error?.message}\n${r.text}`);
  t.deepEqual(
    r.lines.filter((l) => /^(REACHED|refused) /.test(l)),
    targets.map((x) => `refused ${x}`),
  );
  t.is(loopback.accepted() + bridge.accepted(), before, 'no connection arrived from the build');
  t.true(r.lines.includes('wrote /etc/hostile-was-here (inside the container)'), r.text);
  t.false(existsSync('/etc/hostile-was-here'), 'the host is untouched');
  const inImage = await b.runImage('hostile:latest', ['/exec', 'bash', '-c', 'ls /etc/hostile-was-here /tmp/hostile-was-here 2>&1; cat order.txt']);
  t.regex(inImage.stdout, /cannot access '\/etc\/hostile-was-here'[\s\S]*cannot access '\/tmp\/hostile-was-here'[\s\S]*hostile\n$/, 'only /app is in the slug');
  t.deepEqual(await readdir(join(b.cacheDir)), []);
  t.deepEqual(b.leftovers(), []);
});
