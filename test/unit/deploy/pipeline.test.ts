/**
 * The pipeline on a real bare git repo, with stand-ins for the builders, the image store and
 * the release engine (their own tests cover them; the integration test runs the real ones):
 * the stages in order, which builder and with what, the release record and plan, every
 * failure naming its stage and leaving no work directory, the jobs without a build, and the
 * cleanup after a kill -9.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AppStore, type AppRecord } from '../../../server/apps/index.js';
import { BerthError, createLogger } from '../../../server/core/index.js';
import { createDeployProcessor, createInterruptedCleanup } from '../../../server/deploy/index.js';
import { workPaths } from '../../../server/deploy/pipeline.js';
import type { BuildPort, DeployPorts, ImageFacts } from '../../../server/deploy/ports.js';
import type { ReleaseIo, ReleasePlan } from '../../../server/release/index.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { makeJob, makeRepo, push, type RecordedJob } from './fixture.js';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

interface World {
  home: string;
  apps: AppStore;
  ports: DeployPorts;
  builds: { builder: string; dir: string; options: Record<string, unknown>; files: string[] }[];
  plans: ReleasePlan[];
  images: Map<string, ImageFacts>;
  tags: [string, string][];
  cleaned: [string, number][];
  /** Make the next build fail with this error. */
  failBuild?: BerthError;
  /** Make the release engine fail in this stage. */
  failIn?: string;
  /** Run during the next build (to abort the job mid-build). */
  duringBuild?: () => void;
}

async function world(t: ExecutionContext): Promise<World> {
  const home = await tempDir(t, 'deploy-home-');
  const apps = new AppStore({ home, userns: { reservedFiles: [] } });
  const w = { home, apps, builds: [], plans: [], images: new Map(), tags: [], cleaned: [] } as unknown as World;
  let n = 0;
  const build = async (
    builder: string,
    dir: string,
    options: Record<string, unknown>,
    progress: (e: { type: 'output'; stream: 'stdout'; line: string }) => void,
  ) => {
    w.builds.push({ builder, dir, options, files: (await readdir(dir, { recursive: true })).sort() });
    progress({ type: 'output', stream: 'stdout', line: `building with ${builder}` });
    w.duringBuild?.();
    if (w.failBuild) throw w.failBuild;
    const id = digest(++n);
    const labels = (options.labels as Record<string, string> | undefined) ?? {};
    w.images.set(
      id,
      builder === 'dockerfile'
        ? { id, entrypoint: [], cmd: ['httpd', '-f'], exposedPorts: ['8080/tcp'], labels }
        : {
            id,
            entrypoint: [],
            cmd: ['/start', 'web'],
            exposedPorts: [],
            labels: { 'berth.buildpacks': '[]', 'berth.process-types': JSON.stringify({ web: 'bin/web', worker: 'bin/worker' }) },
          },
    );
    return { image: { digest: id } };
  };
  const buildPort: BuildPort = {
    dockerfile: (dir, options, progress) => build('dockerfile', dir, options as Record<string, unknown>, progress),
    buildpacks: (dir, settings, progress) => build('herokuish', dir, settings as unknown as Record<string, unknown>, progress),
  };
  w.ports = {
    apps,
    build: buildPort,
    images: {
      inspect: async (ref) => {
        const facts = w.images.get(ref);
        if (facts === undefined) throw new BerthError('E_BERTH_INTERNAL', `no image ${ref}`);
        return facts;
      },
      tag: async (id, tag) => void w.tags.push([id, tag]),
    },
    release: {
      deploy: async (plan: ReleasePlan, io: ReleaseIo) => {
        w.plans.push(plan);
        for (const stage of ['release-phase', 'start', 'checks', 'switch', 'retire'] as const) {
          if (stage === 'release-phase' && plan.releaseCommand === undefined) continue;
          io.stage(stage);
          io.line(`engine: ${stage}`);
          if (w.failIn === stage) throw new BerthError('E_BERTH_INTERNAL', `web.1 did not answer on port ${plan.port}`);
        }
        return { containers: [`${plan.app}.web.1.r${plan.release}`], upstreams: [], retired: [] };
      },
      cleanupInterrupted: async (app, release) => {
        w.cleaned.push([app, release]);
        return { removed: [] };
      },
    },
    settings: { domain: 'localhost', httpPort: 8080, workDir: join(home, 'tmp', 'deploys'), maxSourceBytes: 1 << 20, maxFileBytes: 4096 },
    log: createLogger({ level: 'fatal', pretty: false }),
  };
  return w;
}

