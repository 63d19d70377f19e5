/**
 * The deploy queue through real pushes to the real daemon: two apps pushed at the same time
 * deploy in parallel (their jobs overlap in time), and two pushes to one app run one after
 * the other, in order, each push getting its own result (the second refused when the first
 * moved the branch it was based on).
 */
import test from 'ava';
import { gitOk } from '../helpers/git-server.js';
import { fixtureTree, nextVersion, push, startPushDaemon, unpad, type PushDaemon } from '../helpers/push-daemon.js';
import { startGit } from '../helpers/git-server.js';
import { tempDir, uniqueName } from '../helpers/temp-dir.js';

interface Job {
  id: string;
  state: string;
  request: { commit?: string };
  startedAt?: string;
  finishedAt?: string;
  result?: { release?: number };
}

async function jobsOf(d: PushDaemon, app: string): Promise<Job[]> {
  const r = await d.cli('builds:list', app, '--format', 'json');
  if (r.code !== 0) throw new Error(`builds:list ${app}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Job[]).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

const span = (j: Job) => ({ start: Date.parse(j.startedAt ?? ''), end: Date.parse(j.finishedAt ?? '') });

test('two apps pushed at the same time deploy in parallel: their jobs overlap', async (t) => {
  t.timeout(5 * 60_000);
  const d = await startPushDaemon(t, { BERTH_QUEUE_CONCURRENCY: '2' });
  const [a, b] = [uniqueName('one'), uniqueName('two')];
  const [workA, workB] = await Promise.all([fixtureTree(t, `${a} v1`), fixtureTree(t, `${b} v1`)]);
  const [ra, rb] = await Promise.all([push(workA, d.remote(a)), push(workB, d.remote(b))]);
  t.is(ra.code, 0, ra.stderr);
  t.is(rb.code, 0, rb.stderr);
  t.is((await d.get(a)).body, `${a} v1\n`);
  t.is((await d.get(b)).body, `${b} v1\n`);
  const [[ja], [jb]] = await Promise.all([jobsOf(d, a), jobsOf(d, b)]);
  t.like(ja, { state: 'succeeded' });
  t.like(jb, { state: 'succeeded' });
  const [sa, sb] = [span(ja!), span(jb!)];
  t.true(sa.start < sb.end && sb.start < sa.end, `the jobs overlap: ${JSON.stringify([ja, jb])}`);
});

test('two pushes to one app at once run one at a time, in order, the second waiting its turn and refused once its branch moved; what git stores is what serves', async (t) => {
  t.timeout(5 * 60_000);
  const d = await startPushDaemon(t);
  const app = uniqueName('app');
  const first = await fixtureTree(t, 'v1');
  t.is((await push(first, d.remote(app))).code, 0);

  // A second clone; each pushes its own commit onto v1 (the second a force push: its commit
  // is not on top of the first's), the second once the first one's deploy is under way.
  const second = await tempDir(t, 'berth-work-');
  await gitOk(second, 'clone', '--quiet', d.remote(app), '.');
  const c2 = await nextVersion(first, 'v2');
  const c3 = await nextVersion(second, 'v3');
  const p2 = startGit(first, ['push', d.remote(app), 'main'], 180_000);
  for (let i = 0; i < 600 && !p2.stderr().includes('-----> Receiving'); i++) await new Promise((r) => setTimeout(r, 50));
  const p3 = startGit(second, ['push', '--force', d.remote(app), 'main'], 180_000);
  const p3Ended = p3.done.then(() => Date.now());
  const [r2, r3] = await Promise.all([p2.done, p3.done]);
  const [out2, out3] = [unpad(r2.stderr), unpad(r3.stderr)];
  t.is(r2.code, 0, out2);
  t.regex(out2, /v2: Deploy /);
  t.notRegex(out2, /v3: Deploy /, 'each push shows its own deploy only');
  // The second waited for the first push's git to end (docs/git.md, "Two pushes at once"); by
  // then the branch it was based on had moved, so it is refused before anything is queued.
  t.regex(out3, new RegExp(`branch main moved to ${c2.slice(0, 7)} while this push waited.*E_GIT_REF_MOVED`));

  const jobs = await jobsOf(d, app);
  t.deepEqual(
    jobs.slice(0, 2).map((j) => [j.state, j.request.commit, j.result?.release]),
    [
      ['succeeded', await gitOk(first, 'rev-parse', 'HEAD~1'), 1],
      ['succeeded', c2, 2],
    ],
  );
  t.is(jobs.length, 2, 'the refused push queued nothing');
  t.true(span(jobs[1]!).end <= (await p3Ended), 'one at a time, in the order pushed: the second ended after the first deploy');
  // Whichever way the second push ends, the push's exit status, what the app serves and
  // what the repository holds agree: a push that exits 0 deployed its commit and stored it,
  // one that fails deployed nothing.
  const served = (await d.get(app)).body;
  const stored = (await gitOk(second, 'ls-remote', d.remote(app), 'refs/heads/main')).split('\t')[0];
  if (r3.code === 0) {
    t.is(served, 'v3\n');
    t.is(stored, c3);
  } else {
    t.is(served, 'v2\n', `a rejected push deployed nothing: ${out3}`);
    t.is(stored, c2);
    t.not(jobs[2]?.state, 'succeeded', 'a rejected push has no succeeded deploy');
  }
});
