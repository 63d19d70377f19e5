/**
 * The release engine end to end on real parts: containers on the real runtime (user
 * namespaces, the app's network group), a real nginx behind the ProxyRouter, real HTTP on
 * loopback. A busybox httpd app that names its version is deployed as release 1; release 2
 * replaces it under a bounded request loop (50 a second, at most 3,000, stopping by itself)
 * with no failed request and one switch from v1 to v2; a release 3 whose web process never
 * listens fails its checks, v2 answering throughout, and leaves no container.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { containerLeftovers } from '../../helpers/containers.js';
import { recorder, useRelease } from '../../helpers/release.js';
import { startRequestLoop, summarize } from '../../helpers/request-loop.js';
import { uniqueName } from '../../helpers/temp-dir.js';

const RATE_PER_SECOND = 50;
const MAX_REQUESTS = 3000;

test('v1 serves; v2 replaces it with 0 failed requests and one switch; a v3 that never listens is refused while v2 keeps answering', async (t) => {
  const r = await useRelease(t);
  const app = uniqueName('app');
  const [v1, v2, v3] = [await r.appImage('v1'), await r.appImage('v2'), await r.appImage('v3')];
  const userns = r.userns();

  // Release 1.
  const one = recorder();
  const first = await r.engine.deploy(r.plan(app, 1, v1, { env: { GREETING: 'hi' }, userns }), one.io);
  t.deepEqual(
    one.stages.map((s) => s.name),
    ['start', 'checks', 'switch', 'retire'],
  );
  t.is(first.containers.length, 1);
  t.deepEqual(first.retired, []);
  const web1 = r.c.manager.inspect(first.containers[0] as string);
  t.is(web1.name, `${app}.web.1.r1`);
  t.is(web1.state, 'running');
  t.is(web1.networkGroup, `app.${app}`);
  t.deepEqual(web1.userns, userns);
  t.like(web1.config.labels, { 'berth.app': app, 'berth.release': '1', 'berth.process': 'web' });
  t.true(web1.config.env.includes('PORT=5000') && web1.config.env.includes('DYNO=web.1') && web1.config.env.includes('GREETING=hi'), web1.config.env.join(' '));
  t.deepEqual(first.upstreams, [{ address: web1.network?.address, port: 5000 }]);
  const answer = await r.get(app);
  t.is(answer.status, 200);
  t.is(answer.body, 'v1\n');
  t.true(
    one.lines.some((l) => l.startsWith('-----> Switching')),
    one.lines.join('\n'),
  );

  // Release 2 under the loop.
  const loop = startRequestLoop(t, {
    url: `http://127.0.0.1:${r.nginx.port}/`,
    headers: { Host: `${app}.localhost` },
    ratePerSecond: RATE_PER_SECOND,
    max: MAX_REQUESTS,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const two = recorder();
  const second = await r.engine.deploy(r.plan(app, 2, v2, { userns }), two.io);
  const switched = two.stages.find((s) => s.name === 'retire')?.at ?? Infinity;
  const samples = await loop.finish(1000);
  const s2 = summarize(samples, ['v1', 'v2']);
  t.deepEqual(s2.failed, [], 'no request failed during the deploy of v2');
  t.is(s2.answers[0], 'v1');
  t.is(s2.answers.at(-1), 'v2');
  t.is(s2.switches, 1, `answers switched ${s2.switches} times: ${s2.answers.join(' ')}`);
  t.deepEqual(
    samples.filter((s) => s.at >= switched && s.answer === 'v1'),
    [],
    'after the switch, v1 got no new request',
  );
  t.true(samples.length <= MAX_REQUESTS && samples.length >= 50, `${samples.length} requests`);
  t.deepEqual(second.retired, first.containers, 'release 1 was retired');
  t.deepEqual(
    r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r2`],
  );
  t.log(`v2: ${samples.length} requests, ${s2.answers.indexOf('v2')} answered by v1; ${two.lines.join(' | ')}`);

  // Release 3 never listens: its check fails, v2 keeps answering.
  const loop3 = startRequestLoop(t, {
    url: `http://127.0.0.1:${r.nginx.port}/`,
    headers: { Host: `${app}.localhost` },
    ratePerSecond: RATE_PER_SECOND,
    max: MAX_REQUESTS,
  });
  const three = recorder();
  const never = { web: { argv: ['sh', '-c', 'echo "v3 boots but never listens"; exec sleep 600'] } };
  const err = await t.throwsAsync(r.engine.deploy(r.plan(app, 3, v3, { userns, processes: never }), three.io), { instanceOf: BerthError });
  t.is(err?.code, 'E_RELEASE_CHECK_FAILED');
  t.regex(
    err?.message ?? '',
    new RegExp(`health check "default web check" of container ${app}\\.web\\.1\\.r3 failed: nothing listened on [0-9.]+:5000 \\(PORT\\) within 5 s`),
  );
  t.regex(err?.message ?? '', /the container's last log lines:\n {2}v3 boots but never listens/);
  const samples3 = await loop3.finish(1000);
  const s3 = summarize(samples3, ['v2']);
  t.deepEqual(s3.failed, [], 'v2 answered every request while v3 was checked and refused');
  t.true(samples3.length >= 100, `${samples3.length} requests`);
  t.deepEqual(
    three.stages.map((s) => s.name),
    ['start', 'checks'],
  );
  t.deepEqual(
    r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r2`],
    'no release-3 container is left',
  );
  const left = containerLeftovers(r.c.root, r.c.network);
  t.deepEqual(
    left.filter((l) => l.startsWith('runtime container')),
    [`runtime container ${second.containers[0]} (running)`],
    'the runtime has only the release-2 container',
  );
  t.is(left.filter((l) => l.startsWith('veth on')).length, 1, left.join('\n'));
  t.deepEqual(r.router.route(app)?.upstreams, second.upstreams, 'the route still points at release 2');

  // apps:destroy: the route goes, then the containers.
  await r.engine.stopApp(app);
  t.is((await r.get(app)).status, 404, 'the app is gone from nginx');
  t.deepEqual(r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }), []);
  t.deepEqual(r.c.leftovers(), []);
});

test('the release phase runs once with the config vars before the processes; a failing one aborts and the running release is untouched', async (t) => {
  const r = await useRelease(t);
  const app = uniqueName('app');
  const [v1, v2] = [await r.appImage('v1'), await r.appImage('v2')];
  const userns = r.userns();
  const one = recorder();
  const env = { GREETING: 'hello' };
  await r.engine.deploy(r.plan(app, 1, v1, { env, userns, releaseCommand: ['sh', '-c', 'echo "migrating with $GREETING as $DYNO"; id -u'] }), one.io);
  t.deepEqual(
    one.stages.map((s) => s.name),
    ['release-phase', 'start', 'checks', 'switch', 'retire'],
  );
  t.true(one.lines.includes('migrating with hello as release.1'), one.lines.join('\n'));
  t.true(one.lines.includes('0'), 'root in its user namespace');
  t.is((await r.get(app)).body, 'v1\n');

  const two = recorder();
  const failing = ['sh', '-c', 'echo "migration 7 of 9"; echo "relation users does not exist" >&2; exit 3'];
  const err = await t.throwsAsync(r.engine.deploy(r.plan(app, 2, v2, { env, userns, releaseCommand: failing }), two.io), { instanceOf: BerthError });
  t.is(err?.code, 'E_RELEASE_PHASE_FAILED');
  t.is(err?.details.exitCode, 3);
  t.regex(
    err?.message ?? '',
    /exited with status 3; the deploy stopped before starting anything, the running release is untouched; its last lines:\n {2}migration 7 of 9\n {2}relation users does not exist$/,
  );
  t.deepEqual(
    two.stages.map((s) => s.name),
    ['release-phase'],
  );
  t.true(two.lines.includes('relation users does not exist'), 'its output streamed as it came');
  t.deepEqual(
    r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r1`],
    'no container of release 2, the release-phase container removed',
  );
  t.is((await r.get(app)).body, 'v1\n');
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});

test("two apps' containers run in different user namespaces: each app's processes are root of its own range", async (t) => {
  const r = await useRelease(t);
  const [a, b] = [uniqueName('app'), uniqueName('app')];
  const image = await r.appImage('v1');
  const [ua, ub] = [r.userns(), r.userns()];
  t.not(ua.hostId, ub.hostId);
  const da = await r.engine.deploy(r.plan(a, 1, image, { userns: ua, scale: { web: 2 } }), recorder().io);
  const db = await r.engine.deploy(r.plan(b, 1, image, { userns: ub }), recorder().io);
  const { readFile } = await import('node:fs/promises');
  const uidMap = async (id: string) => {
    const pid = r.c.manager.inspect(id).pid;
    return (await readFile(`/proc/${pid}/uid_map`, 'utf8')).trim().split(/\s+/).map(Number);
  };
  t.is(da.containers.length, 2);
  for (const id of da.containers) t.deepEqual(await uidMap(id), [0, ua.hostId, ua.size], 'both of app a’s containers share its map');
  t.deepEqual(await uidMap(db.containers[0] as string), [0, ub.hostId, ub.size]);
  t.is((await r.get(a)).body, 'v1\n');
  t.is((await r.get(b)).body, 'v1\n');
  await r.engine.stopApp(a);
  await r.engine.stopApp(b);
  t.deepEqual(r.c.leftovers(), []);
});