/** An app of the real store (its bare repo made by create), with settings, and a work tree pushing to it. */
async function appWithRepo(t: ExecutionContext, w: World, name = 'hello', o: Partial<Pick<AppRecord, 'env' | 'buildpacks' | 'scale' | 'builder'>> = {}) {
  await w.apps.create(name);
  await w.apps.update(name, (a) => void Object.assign(a, o));
  return makeRepo(t, w.apps.paths(name).repo);
}

const run = async (w: World, job: RecordedJob) => createDeployProcessor(w.ports)(job);
const workDirLeft = async (w: World) => readdir(w.ports.settings.workDir).catch(() => []);

const dockerApp = {
  Dockerfile: 'FROM busybox\nCMD ["httpd", "-f"]\n',
  Procfile: 'web: httpd -f -p $PORT\nworker: sleep 1000\nrelease: echo migrating\n',
  'app.json': JSON.stringify({ healthchecks: { web: [{ type: 'startup', path: '/' }] }, scripts: { dokku: { predeploy: 'echo pre' } } }),
  'src/index.html': 'v1\n',
};

test('a push of a Dockerfile app goes through every stage in order and ends live, with its release recorded', async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  const commit = await repo.commit(dockerApp);
  const job = makeJob('hello', push(commit));
  const result = await run(w, job);

  t.deepEqual(job.stages, ['receive', 'build', 'release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record']);
  t.deepEqual(
    job.lines.filter((l) => l.startsWith('-----> ')),
    [`-----> Receiving commit ${commit.slice(0, 7)} of main`, '-----> Building hello from its Dockerfile', '-----> Releasing', '-----> Recording'],
    "the pipeline's own headings; the release engine prints its stages' headings itself",
  );
  t.true(job.lines.includes(`       4 files, ${Object.values(dockerApp).reduce((n, text) => n + Buffer.byteLength(text), 0)} B`), job.lines.join('\n'));
  t.true(job.lines.includes('building with dockerfile'), 'the build lines reach the job');
  t.true(job.lines.includes('engine: checks'), "the engine's lines reach the job");

  const [b] = w.builds;
  t.is(b?.builder, 'dockerfile');
  t.deepEqual(b?.files, ['Dockerfile', 'Procfile', 'app.json', 'src', 'src/index.html']);
  t.deepEqual(b?.options.labels, {
    'berth.source-commit': commit,
    'berth.process-types': JSON.stringify({ web: 'httpd -f -p $PORT', worker: 'sleep 1000', release: 'echo migrating' }),
  });
  t.true(b?.options.signal instanceof AbortSignal);

  const [plan] = w.plans;
  t.deepEqual(plan, {
    app: 'hello',
    release: 1,
    image: digest(1),
    processes: { web: { argv: ['/bin/sh', '-c', 'httpd -f -p $PORT'] }, worker: { argv: ['/bin/sh', '-c', 'sleep 1000'] } },
    scale: { web: 1, worker: 0 },
    env: {},
    port: 8080,
    domains: ['hello.localhost'],
    userns: (await w.apps.get('hello')).userns,
    healthchecks: { web: [{ type: 'startup', path: '/' }] },
    releaseCommand: ['/bin/sh', '-c', '(\necho pre\n) && (\necho migrating\n)'],
  });
  const [release] = await w.apps.releases('hello');
  t.like(release, { number: 1, image: digest(1), commit, builder: 'dockerfile', description: `Deploy ${commit.slice(0, 7)}`, scale: { web: 1, worker: 0 } });
  t.deepEqual(release?.processTypes, { web: 'httpd -f -p $PORT', worker: 'sleep 1000', release: 'echo migrating' });
  const app = await w.apps.get('hello');
  t.is(app.currentRelease, 1);
  t.deepEqual(app.scale, { web: 1, worker: 0 });
  t.deepEqual(w.tags, [[digest(1), 'berth/hello:v1']]);

  t.like(result, { release: 1, image: digest(1), url: 'http://hello.localhost:8080/' });
  t.deepEqual(Object.keys(result.timings as object), [
    'receive',
    'build',
    'release',
    'release-phase',
    'start',
    'checks',
    'switch',
    'retire',
    'record',
    'total',
  ]);
  t.deepEqual(await workDirLeft(w), [], 'the received tree is gone');
});

