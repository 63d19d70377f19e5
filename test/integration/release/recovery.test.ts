/**
 * When a deploy cannot finish: an nginx that is down at the switch (waited for, then the
 * deploy fails saying so, routes unchanged), a cancel during the checks, and what a deploy
 * killed with the daemon left (cleanupInterrupted): before the switch its containers go and
 * the old release keeps serving; after the switch the new release is kept and the old one
 * retired. Real containers, real nginx.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { processRequest } from '../../../server/release/processes.js';
import { recorder, useRelease, type ReleaseEnv } from '../../helpers/release.js';
import { uniqueName } from '../../helpers/temp-dir.js';

const names = (r: ReleaseEnv, app: string) =>
  r.c.manager
    .list({ all: true, labels: [`berth.app=${app}`] })
    .map((c) => `${c.name} ${c.state}`)
    .sort();

test('nginx down at the switch: the deploy waits the bounded time, fails saying so, and changes nothing', async (t) => {
  const r = await useRelease(t, { switchWaitSeconds: 2 });
  const app = uniqueName('app');
  const userns = r.userns();
  const first = await r.engine.deploy(r.plan(app, 1, await r.appImage('v1'), { userns }), recorder().io);
  await r.nginx.stop();
  const two = recorder();
  const err = await t.throwsAsync(r.engine.deploy(r.plan(app, 2, await r.appImage('v2'), { userns }), two.io), { instanceOf: BerthError });
  t.is(err?.code, 'E_RELEASE_SWITCH_FAILED');
  t.regex(
    err?.message ?? '',
    new RegExp(`^nginx was not available and did not come back within 2 s, so app ${app}'s route was not changed: nginx is not running`),
  );
  t.true(
    two.lines.some((l) => /nginx is not available .*; waiting up to 2 s for it to come back/.test(l)),
    two.lines.join('\n'),
  );
  t.deepEqual(names(r, app), [`${app}.web.1.r1 running`], 'release 2 removed, release 1 untouched');
  t.deepEqual(r.router.route(app)?.upstreams, first.upstreams, "the app's route still names release 1");
  // apps:destroy with nginx down: nothing is removed, so no route is left naming gone containers.
  const destroy = await t.throwsAsync(r.engine.stopApp(app), { instanceOf: BerthError });
  t.is(destroy?.code, 'E_RELEASE_SWITCH_FAILED');
  t.deepEqual(names(r, app), [`${app}.web.1.r1 running`]);
});

test('a deploy cancelled during its checks removes its containers; the old release keeps serving', async (t) => {
  const r = await useRelease(t);
  const app = uniqueName('app');
  const userns = r.userns();
  await r.engine.deploy(r.plan(app, 1, await r.appImage('v1'), { userns }), recorder().io);
  const two = recorder();
  const slow = { web: [{ name: 'a long warm-up', uptime: 60 }] };
  const deploying = r.engine.deploy(r.plan(app, 2, await r.appImage('v2'), { userns, healthchecks: slow }), {
    ...two.io,
    stage: (name) => {
      two.io.stage(name);
      if (name === 'checks') setTimeout(() => two.abort.abort(new Error('builds:cancel')), 500);
    },
  });
  const err = await t.throwsAsync(deploying, { instanceOf: BerthError });
  t.is(err?.code, 'E_RELEASE_CANCELLED');
  t.deepEqual(names(r, app), [`${app}.web.1.r1 running`]);
  t.is((await r.get(app)).body, 'v1\n');
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});

/** What a deploy of release 2 that died after starting its containers left: them, running. */
async function leftBehind(r: ReleaseEnv, plan: Parameters<typeof processRequest>[0]): Promise<string[]> {
  const ids: string[] = [];
  for (const n of [1, 2]) {
    const made = await r.c.manager.create(processRequest(plan, 'web', n));
    ids.push((await r.c.manager.start(made.id)).id);
  }
  return ids;
}

test('after a crash before the switch, cleanupInterrupted removes the new containers and the old release keeps serving', async (t) => {
  const r = await useRelease(t);
  const app = uniqueName('app');
  const userns = r.userns();
  await r.engine.deploy(r.plan(app, 1, await r.appImage('v1'), { userns }), recorder().io);
  const plan2 = r.plan(app, 2, await r.appImage('v2'), { userns, scale: { web: 2 } });
  const ids = await leftBehind(r, plan2);
  const outcome = await r.engine.cleanupInterrupted(app, 2);
  t.deepEqual([...outcome.removed].sort(), [...ids].sort());
  t.is(outcome.serving, 1);
  t.deepEqual(names(r, app), [`${app}.web.1.r1 running`]);
  t.is((await r.get(app)).body, 'v1\n');
  // The same release deploys cleanly afterwards.
  await r.engine.deploy(plan2, recorder().io);
  t.is((await r.get(app)).body, 'v2\n');
  t.deepEqual(names(r, app), [`${app}.web.1.r2 running`, `${app}.web.2.r2 running`]);
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});

test('after a crash between the switch and the retire, cleanupInterrupted keeps the new release serving and retires the old one', async (t) => {
  const r = await useRelease(t);
  const app = uniqueName('app');
  const userns = r.userns();
  await r.engine.deploy(r.plan(app, 1, await r.appImage('v1'), { userns }), recorder().io);
  const plan2 = r.plan(app, 2, await r.appImage('v2'), { userns });
  const ids = await leftBehind(r, plan2);
  const upstreams = ids.map((id) => ({ address: r.c.manager.inspect(id).network?.address as string, port: 5000 }));
  await r.router.apply({ app, domains: plan2.domains, upstreams });
  t.is((await r.get(app)).body, 'v2\n');
  const outcome = await r.engine.cleanupInterrupted(app, 2);
  t.is(outcome.serving, 2);
  t.is(outcome.removed.length, 1, 'release 1 retired');
  t.deepEqual(names(r, app), [`${app}.web.1.r2 running`, `${app}.web.2.r2 running`]);
  t.is((await r.get(app)).body, 'v2\n');
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});
