/**
 * The deploy queue through real pushes to the real daemon: two apps pushed at the same time
 * deploy in parallel (their jobs overlap in time), and two pushes to one app deploy one
 * after the other, in order, each push getting its own result.
 */
import test from 'ava';
import { fixtureTree, push, startPushDaemon, type PushDaemon } from '../helpers/push-daemon.js';
import { uniqueName } from '../helpers/temp-dir.js';

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