test("a push without a Dockerfile is built with buildpacks, with the app's cache, config vars and buildpacks; the scale it had is kept", async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w, 'bp', { env: { GREETING: 'hi' }, buildpacks: ['nodejs'], scale: { web: 2 } });
  const commit = await repo.commit({ 'package.json': '{}', Dockerfile: 'FROM scratch\n' });
  const job = makeJob('bp', push(commit));
  await run(w, job);
  const [b] = w.builds;
  t.is(b?.builder, 'herokuish', 'named buildpacks win over a Dockerfile');
  t.like(b?.options, { app: 'bp', cacheDir: w.apps.paths('bp').cache, env: { GREETING: 'hi' }, buildpacks: ['nodejs'], commit });
  t.true(job.lines.includes('-----> Building bp with buildpacks'));
  t.like(w.plans[0], {
    processes: { web: { argv: ['/start', 'web'] }, worker: { argv: ['/start', 'worker'] } },
    scale: { web: 2, worker: 0 },
    env: { GREETING: 'hi' },
    port: 5000,
  });
  t.false('releaseCommand' in (w.plans[0] as object));
  t.false('healthchecks' in (w.plans[0] as object));
});

const refused: [string, Record<string, unknown>, RegExp][] = [
  [
    'a symlink pointing outside the tree',
    { 'etc-passwd': { symlink: '/etc/passwd' } },
    /the pushed tree's entry "etc-passwd" is a symlink to "\/etc\/passwd", which leads outside the tree/,
  ],
  ['a symlink climbing out with ..', { 'a/up': { symlink: '../../x' } }, /entry "a\/up" is a symlink to "\.\.\/\.\.\/x", which leads outside the tree/],
  [
    'a file over BERTH_GIT_MAX_FILE_BYTES',
    { 'big.bin': { bytes: 5000 } },
    /the pushed tree's file "big\.bin" is 5000 bytes, more than the 4096 bytes a file may have/,
  ],
];

for (const [what, files, message] of refused) {
  test(`a tree with ${what} is refused in the receive stage: nothing built, no release, no work directory`, async (t) => {
    const w = await world(t);
    const repo = await appWithRepo(t, w);
    const commit = await repo.commit({ Procfile: 'web: x\n', ...(files as Record<string, string>) });
    const job = makeJob('hello', push(commit));
    const e = await t.throwsAsync(run(w, job), { instanceOf: BerthError });
    t.is(e?.code, 'E_DEPLOY_SOURCE_INVALID');
    t.true(e?.message.startsWith('the receive stage failed: '), e?.message);
    t.regex(e?.message ?? '', message);
    t.regex(e?.hint ?? '', /Nothing was serving before this deploy/);
    t.is(e?.details.stage, 'receive');
    t.deepEqual(job.stages, ['receive']);
    t.deepEqual(w.builds, []);
    t.deepEqual(await w.apps.releases('hello'), []);
    t.deepEqual(await workDirLeft(w), []);
  });
}

test('a symlink chain that leads out of the tree is not followed when the pipeline reads the Procfile', async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  // Each link alone stays inside; together up/../Procfile resolves to the tree's parent.
  const commit = await repo.commit({ up: { symlink: '.' }, Procfile: { symlink: 'up/../Procfile' } } as unknown as Record<string, string>);
  const e = await t.throwsAsync(run(w, makeJob('hello', push(commit))), { instanceOf: BerthError });
  t.is(e?.code, 'E_DEPLOY_SOURCE_INVALID');
  t.regex(e?.message ?? '', /the pushed tree's Procfile is a symlink that leads (outside the tree|nowhere)/);
  t.deepEqual(w.builds, []);
});

test('a tree over the size limit, and a commit the repo lacks, are refused in the receive stage', async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  w.ports.settings.maxFileBytes = 1 << 20;
  w.ports.settings.maxSourceBytes = 64 * 1024;
  const big = await repo.commit({ a: { bytes: 40_000 }, b: { bytes: 40_000 } });
  const e = await t.throwsAsync(run(w, makeJob('hello', push(big))), { instanceOf: BerthError });
  t.is(e?.code, 'E_DEPLOY_SOURCE_INVALID');
  t.regex(e?.message ?? '', /is larger than 65536 bytes, the most a deploy takes/);
  const missing = await t.throwsAsync(run(w, makeJob('hello', push('0'.repeat(40)))), { instanceOf: BerthError });
  t.is(missing?.code, 'E_DEPLOY_COMMIT_NOT_FOUND');
  t.regex(missing?.message ?? '', /the receive stage failed: git archive could not read commit 0{40}/);
  t.deepEqual(await workDirLeft(w), []);
});

