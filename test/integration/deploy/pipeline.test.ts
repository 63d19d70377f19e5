/**
 * The deploy pipeline end to end on real parts: a commit pushed into an app's bare repo (the
 * real apps store made it), the real Dockerfile builder, the real release engine on real
 * containers (the runtime, user namespaces, the app's network group) and a real nginx behind
 * the ProxyRouter, real HTTP on loopback. A busybox app with a Procfile and a release phase is
 * deployed, replaced under a bounded request loop (50 a second, at most 3,000) with no failed
 * request, refused when its web process never listens (the old release answering
 * throughout), reconfigured and rolled back; a Dockerfile-only app is served on its EXPOSEd
 * port.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AppStore } from '../../../server/apps/index.js';
import { BuildCache, buildDockerfile } from '../../../server/build/index.js';
import { BerthError } from '../../../server/core/index.js';
import { createDeployProcessor, imageFacts, type DeployPorts } from '../../../server/deploy/index.js';
import { startRequestLoop, summarize } from '../../helpers/request-loop.js';
import { useRelease, type ReleaseEnv } from '../../helpers/release.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';
import { testLogger } from '../../helpers/logger.js';
import { makeJob, makeRepo, push } from '../../unit/deploy/fixture.js';

const RATE_PER_SECOND = 50;
const MAX_REQUESTS = 3000;

interface DeployEnv {
  r: ReleaseEnv;
  apps: AppStore;
  ports: DeployPorts;
  deploy: ReturnType<typeof createDeployProcessor>;
  workDir: string;
}

async function useDeploy(t: ExecutionContext): Promise<DeployEnv> {
  const r = await useRelease(t);
  const home = await tempDir(t, 'berth-deploy-');
  const apps = new AppStore({ home });
  const cache = await BuildCache.open(join(home, 'build-cache'));
  const workDir = join(home, 'tmp', 'deploys');
  const ports: DeployPorts = {
    apps,
    build: {
      dockerfile: (dir, options, progress) => buildDockerfile({ dir, images: r.c.store, containers: r.c.manager, cache }, options, progress),
      buildpacks: () => Promise.reject(new Error('this test builds Dockerfile apps only (the buildpack builder has its own tests)')),
    },
    images: { inspect: async (ref) => imageFacts(await r.c.store.resolve(ref)), tag: async (id, tag) => void (await r.c.store.tag(id, tag)) },
    release: r.engine,
    settings: { domain: 'localhost', httpPort: r.nginx.port, workDir, maxSourceBytes: 64 * 1024 * 1024, maxFileBytes: 1024 * 1024 },
    log: testLogger(home),
  };
  return { r, apps, ports, deploy: createDeployProcessor(ports), workDir };
}

/** A busybox app: its version in /app/version, a web process that says it (and $GREETING), a release phase. */
const procfileApp = (
  version: string,
  web = 'mkdir -p /tmp/www && echo "$(cat /app/version)${GREETING:+ $GREETING}" > /tmp/www/index.html && exec httpd -f -p $PORT -h /tmp/www',
) => ({
  Dockerfile: 'FROM busybox\nCOPY . /app\nCMD ["sh", "-c", "echo the Procfile should win; exit 1"]\n',
  Procfile: `web: ${web}\nrelease: echo "release phase of $(cat /app/version) as $DYNO"\n`,
  version: `${version}\n`,
});

