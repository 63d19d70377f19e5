/**
 * Push to live over HTTP, end to end: the real daemon from dist/ on random ports, real `git
 * push` with the token, the real pre-receive hook, queue (embedded Redis), buildpack build on
 * the stack image, release engine on real containers and the embedded nginx, and real HTTP
 * on loopback. The app is the Procfile fixture (busybox httpd answering its VERSION).
 */
import test from 'ava';
import { git } from '../helpers/git-server.js';
import { fixtureTree, nextVersion, push, startPushDaemon } from '../helpers/push-daemon.js';
import { startRequestLoop, summarize } from '../helpers/request-loop.js';
import { uniqueName } from '../helpers/temp-dir.js';

const RATE_PER_SECOND = 50;
const MAX_REQUESTS = 3000;

test('create, push over HTTP, served through nginx; v2 under load with no failed request; a v3 that never listens is refused while v2 answers', async (t) => {
  t.timeout(6 * 60_000);
  const d = await startPushDaemon(t);
  const app = uniqueName('app');
  const created = await d.cli('apps:create', app);
  t.is(created.code, 0, created.stderr);

  // v1: the push shows the build and the deploy stages, and the app answers through nginx.
  const work = await fixtureTree(t, 'v1');
  const r1 = await push(work, d.remote(app));
  t.is(r1.code, 0, `${r1.stderr}\n${d.output()}`);
  for (const heading of [
    /^remote: -----> Receiving commit [0-9a-f]{7} of main$/m,
    /^remote: -----> Procfile app detected$/m,
    /^remote: -----> Releasing$/m,
    /^remote: -----> Starting web=1 \(release 1\)$/m,
    /^remote: -----> Checking 1 container: /m,
    new RegExp(`^remote: -----> Switching ${app}\\.localhost to release 1$`, 'm'),
    /^remote: -----> Recording$/m,
    new RegExp(`^remote: {8}v1 is live: http://${app}\\.localhost:${d.httpPort}/$`, 'm'),
  ])
    t.regex(r1.stderr, heading);
  const v1 = await d.get(app);
  t.is(v1.status, 200);
  t.is(v1.body, 'v1\n');
  t.deepEqual(await d.containersOf(app), [`${app}.web.1.r1`]);

  // v2 under a bounded request loop: no failed request, one switch v1 → v2.
  const loop = startRequestLoop(t, { ...d.target(app), ratePerSecond: RATE_PER_SECOND, max: MAX_REQUESTS });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await nextVersion(work, 'v2');
  const r2 = await push(work, d.remote(app));
  t.is(r2.code, 0, r2.stderr);
  const pushed = Date.now();
  const samples = await loop.finish(500);
  const s2 = summarize(samples, ['v1', 'v2']);
  t.deepEqual(s2.failed, [], 'no request failed during the deploy of v2');
  // v1 until the switch; v2 from the end of the push (the retire stage waits for nginx's old
  // workers to exit). In between, during nginx's reload, old and new workers both take new
  // connections for a moment, so answers may alternate there (docs/releases.md, "The switch").
  const firstV2 = s2.answers.indexOf('v2');
  t.true(firstV2 > 0, `v1 first, then v2: ${s2.answers.join(' ')}`);
  t.true(
    s2.answers.slice(0, firstV2).every((a) => a === 'v1'),
    'only v1 before the switch',
  );
  const after = samples.filter((x) => x.at > pushed);
  t.true(after.length > 0 && after.every((x) => x.answer === 'v2'), `only v2 once the push ended: ${after.map((x) => x.answer).join(' ')}`);
  const overlap = samples.filter((x, i) => i > firstV2 && x.answer === 'v1');
  if (overlap.length > 0)
    t.log(
      `v1 answered ${overlap.length} times in the reload window, within ${Math.max(...overlap.map((x) => x.at)) - (samples[firstV2]?.at ?? 0)} ms of the first v2`,
    );
  t.is(s2.answers.at(-1), 'v2');
  t.true(s2.answers.length >= 50, `${s2.answers.length} requests`);

  // v3 never listens: the push is refused with the check's output; v2 answers throughout.
  const loop3 = startRequestLoop(t, { ...d.target(app), ratePerSecond: RATE_PER_SECOND, max: MAX_REQUESTS });
  await nextVersion(work, 'v3', { Procfile: 'web: echo "v3 boots but never listens"; exec sleep 600\n' });
  const r3 = await push(work, d.remote(app));
  t.not(r3.code, 0, r3.stderr);
  t.regex(r3.stderr, /E_RELEASE_CHECK_FAILED/);
  t.regex(r3.stderr, /nothing listened on/);
  t.regex(r3.stderr, /v3 boots but never listens/);
  t.regex(r3.stderr, /pre-receive hook declined/);
  const s3 = summarize(await loop3.finish(500), ['v2']);
  t.deepEqual(s3.failed, [], 'v2 answered every request while v3 was checked and refused');
  t.deepEqual(await d.containersOf(app), [`${app}.web.1.r2`], 'no container of v3 is left');
  t.is((await d.get(app)).body, 'v2\n');
  const refused = await git(work, 'ls-remote', d.remote(app), 'refs/heads/main');
  t.false(refused.stdout.startsWith((await git(work, 'rev-parse', 'HEAD')).stdout.trim()), 'the refused commit is not stored');
});
