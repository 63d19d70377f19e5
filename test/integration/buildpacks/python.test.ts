/**
 * The bundled python buildpack in real build containers on the stack image: a virtualenv
 * at /app/.venv with one dependency from a local wheel index the test builds and serves.
 *
 * Where the index runs: a build container reaches no host service (host loopback and the
 * bridge gateway are refused by design), nor another app's container. So the index runs in
 * a network namespace of the test's own, joined to the host by a veth pair on an address of
 * 198.18.0.0/15 (RFC 2544's benchmarking range, routed nowhere): to the build container it is
 * another machine, reached through the build network's outbound NAT like any registry.
 * Nothing of the isolation is loosened. pip refuses plain HTTP indexes unless trusted, so
 * the app's config names it in PIP_TRUSTED_HOST, as an app with a private index would.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { requireBinary } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { fixtures, useApps } from './apps.js';
import { httpGet, waitFor } from '../../helpers/http.js';

function ip(...args: string[]): void {
  const r = spawnSync('/usr/sbin/ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** The wheel index, served by python3 -m http.server in a namespace of the test's own; its URL. */
async function serveIndex(t: ExecutionContext): Promise<{ url: string; host: string; closedUrl: string }> {
  requireBinary('/usr/sbin/ip', 'iproute2');
  const dir = await tempDir(t, 'wheels-');
  const built = spawnSync('python3', [join(fixtures, 'python-index/build-index.py'), dir], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build-index.py: ${built.stderr}`);
  const id = randomBytes(4).toString('hex');
  const ns = `bpidx${id}`;
  const [hostEnd, nsEnd] = [`vh${id}`, `vn${id}`];
  // A /30 of 198.18.0.0/15 of this test's own: .1 the host's end, .2 the index.
  const net = randomInt(0, 2 ** 15) * 4;
  const addr = (n: number) => `198.${18 + (net >> 16)}.${(net >> 8) & 255}.${(net & 255) + n}`;
  ip('netns', 'add', ns);
  t.teardown(() => {
    spawnSync('/usr/sbin/ip', ['netns', 'del', ns]);
  });
  ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', ns);
  ip('addr', 'add', `${addr(1)}/30`, 'dev', hostEnd);
  ip('link', 'set', hostEnd, 'up');
  ip('-n', ns, 'addr', 'add', `${addr(2)}/30`, 'dev', nsEnd);
  ip('-n', ns, 'link', 'set', nsEnd, 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const server = spawn('/usr/sbin/ip', ['netns', 'exec', ns, 'python3', '-m', 'http.server', '--bind', addr(2), '8080', '--directory', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  t.teardown(() => {
    server.kill('SIGKILL');
  });
  const url = `http://${addr(2)}:8080/simple/`;
  // A python3 that starts on a loaded machine can take well over 10 s; one that exited says why.
  await waitFor(
    `the wheel index at ${url}`,
    () => {
      if (server.exitCode !== null) throw new Error(`python3 -m http.server exited with ${server.exitCode}: ${stderr}`);
      return httpGet(`${url}berth-greeting/`).then((a) => (a.status === 200 ? a : undefined));
    },
    60_000,
  );
  return { url, host: addr(2), closedUrl: `http://${addr(2)}:8081/simple/` };
}

test.serial('a Python app with one dependency from a local wheel index builds and answers', async (t) => {
  t.timeout(10 * 60_000);
  const b = await useApps(t);
  const index = await serveIndex(t);
  const dir = await b.fixture('python');
  const env = { PIP_INDEX_URL: index.url, PIP_TRUSTED_HOST: index.host };

  const r = await b.build2(dir, { tags: ['py-app:1'], env });
  t.is(r.error, undefined, `${r.error?.message}\n${r.text}`);
  t.true(r.lines.includes('-----> Python app detected'), r.text);
  t.regex(r.text, /-----> Using Python 3\.\d+\.\d+ \(Debian's python3 from the stack\)/);
  t.regex(r.text, /Successfully installed berth-greeting-1\.0\.0/);
  t.deepEqual(JSON.parse(r.result!.image.config.config!.Labels!['berth.process-types']!), { web: 'python app.py' });

  const app = await b.serve('py-app:1');
  const answer = await app.get('/');
  t.is(answer.status, 200);
  t.is(answer.body, 'hello from berth-greeting 1.0.0 from python 3.11 in /app/.venv\n');

  const again = await b.build2(dir, { tags: ['py-app:2'], env });
  t.is(again.error, undefined, again.text);
  t.regex(again.text, /Reusing the virtualenv from the previous build \(requirements and python unchanged\)/);
  t.regex((await (await b.serve('py-app:2')).get('/')).body, /^hello from berth-greeting 1\.0\.0/);
});

test.serial('an index that cannot be reached is named in the error', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useApps(t);
  const index = await serveIndex(t);
  const dir = await b.fixture('python');
  const r = await b.build2(dir, { tags: ['py-bad:1'], env: { PIP_INDEX_URL: index.closedUrl } });
  t.truthy(r.error, r.text);
  t.true(r.text.includes(` !     The package index ${index.closedUrl} (PIP_INDEX_URL) cannot be reached: `), r.text);
  t.regex(r.text, /Check PIP_INDEX_URL in the app's config/);
  t.false(b.c.store.tags().has('py-bad:1'), 'nothing tagged');
});
