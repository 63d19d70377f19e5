/**
 * The push as the queue sees it: two pushes to one app run one after the other, the second
 * refused when the first moved its branch; a pusher that goes away does not stop its deploy, whose output stays
 * readable; and git's own transport: clone, shallow clone, a push from a shallow clone, a force
 * push that rolls history back.
 */
import test from 'ava';
import { commitFiles, gate, git, gitOk, startGit, startGitServer, until, workTree } from '../../helpers/git-server.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';

test('two pushes to one app run in order, one at a time; the second, based on the branch the first moved, is refused and queues nothing', async (t) => {
  const g = gate();
  const events: string[] = [];
  const server = await startGitServer(t, {
    processor: async (job) => {
      events.push(`start ${job.number}`);
      job.line(`deploying job ${job.number}`);
      if (job.number === 1) await g.wait(job);
      events.push(`end ${job.number}`);
      return { job: job.number };
    },
  });
  const app = uniqueName('app');
  await server.apps.create(app);
  const one = await workTree(t, { 'v.txt': '1\n' });
  const two = await workTree(t, { 'v.txt': '2\n' });
  const first = startGit(one, ['push', server.remote(app), 'main']);
  await until('the first deploy to start', () => /deploying job 1/.test(first.stderr()));
  const second = startGit(two, ['push', '--force', server.remote(app), 'main']);
  // The second push's git waits for the first one's (git/push-lock.ts): its hook has not run.
  await new Promise((r) => setTimeout(r, 1000));
  t.is(second.child.exitCode, null, 'the second push waits');
  t.deepEqual(events, ['start 1'], 'the second has not started while the first runs');
  g.open();
  const [r1, r2] = await Promise.all([first.done, second.done]);
  t.is(r1.code, 0, r1.stderr);
  t.deepEqual(events, ['start 1', 'end 1']);
  t.regex(r1.stderr, /deploying job 1/);
  t.notRegex(r1.stderr, /deploying job 2/);
  // Both pushes were based on an empty branch; the first's landed before the second's hook ran.
  t.not(r2.code, 0);
  t.regex(r2.stderr, /branch main moved to [0-9a-f]{7} while this push waited \(it did not exist when the push began\).*E_GIT_REF_MOVED/);
  t.notRegex(r2.stderr, /deploying job/);
  const jobs = await server.queue.list(app);
  t.deepEqual(
    jobs.map((j) => [j.number, j.state, j.result]),
    [[1, 'succeeded', { job: 1 }]],
  );
  t.is(await gitOk(server.apps.paths(app).repo, 'rev-parse', 'refs/heads/main'), await gitOk(one, 'rev-parse', 'HEAD'));
});

test('a pusher that goes away leaves its deploy running; its output stays readable and the branch moves when it succeeds', async (t) => {
  const g = gate();
  const server = await startGitServer(t, {
    processor: async (job) => {
      job.line('-----> before the pusher left');
      await g.wait(job);
      job.line('-----> after the pusher left');
      return { ok: true };
    },
  });
  const app = uniqueName('app');
  const work = await workTree(t);
  const commit = await gitOk(work, 'rev-parse', 'HEAD');
  const push = startGit(work, ['push', server.remote(app), 'main']);
  await until('the deploy to start', () => /before the pusher left/.test(push.stderr()));
  process.kill(-push.child.pid!, 'SIGKILL'); // git push and its git-remote-http helper
  await push.done;
  g.open();
  const [job] = await server.queue.list(app);
  t.deepEqual(await server.queue.wait(job!.id), { ok: true });
  const lines: string[] = [];
  for await (const e of server.queue.output(job!.id)) if (e.type === 'line') lines.push(e.text);
  t.deepEqual(lines, ['-----> before the pusher left', '-----> after the pusher left']);
  // git on the server finished the push without its client: the deploy branch is the deployed commit.
  const repo = server.apps.paths(app).repo;
  // Bounded: 250 looks, 40 ms apart.
  for (let i = 0; i < 250 && (await git(repo, 'rev-parse', '--verify', '--quiet', 'refs/heads/main')).stdout.trim() !== commit; i++) {
    await new Promise((r) => setTimeout(r, 40));
  }
  t.is(await gitOk(repo, 'rev-parse', 'refs/heads/main'), commit);
});

test('clone, shallow clone, a push from a shallow clone and a force push rolling history back all work over HTTP', async (t) => {
  const deployed: string[] = [];
  const server = await startGitServer(t, {
    processor: async (job) => {
      if (job.request.kind === 'push') deployed.push(job.request.commit);
      return {};
    },
  });
  const app = uniqueName('app');
  const work = await workTree(t, { 'a.txt': '1\n' });
  const c1 = await gitOk(work, 'rev-parse', 'HEAD');
  await commitFiles(work, { 'a.txt': '2\n' }, 'second');
  const c3 = await commitFiles(work, { 'a.txt': '3\n', 'big.bin': 'z'.repeat(512 * 1024) }, 'third');
  t.is((await git(work, 'push', server.remote(app), 'main')).code, 0);
  const dir = await tempDir(t, 'berth-clone-');
  await gitOk(dir, 'clone', '--quiet', server.remote(app), 'full');
  t.is(await gitOk(`${dir}/full`, 'rev-parse', 'HEAD'), c3);
  t.is(await gitOk(`${dir}/full`, 'rev-list', '--count', 'HEAD'), '3');
  await gitOk(dir, 'clone', '--quiet', '--depth', '1', server.remote(app), 'shallow');
  t.is(await gitOk(`${dir}/shallow`, 'rev-list', '--count', 'HEAD'), '1');
  const c4 = await commitFiles(`${dir}/shallow`, { 'a.txt': '4\n' }, 'from a shallow clone');
  const fromShallow = await git(`${dir}/shallow`, 'push', 'origin', 'main');
  t.is(fromShallow.code, 0, fromShallow.stderr);
  // Roll back to the first commit: a force push of older history deploys it.
  const back = await git(work, 'push', '--force', server.remote(app), `${c1}:refs/heads/main`);
  t.is(back.code, 0, back.stderr);
  t.is(await gitOk(server.apps.paths(app).repo, 'rev-parse', 'refs/heads/main'), c1);
  t.deepEqual(deployed, [c3, c4, c1]);
});
