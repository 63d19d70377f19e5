/**
 * git push over HTTP into the real wiring (test/helpers/git-server.ts): real git, the real
 * pre-receive hook, the real queue on a private Redis, the real API. The processor is the
 * test's own: it writes lines and returns (or fails), which is all the push path sees of a
 * deploy.
 */
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import type { JsonObject } from '../../../server/queue/index.js';
import { commitFiles, gate, git, gitOk, startGit, startGitServer, until, workTree } from '../../helpers/git-server.js';
import { uniqueName } from '../../helpers/temp-dir.js';

test('a push to main streams each line to the terminal as it is written, and exits 0 when the deploy succeeds', async (t) => {
  const g = gate();
  const seen: { commit: string; ref: string }[] = [];
  const server = await startGitServer(t, {
    processor: async (job): Promise<JsonObject> => {
      if (job.request.kind === 'push') seen.push({ commit: job.request.commit, ref: job.request.ref });
      job.stage('build');
      job.line('-----> step one');
      await g.wait(job); // opened only once the pusher's terminal shows step one
      job.line('-----> step two');
      return { release: 1 };
    },
  });
  const app = uniqueName('app');
  const work = await workTree(t);
  const commit = await gitOk(work, 'rev-parse', 'HEAD');
  const push = startGit(work, ['push', server.remote(app), 'main']);
  await until('step one on the pusher terminal', () => /remote: -----> step one/.test(push.stderr()));
  t.notRegex(push.stderr(), /step two/, 'the second line is not written yet');
  g.open();
  const r = await push.done;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /remote: -----> step two/);
  t.deepEqual(seen, [{ commit, ref: 'refs/heads/main' }]);
  // The app was created by the push, its hook is executable and runs this Node by absolute path.
  const repo = server.apps.paths(app).repo;
  await access(join(repo, 'hooks', 'pre-receive'), constants.X_OK);
  t.true((await readFile(join(repo, 'hooks', 'pre-receive'), 'utf8')).includes(`exec '${process.execPath}'`));
  t.is(await gitOk(repo, 'rev-parse', 'refs/heads/main'), commit);
  const [job] = await server.queue.list(app);
  t.like(job, { state: 'succeeded', result: { release: 1 }, stage: 'build' });
});

test('a failing deploy rejects the push with its error; the branch does not move', async (t) => {
  const server = await startGitServer(t, {
    processor: async (job) => {
      job.line('-----> Building');
      throw new BerthError('E_BUILD_RUN_FAILED', 'RUN make exited with status 2', { hint: 'Fix the Makefile.' });
    },
  });
  const app = uniqueName('app');
  const work = await workTree(t);
  const r = await git(work, 'push', server.remote(app), 'main');
  t.not(r.code, 0);
  t.regex(r.stderr, /remote: -----> Building/);
  t.regex(r.stderr, /remote:  ! {5}RUN make exited with status 2 \[E_BUILD_RUN_FAILED\]/);
  t.regex(r.stderr, /remote:  ! {5}Fix the Makefile\./);
  t.regex(r.stderr, /pre-receive hook declined/);
  const refs = await git(server.apps.paths(app).repo, 'show-ref');
  t.is(refs.stdout, '', 'no ref was created');
});

test('a push to another branch is accepted, says it is not the deploy branch, and queues nothing', async (t) => {
  const server = await startGitServer(t, {
    processor: async () => {
      throw new Error('no job should run');
    },
  });
  const app = uniqueName('app');
  await server.apps.create(app);
  const work = await workTree(t);
  const r = await git(work, 'push', server.remote(app), 'main:feature');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /remote: Pushed to feature: not the deploy branch \(main\), no deploy\./);
  t.deepEqual(await server.queue.list(app), []);
  t.is(await gitOk(server.apps.paths(app).repo, 'rev-parse', 'refs/heads/feature'), await gitOk(work, 'rev-parse', 'HEAD'));
});

test('the deploy branch is the app setting when set; master deploys while the repo has no main', async (t) => {
  const deployed: string[] = [];
  const server = await startGitServer(t, {
    processor: async (job) => {
      if (job.request.kind === 'push') deployed.push(`${job.app}:${job.request.ref}`);
      return {};
    },
  });
  const [a, b] = [uniqueName('app'), uniqueName('app')];
  await server.apps.create(a);
  await server.apps.update(a, (app) => {
    app.deployBranch = 'production';
  });
  const work = await workTree(t);
  t.is((await git(work, 'push', server.remote(a), 'main')).code, 0);
  t.is((await git(work, 'push', server.remote(a), 'main:production')).code, 0);
  t.is((await git(work, 'push', server.remote(b), 'main:master')).code, 0);
  t.is((await git(work, 'push', server.remote(b), 'main:main')).code, 0);
  t.is((await git(work, 'push', server.remote(b), '+main:master')).code, 0); // now main exists: master no longer deploys
  t.deepEqual(deployed, [`${a}:refs/heads/production`, `${b}:refs/heads/master`, `${b}:refs/heads/main`]);
});
