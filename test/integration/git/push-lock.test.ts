/**
 * Two pushes to one app at once (docs/git.md, "Two pushes at once"): the second push's git
 * waits for the first's to end, its branch has moved by then, and it is refused with
 * E_GIT_REF_MOVED before anything is queued; what the repository stores is the first push's.
 * A fetch or a clone is never held up by a running push.
 */
import test from 'ava';
import { commitFiles, gate, git, gitOk, startGit, startGitServer, until, workTree } from '../../helpers/git-server.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';

test('a push based on a branch another push moved while it waited is refused with E_GIT_REF_MOVED; nothing is queued; fetches never wait', async (t) => {
  const g = gate();
  const started: number[] = [];
  const server = await startGitServer(t, {
    processor: async (job) => {
      started.push(job.number);
      job.line(`deploying job ${job.number}`);
      if (job.number === 2) await g.wait(job);
      return { job: job.number };
    },
  });
  const app = uniqueName('app');
  const one = await workTree(t, { 'v.txt': '1\n' });
  t.is((await git(one, 'push', server.remote(app), 'main')).code, 0);
  const c1 = await gitOk(one, 'rev-parse', 'HEAD');
  const two = await tempDir(t, 'berth-work-');
  await gitOk(two, 'clone', '--quiet', server.remote(app), '.');
  const c2 = await commitFiles(one, { 'v.txt': '2\n' }, 'second');
  const c3 = await commitFiles(two, { 'w.txt': '3\n' }, 'third');

  const first = startGit(one, ['push', server.remote(app), 'main']);
  await until('the first deploy to start', () => /deploying job 2/.test(first.stderr()));
  // While that push runs (its git holds the app's push lock): a clone and a fetch are served.
  const three = await tempDir(t, 'berth-work-');
  const clone = await git(three, 'clone', '--quiet', server.remote(app), '.');
  t.is(clone.code, 0, clone.stderr);
  t.is(await gitOk(three, 'rev-parse', 'HEAD'), c1, 'the clone has what is stored: the running push has not landed');
  const fetch = await git(two, 'fetch', server.remote(app), 'main');
  t.is(fetch.code, 0, fetch.stderr);

  // The second push read the branch at c1; it waits for the first one's git to end.
  const second = startGit(two, ['push', '--force', server.remote(app), 'main']);
  await new Promise((r) => setTimeout(r, 1500));
  t.is(second.child.exitCode, null, 'the second push is still waiting');
  t.deepEqual(started, [1, 2], 'the second push queued nothing while the first ran');
  g.open();
  const [r1, r2] = await Promise.all([first.done, second.done]);
  t.is(r1.code, 0, r1.stderr);
  t.not(r2.code, 0, r2.stderr);
  t.regex(r2.stderr, new RegExp(`branch main moved to ${c2.slice(0, 7)} while this push waited \\(it was at ${c1.slice(0, 7)} when the push began\\)`));
  t.regex(r2.stderr, /E_GIT_REF_MOVED/);
  t.regex(r2.stderr, /git pull --rebase/);
  t.notRegex(r2.stderr, /deploying job/, 'the refused push deployed nothing');
  t.deepEqual(started, [1, 2]);
  t.deepEqual(
    (await server.queue.list(app)).map((j) => [j.number, j.state]),
    [
      [2, 'succeeded'],
      [1, 'succeeded'],
    ],
  );
  const repo = server.apps.paths(app).repo;
  t.is(await gitOk(repo, 'rev-parse', 'refs/heads/main'), c2, 'the repository stores the first push');
  // Pushed again on top of what is stored, the same work deploys.
  await gitOk(two, 'pull', '--quiet', '--rebase', server.remote(app), 'main');
  const again = await git(two, 'push', server.remote(app), 'main');
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /deploying job 3/);
  t.not(c3, await gitOk(repo, 'rev-parse', 'refs/heads/main'), 'rebased onto the first push');
  t.is(await gitOk(repo, 'rev-parse', 'refs/heads/main'), await gitOk(two, 'rev-parse', 'HEAD'));
});
