/**
 * The deploy queue's ordering guarantees against a real Redis: one app's jobs never overlap and
 * run in enqueue order; different apps run in parallel up to the worker concurrency and never
 * beyond; each job gets its own result or error; a queued job says what it waits for.
 */
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../../../server/core/index.js';
import type { JobContext, JobId } from '../../../server/queue/index.js';
import { startTestRedis } from '../../helpers/start-redis.js';
import { queuePrefix, startQueue } from '../../helpers/start-queue.js';

interface Run {
  app: string;
  number: number;
  start: number;
  end: number;
}

/** The largest number of runs in progress at one instant (an end at t comes before a start at t). */
function maxOverlap(runs: Run[]): number {
  const points = runs.flatMap((r) => [
    { t: r.start, d: 1 },
    { t: r.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (now += p.d));
  return max;
}

const push = (n: number) => ({ kind: 'push' as const, commit: n.toString(16).padStart(40, '0'), ref: 'refs/heads/main' });

for (const concurrency of [1, 2, 3]) {
  test(`3 apps × 5 jobs with concurrency ${concurrency}: each app in order, one at a time; apps in parallel up to ${concurrency}`, async (t) => {
    const redis = await startTestRedis(t);
    const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix());
    const apps = ['alpha', 'bravo', 'charlie'];
    const ids: JobId[] = [];
    // Enqueued before the worker starts, interleaved, so every app has work from the first instant.
    for (let i = 1; i <= 5; i++) for (const app of apps) ids.push(await queue.enqueue(app, push(i)));
    const runs: Run[] = [];
    await queue.work({
      concurrency,
      processor: async (job: JobContext) => {
        const start = performance.now();
        await sleep(5 + Math.floor(Math.random() * 40));
        runs.push({ app: job.app, number: job.number, start, end: performance.now() });
        if (job.number === 3) throw new BerthError('E_EXEC_FAILED', `build of ${job.id} failed`);
        return { app: job.app, number: job.number, commit: job.request.kind === 'push' ? job.request.commit : '' };
      },
    });

    // Each job its own outcome: #3 of every app fails with its own message, the others return their own result.
    for (const id of ids) {
      const [app, n] = id.split('.') as [string, string];
      if (n === '3') {
        const err = await t.throwsAsync(queue.wait(id), { instanceOf: BerthError });
        t.is(err?.code, 'E_EXEC_FAILED');
        t.is(err?.message, `build of ${id} failed`);
      } else {
        t.deepEqual(await queue.wait(id), { app, number: Number(n), commit: push(Number(n)).commit });
      }
    }

    t.is(runs.length, 15);
    for (const app of apps) {
      const mine = runs.filter((r) => r.app === app).sort((a, b) => a.start - b.start);
      t.deepEqual(
        mine.map((r) => r.number),
        [1, 2, 3, 4, 5],
        `${app} ran in enqueue order`,
      );
      for (let i = 1; i < mine.length; i++) {
        t.true(mine[i]!.start >= mine[i - 1]!.end, `${app}: job ${mine[i]!.number} started before ${mine[i - 1]!.number} ended`);
      }
    }
    t.is(maxOverlap(runs), concurrency, `at most ${concurrency} jobs at once, and that many when three apps have work`);
    const infos = await queue.list();
    t.is(infos.length, 15);
    t.deepEqual(new Set(infos.map((i) => i.state)), new Set(['succeeded', 'failed']));
  });
}

test('a queued job says what it waits for, and how many jobs are ahead', async (t) => {
  const redis = await startTestRedis(t);
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix());
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const started: string[] = [];
  await queue.work({
    concurrency: 2,
    processor: async (job) => {
      started.push(job.id);
      if (job.number === 1) await held;
      return {};
    },
  });
  const first = await queue.enqueue('hello', push(1));
  const second = await queue.enqueue('hello', { kind: 'config', keys: ['GREETING'] });
  const third = await queue.enqueue('hello', { kind: 'scale', scale: { web: 2 } });
  // Bounded wait for the first job to be running.
  for (let i = 0; i < 100 && (await queue.info(first)).state !== 'running'; i++) await sleep(20);
  t.is((await queue.info(first)).state, 'running');
  const info2 = await queue.info(second);
  t.is(info2.state, 'queued');
  t.is(info2.waitingFor, 'waiting for deploy #1 of app hello');
  t.is(info2.ahead, 1);
  const info3 = await queue.info(third);
  t.is(info3.waitingFor, 'waiting for deploy #1 of app hello');
  t.is(info3.ahead, 2);
  t.deepEqual(started, ['hello.1']);
  release();
  t.deepEqual(await queue.wait(third), {});
  t.deepEqual(started, ['hello.1', 'hello.2', 'hello.3']);
  const done = await queue.info(second);
  t.is(done.state, 'succeeded');
  t.is(done.request.kind, 'config');
  t.truthy(done.startedAt && done.finishedAt);
  t.is(done.waitingFor, undefined);
});