test('push → live: v1 serves; v2 replaces it with no failed request; a v3 that never listens is refused while v2 answers; config and rollback', async (t) => {
  const d = await useDeploy(t);
  const app = uniqueName('app');
  await d.apps.create(app);
  t.teardown(() => d.r.engine.stopApp(app));
  const repo = await makeRepo(t, d.apps.paths(app).repo);

  // v1
  const c1 = await repo.commit(procfileApp('v1'));
  const job1 = makeJob(app, push(c1));
  const r1 = await d.deploy(job1);
  t.deepEqual(job1.stages, ['receive', 'build', 'release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record']);
  t.like(r1, { release: 1, url: `http://${app}.localhost:${d.r.nginx.port}/` });
  t.true(job1.lines.includes('Step 1/4 : FROM busybox'), job1.lines.join('\n'));
  t.true(job1.lines.includes('release phase of v1 as release.1'), job1.lines.join('\n'));
  t.is((await d.r.get(app)).body, 'v1\n');
  t.like(await d.apps.get(app), { currentRelease: 1, scale: { web: 1 } });
  t.deepEqual(
    d.r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r1`],
  );
  t.true(d.r.c.store.tags().has(`berth/${app}:v1`), "the release's image is tagged, out of the GC's reach");

  // v2 under the request loop
  const loop = startRequestLoop(t, {
    url: `http://127.0.0.1:${d.r.nginx.port}/`,
    headers: { Host: `${app}.localhost` },
    ratePerSecond: RATE_PER_SECOND,
    max: MAX_REQUESTS,
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const job2 = makeJob(app, push(await repo.commit(procfileApp('v2'))));
  await d.deploy(job2);
  const s2 = summarize(await loop.finish(500), ['v1', 'v2']);
  t.deepEqual(s2.failed, [], 'no request failed during the deploy of v2');
  t.is(s2.switches, 1, `answers switched ${s2.switches} times: ${s2.answers.join(' ')}`);
  t.is(s2.answers.at(-1), 'v2');

  // v3 never listens
  const loop3 = startRequestLoop(t, {
    url: `http://127.0.0.1:${d.r.nginx.port}/`,
    headers: { Host: `${app}.localhost` },
    ratePerSecond: RATE_PER_SECOND,
    max: MAX_REQUESTS,
  });
  const job3 = makeJob(app, push(await repo.commit(procfileApp('v3', 'echo "v3 boots but never listens"; exec sleep 600'))));
  const e = await t.throwsAsync(d.deploy(job3), { instanceOf: BerthError });
  t.is(e?.code, 'E_RELEASE_CHECK_FAILED');
  t.regex(e?.message ?? '', /^the checks stage failed: .*nothing listened on .*v3 boots but never listens/s);
  t.regex(e?.hint ?? '', /Release v2 keeps serving, untouched\.$/);
  const s3 = summarize(await loop3.finish(500), ['v2']);
  t.deepEqual(s3.failed, [], 'v2 answered every request while v3 was checked and refused');
  t.deepEqual(
    d.r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r2`],
    'nothing of release 3 is left running',
  );
  t.like(await d.apps.get(app), { currentRelease: 2 });
  t.like(await d.apps.release(app, 3), { description: `Deploy ${job3.request.kind === 'push' ? job3.request.commit.slice(0, 7) : ''}` });

  // config: a new release of the v2 image with GREETING
  await d.apps.update(app, (a) => {
    a.env = { GREETING: 'hello' };
  });
  const job4 = makeJob(app, { kind: 'config', keys: ['GREETING'], requestedAt: new Date().toISOString() });
  t.like(await d.deploy(job4), { release: 4 });
  t.deepEqual(job4.stages, ['release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record']);
  t.is((await d.r.get(app)).body, 'v2 hello\n');

  // rollback to v1: its image and its config vars (none)
  const job5 = makeJob(app, { kind: 'rollback', release: 1, requestedAt: new Date().toISOString() });
  t.like(await d.deploy(job5), { release: 5 });
  t.is((await d.r.get(app)).body, 'v1\n');
  t.like(await d.apps.get(app), { currentRelease: 5, env: {} });
  t.deepEqual(
    d.r.c.manager.list({ all: true, labels: [`berth.app=${app}`] }).map((c) => c.name),
    [`${app}.web.1.r5`],
  );
  t.deepEqual(await readdir(d.workDir), [], 'no received tree is left');
});

test("a Dockerfile app without a Procfile runs the image's CMD and is served on its one EXPOSEd port", async (t) => {
  const d = await useDeploy(t);
  const app = uniqueName('app');
  await d.apps.create(app);
  t.teardown(() => d.r.engine.stopApp(app));
  const repo = await makeRepo(t, d.apps.paths(app).repo);
  const commit = await repo.commit({
    Dockerfile: 'FROM busybox\nCOPY www /www\nEXPOSE 8080\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
    'www/index.html': 'plain\n',
  });
  const job = makeJob(app, push(commit));
  await d.deploy(job);
  t.false(job.stages.includes('release-phase'));
  t.is((await d.r.get(app)).body, 'plain\n');
  t.deepEqual(
    d.r.router.route(app)?.upstreams.map((u) => u.port),
    [8080],
  );
  t.like(await d.apps.release(app, 1), { builder: 'dockerfile', processTypes: { web: 'httpd -f -p 8080 -h /www' }, scale: { web: 1 } });
});