test('a failing build fails the build stage with its own code; no release is made and the old one keeps serving', async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  await run(w, makeJob('hello', push(await repo.commit(dockerApp))));
  w.failBuild = new BerthError('E_BUILD_RUN_FAILED', 'RUN false exited with status 1');
  const job = makeJob('hello', push(await repo.commit({ ...dockerApp, 'src/index.html': 'v2\n' })));
  const e = await t.throwsAsync(run(w, job), { instanceOf: BerthError });
  t.is(e?.code, 'E_BUILD_RUN_FAILED');
  t.is(e?.message, 'the build stage failed: RUN false exited with status 1');
  t.regex(e?.hint ?? '', /Release v1 keeps serving, untouched\.$/);
  t.deepEqual(job.stages, ['receive', 'build']);
  t.is((await w.apps.releases('hello')).length, 1);
  t.is((await w.apps.get('hello')).currentRelease, 1);
  t.deepEqual(await workDirLeft(w), []);
});

test("a failure in the release engine's checks names that stage; the new release is never made current and the app's scale is unchanged", async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w, 'hello', { scale: { web: 2 } });
  w.failIn = 'checks';
  const job = makeJob('hello', push(await repo.commit(dockerApp)));
  const e = await t.throwsAsync(run(w, job), { instanceOf: BerthError });
  t.is(e?.message, 'the checks stage failed: web.1 did not answer on port 8080');
  t.is(e?.details.stage, 'checks');
  t.deepEqual(job.stages, ['receive', 'build', 'release', 'release-phase', 'start', 'checks']);
  const app = await w.apps.get('hello');
  t.is(app.currentRelease, undefined);
  t.deepEqual(app.scale, { web: 2 });
  t.deepEqual(await workDirLeft(w), []);
});

test("a job cancelled during its build ends with the queue's reason, before any release", async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  const job = makeJob('hello', push(await repo.commit(dockerApp)));
  const reason = new BerthError('E_QUEUE_CANCELLED', 'deploy #1 of app hello was cancelled while it ran');
  w.duringBuild = () => job.abort.abort(reason);
  const e = await t.throwsAsync(run(w, job));
  t.is(e, reason);
  t.deepEqual(await w.apps.releases('hello'), []);
  t.deepEqual(await workDirLeft(w), []);
});

test('a config change makes a release of the same image with the new config vars, through the release phase, without receive or build', async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  const commit = await repo.commit(dockerApp);
  await run(w, makeJob('hello', push(commit)));
  await w.apps.update('hello', (a) => {
    a.env = { GREETING: 'hi' };
  });
  const job = makeJob('hello', { kind: 'config', keys: ['GREETING'], requestedAt: new Date().toISOString() });
  const result = await run(w, job);
  t.deepEqual(job.stages, ['release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record']);
  t.is(w.builds.length, 1);
  t.like(w.plans[1], { release: 2, image: digest(1), env: { GREETING: 'hi' }, port: 8080, scale: { web: 1, worker: 0 } });
  t.deepEqual(w.plans[1]?.healthchecks, { web: [{ type: 'startup', path: '/' }] }, "app.json is read from the release's commit");
  t.deepEqual(w.plans[1]?.releaseCommand, w.plans[0]?.releaseCommand);
  t.like(await w.apps.release('hello', 2), { builder: 'none', commit, description: 'Set GREETING', env: { GREETING: 'hi' } });
  t.like(result, { release: 2 });
  t.is((await w.apps.get('hello')).currentRelease, 2);
});

