/**
 * Health checks on real containers: app.json checks (Dokku's format) and an image's
 * HEALTHCHECK are honoured; a failing one, or a web process that crashes on start, fails the
 * deploy with what the check saw while the running release keeps answering, and only the
 * new containers are removed.
 */
import test, { type ExecutionContext } from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { recorder, useRelease, type ReleaseEnv } from '../../helpers/release.js';
import { uniqueName } from '../../helpers/temp-dir.js';

/** Release 1 of a new app, serving v1. */
async function serving(r: ReleaseEnv): Promise<{ app: string; userns: { hostId: number; size: number } }> {
  const app = uniqueName('app');
  const userns = r.userns();
  await r.engine.deploy(r.plan(app, 1, await r.appImage('v1'), { userns }), recorder().io);
  return { app, userns };
}

/** Only release 1's container is there, and it answers v1. */
async function untouched(t: ExecutionContext, r: ReleaseEnv, app: string): Promise<void> {
  t.deepEqual(
    r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => `${c.name} ${c.state}`),
    [`${app}.web.1.r1 running`],
  );
  t.is((await r.get(app)).body, 'v1\n');
}

test('app.json checks: a path check with content passes; one whose content is missing fails with the answer it got', async (t) => {
  const r = await useRelease(t);
  const { app, userns } = await serving(r);
  const v2 = await r.appImage('v2');
  const good = { web: [{ type: 'startup', name: 'index says v2', path: '/index.html', content: 'v2', attempts: 5, wait: 1 }] };
  const ok = recorder();
  await r.engine.deploy(r.plan(app, 2, v2, { userns, healthchecks: good }), ok.io);
  t.true(ok.lines.includes('-----> Checking 1 container: index says v2'), ok.lines.join('\n'));
  t.is((await r.get(app)).body, 'v2\n');

  const bad = { web: [{ name: 'wants v9', path: '/index.html', content: 'v9', attempts: 2, wait: 1, timeout: 2 }] };
  const err = await t.throwsAsync(r.engine.deploy(r.plan(app, 3, await r.appImage('v3'), { userns, healthchecks: bad }), recorder().io), {
    instanceOf: BerthError,
  });
  t.is(err?.code, 'E_RELEASE_CHECK_FAILED');
  t.regex(
    err?.message ?? '',
    new RegExp(
      `^health check "wants v9" of container ${app}\\.web\\.1\\.r3 failed: GET http://[0-9.]+:5000/index\\.html answered HTTP 200 without "v9" in its body \\(attempt 2 of 2\\)\\nthe check's output:\\n {2}v3\\n`,
    ),
  );
  t.is((await r.get(app)).body, 'v2\n', 'release 2 keeps serving');
  t.deepEqual(
    r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r2`],
  );
  const invalid = await t.throwsAsync(r.engine.deploy(r.plan(app, 3, v2, { userns, healthchecks: { web: [{ path: '/', timout: 3 }] } }), recorder().io), {
    instanceOf: BerthError,
  });
  t.is(invalid?.code, 'E_RELEASE_HEALTHCHECKS_INVALID');
  t.is(invalid?.message, 'app.json healthchecks are not valid:\n  healthchecks.web[0]: unknown key "timout"');
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});

test("an image's HEALTHCHECK runs in the web container: one that passes lets the release in, one that fails keeps it out with its output", async (t) => {
  const r = await useRelease(t);
  const { app, userns } = await serving(r);
  const passing = await r.appImage('v2', {
    Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- "http://127.0.0.1:$PORT/" | grep -q v2'], Interval: 500e6, Retries: 10 },
  });
  const failing = await r.appImage('v3', { Healthcheck: { Test: ['CMD-SHELL', 'echo "cache not warm"; exit 1'], Interval: 200e6, Retries: 2 } });

  const bad = recorder();
  const err = await t.throwsAsync(r.engine.deploy(r.plan(app, 2, failing, { userns }), bad.io), { instanceOf: BerthError });
  t.is(err?.code, 'E_RELEASE_CHECK_FAILED');
  t.regex(
    err?.message ?? '',
    /health check "Dockerfile HEALTHCHECK" of container .*\.web\.1\.r2 failed: \["\/bin\/sh","-c","echo \\"cache not warm\\"; exit 1"\] exited with status 1 \(attempt 2 of 2\)\nthe check's output:\n {2}cache not warm\n/,
  );
  await untouched(t, r, app);

  const good = recorder();
  await r.engine.deploy(r.plan(app, 3, passing, { userns }), good.io);
  t.true(good.lines.includes('-----> Checking 1 container: default web check, Dockerfile HEALTHCHECK'), good.lines.join('\n'));
  t.is((await r.get(app)).body, 'v2\n');
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});

test('a web process that crashes on start fails its check at once, with its exit status and last log lines', async (t) => {
  const r = await useRelease(t, { bootTimeoutSeconds: 60 });
  const { app, userns } = await serving(r);
  const crash = { web: { argv: ['sh', '-c', 'echo "Error: Cannot find module express" >&2; exit 7'] } };
  const t0 = Date.now();
  const err = await t.throwsAsync(r.engine.deploy(r.plan(app, 2, await r.appImage('v2'), { userns, processes: crash }), recorder().io), {
    instanceOf: BerthError,
  });
  t.is(err?.code, 'E_RELEASE_CHECK_FAILED');
  t.regex(err?.message ?? '', /failed: the container exited with status 7\nthe container's last log lines:\n {2}Error: Cannot find module express$/);
  t.true(Date.now() - t0 < 30_000, 'it did not wait for the 60 s boot timeout');
  await untouched(t, r, app);
  await r.engine.stopApp(app);
  t.deepEqual(r.c.leftovers(), []);
});