test('a scale makes a release with the new counts and no release phase; an unknown type is E_DEPLOY_SCALE_INVALID', async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w);
  await run(w, makeJob('hello', push(await repo.commit(dockerApp))));
  const job = makeJob('hello', { kind: 'scale', scale: { worker: 2 }, requestedAt: new Date().toISOString() });
  await run(w, job);
  t.deepEqual(job.stages, ['release', 'start', 'checks', 'switch', 'retire', 'record']);
  t.deepEqual(w.plans[1]?.scale, { web: 1, worker: 2 });
  t.false('releaseCommand' in (w.plans[1] as object));
  t.like(await w.apps.release('hello', 2), { description: 'Scale worker=2' });
  t.deepEqual((await w.apps.get('hello')).scale, { web: 1, worker: 2 });
  for (const type of ['clock', 'release']) {
    const e = await t.throwsAsync(run(w, makeJob('hello', { kind: 'scale', scale: { [type]: 1 }, requestedAt: new Date().toISOString() })), {
      instanceOf: BerthError,
    });
    t.is(e?.code, 'E_DEPLOY_SCALE_INVALID');
    t.regex(e?.message ?? '', new RegExp(`release v2 has no process type ${type} to scale`));
    t.regex(e?.hint ?? '', /Its process types are web, worker/);
  }
  t.is((await w.apps.releases('hello')).length, 2);
});

test('a config change or a scale of an app never deployed makes no release; the scale is stored for the first deploy', async (t) => {
  const w = await world(t);
  await w.apps.create('fresh');
  const at = new Date().toISOString();
  t.deepEqual(await run(w, makeJob('fresh', { kind: 'config', keys: ['A'], requestedAt: at })), {
    release: null,
    note: 'app fresh has no release yet: the change applies at its first deploy',
  });
  await run(w, makeJob('fresh', { kind: 'scale', scale: { web: 3 }, requestedAt: at }));
  t.deepEqual((await w.apps.get('fresh')).scale, { web: 3 });
  t.deepEqual(await w.apps.releases('fresh'), []);
  t.deepEqual(w.plans, []);
});

test("a rollback releases an earlier release's image and config vars again, and makes them the app's", async (t) => {
  const w = await world(t);
  const repo = await appWithRepo(t, w, 'hello', { env: { V: '1' } });
  await run(w, makeJob('hello', push(await repo.commit(dockerApp))));
  await w.apps.update('hello', (a) => {
    a.env = { V: '2' };
  });
  await run(w, makeJob('hello', push(await repo.commit({ ...dockerApp, 'src/index.html': 'v2\n' }))));
  const job = makeJob('hello', { kind: 'rollback', release: 1, requestedAt: new Date().toISOString() });
  const result = await run(w, job);
  t.like(w.plans[2], { release: 3, image: digest(1), env: { V: '1' } });
  t.like(await w.apps.release('hello', 3), { description: 'Rollback to v1', builder: 'none', image: digest(1) });
  t.like(result, { release: 3, image: digest(1) });
  const app = await w.apps.get('hello');
  t.deepEqual(app.env, { V: '1' });
  t.is(app.currentRelease, 3);
});

test('cleanup after a kill -9: the release engine removes the release the job had made, the work directory goes; again is harmless', async (t) => {
  const w = await world(t);
  const cleanup = createInterruptedCleanup(w.ports);
  const made = workPaths(w.ports.settings.workDir, 'hello.7');
  await mkdir(made.src, { recursive: true });
  await writeFile(made.state, JSON.stringify({ app: 'hello', release: 4 }));
  const early = workPaths(w.ports.settings.workDir, 'hello.8');
  await mkdir(early.src, { recursive: true });
  await cleanup({ id: 'hello.7', app: 'hello', stage: 'checks' });
  await cleanup({ id: 'hello.8', app: 'hello', stage: 'build' });
  await cleanup({ id: 'hello.7', app: 'hello', stage: 'checks' });
  t.deepEqual(w.cleaned, [['hello', 4]], 'only the job that had made a release needs the engine; once its state is gone, it is done');
  t.deepEqual(await workDirLeft(w), []);
});

test('a cleanup that fails keeps the state, so the next start tries again', async (t) => {
  const w = await world(t);
  w.ports.release.cleanupInterrupted = async () => {
    throw new BerthError('E_BERTH_INTERNAL', 'runtime unavailable');
  };
  const made = workPaths(w.ports.settings.workDir, 'hello.9');
  await mkdir(made.src, { recursive: true });
  await writeFile(made.state, JSON.stringify({ app: 'hello', release: 2 }));
  await t.throwsAsync(createInterruptedCleanup(w.ports)({ id: 'hello.9', app: 'hello' }), { message: 'runtime unavailable' });
  t.deepEqual(await workDirLeft(w), ['hello.9']);
});
