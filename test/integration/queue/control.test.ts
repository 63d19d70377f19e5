/**
 * The deploy queue's output channel, cancel, timeout and errors against a real Redis: a reader
 * that comes before, during or after a job gets every line from the first; cancel stops the
 * running job through its signal and removes the queued ones; a job past its time limit is
 * stopped; a dead Redis is E_QUEUE_UNAVAILABLE, never a hang.
 */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, freePort } from '../../../server/core/index.js';
import { openQueue, type DeployQueue, type JobId, type JsonObject, type OutputEvent } from '../../../server/queue/index.js';
import { startTestRedis } from '../../helpers/start-redis.js';
import { redisClient } from '../../helpers/redis-client.js';
import { queuePrefix, startQueue } from '../../helpers/start-queue.js';
import { testLogger } from '../../helpers/logger.js';
import { tempDir } from '../../helpers/temp-dir.js';

const push = (n: number) => ({ kind: 'push' as const, commit: n.toString(16).padStart(40, 'a'), ref: 'refs/heads/main' });

async function collect(queue: DeployQueue, id: JobId, follow = true): Promise<OutputEvent[]> {
  const events: OutputEvent[] = [];
  for await (const event of queue.output(id, { follow })) events.push(event);
  return events;
}

/** What a reader shows: stages and lines, then the outcome. */
const shown = (events: OutputEvent[]): string[] =>
  events.map((e) =>
    e.type === 'line'
      ? e.text
      : e.type === 'stage'
        ? `[${e.stage}]`
        : e.type === 'end'
          ? `<${e.state}${e.error ? ` ${e.error.code}` : ''}>`
          : `(${e.count} dropped)`,
  );

/** Resolves when `predicate` holds, checking every 20 ms, for at most `ms`. */
async function until(predicate: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(20);
  }
}

test('readers that come before, during and after a job all get its whole output, in order, and stop at its end', async (t) => {
  const redis = await startTestRedis(t);
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix());
  let gate = (): void => undefined;
  const halfway = new Promise<void>((resolve) => {
    gate = resolve;
  });
  let emitted = 0;
  const id = await queue.enqueue('hello', push(1));
  const early = collect(queue, id); // attached while the job is still queued (no worker yet)
  await queue.work({
    processor: async (job) => {
      job.stage('build');
      for (let i = 1; i <= 50; i++) job.line(`line ${(emitted = i)}`);
      await halfway;
      job.stage('release');
      job.line('two\nlines');
      for (let i = 51; i <= 100; i++) {
        job.line(`line ${i}`);
        if (i % 10 === 0) await sleep(10);
      }
      return { release: 7 };
    },
  });
  await until(() => emitted === 50);
  const middle = collect(queue, id); // attached halfway
  gate();
  t.deepEqual(await queue.wait(id), { release: 7 });
  const late = await collect(queue, id); // attached after the end

  const expected = [
    '[build]',
    ...Array.from({ length: 50 }, (_, i) => `line ${i + 1}`),
    '[release]',
    'two',
    'lines',
    ...Array.from({ length: 50 }, (_, i) => `line ${i + 51}`),
    '<succeeded>',
  ];
  t.deepEqual(shown(await early), expected);
  t.deepEqual(shown(await middle), expected);
  t.deepEqual(shown(late), expected);
  t.deepEqual(
    late.map((e) => e.seq),
    expected.map((_, i) => i + 1),
  );
  t.deepEqual(shown(await collect(queue, id, false)), expected, 'without follow: what is there');
  t.is((await queue.info(id)).stage, 'release');
});

test('a long output keeps its last events; a late reader is told how many were trimmed', async (t) => {
  const redis = await startTestRedis(t);
  // 30 lines and the end event: the last 10 of 31 are kept.
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix(), { outputMaxEvents: 10 });
  await queue.work({
    processor: async (job) => {
      for (let i = 1; i <= 30; i++) job.line(`line ${i}`);
      return {};
    },
  });
  const id = await queue.enqueue('hello', push(1));
  await queue.wait(id);
  t.deepEqual(shown(await collect(queue, id)), ['(21 dropped)', ...Array.from({ length: 9 }, (_, i) => `line ${i + 22}`), '<succeeded>']);
});

test('cancel signals the running job and removes the queued ones; the app then takes new jobs', async (t) => {
  const redis = await startTestRedis(t);
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix());
  const reasons: string[] = [];
  let running = '';
  await queue.work({
    concurrency: 2,
    processor: async (job): Promise<JsonObject> => {
      if (job.app === 'other') return { other: true };
      if (job.number > 3) return { number: job.number };
      running = job.id;
      job.line('building');
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
      reasons.push((job.signal.reason as BerthError).code);
      throw job.signal.reason;
    },
  });
  const first = await queue.enqueue('hello', push(1));
  const second = await queue.enqueue('hello', push(2));
  const third = await queue.enqueue('hello', push(3));
  const other = await queue.enqueue('other', push(1));
  const waitSecond = queue.wait(second); // a waiter attached before the cancel
  await until(() => running === first);

  const result = await queue.cancel('hello');
  t.is(result.running, first);
  t.deepEqual(result.removed, [second, third]);

  const err = await t.throwsAsync(queue.wait(first), { instanceOf: BerthError });
  t.is(err?.code, 'E_QUEUE_CANCELLED');
  t.regex(err?.message ?? '', /deploy #1 of app hello was cancelled while it ran/);
  t.deepEqual(reasons, ['E_QUEUE_CANCELLED']);
  const err2 = await t.throwsAsync(waitSecond, { instanceOf: BerthError });
  t.is(err2?.code, 'E_QUEUE_CANCELLED');
  t.regex(err2?.message ?? '', /deploy #2 of app hello was cancelled before it started/);
  t.is((await t.throwsAsync(queue.wait(third), { instanceOf: BerthError }))?.code, 'E_QUEUE_CANCELLED');
  t.is((await t.throwsAsync(queue.info(third), { instanceOf: BerthError }))?.code, 'E_QUEUE_JOB_NOT_FOUND');
  t.deepEqual(shown(await collect(queue, first)), ['building', '<failed E_QUEUE_CANCELLED>']);
  t.deepEqual(await queue.wait(other), { other: true }, 'another app is untouched');

  const fourth = await queue.enqueue('hello', push(4));
  t.is(fourth, 'hello.4');
  t.deepEqual(await queue.wait(fourth), { number: 4 });
  t.deepEqual(await queue.cancel('hello'), { removed: [] });
});

test('a job past its time limit is stopped through its signal and fails with E_QUEUE_TIMEOUT; the next job waits until it has returned', async (t) => {
  const redis = await startTestRedis(t);
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix());
  const order: string[] = [];
  await queue.work({
    processor: async (job) => {
      order.push(`start ${job.id}`);
      if (job.number === 1) {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        await sleep(200); // slow to stop: the app's next job must not start meanwhile
        order.push(`stopped ${job.id}`);
        throw new Error('interrupted by the signal');
      }
      return {};
    },
  });
  const slow = await queue.enqueue('hello', push(1), { timeoutMs: 300 });
  const next = await queue.enqueue('hello', push(2));
  const err = await t.throwsAsync(queue.wait(slow), { instanceOf: BerthError });
  t.is(err?.code, 'E_QUEUE_TIMEOUT');
  t.regex(err?.message ?? '', /deploy #1 of app hello ran longer than its limit of 300 ms/);
  t.deepEqual(await queue.wait(next), {});
  t.deepEqual(order, ['start hello.1', 'stopped hello.1', 'start hello.2']);
  const info = await queue.info(slow);
  t.is(info.state, 'failed');
  t.is(info.error?.code, 'E_QUEUE_TIMEOUT');
  t.is(info.timeoutMs, 300);
});

test('bad ids and requests are refused with the value named', async (t) => {
  const redis = await startTestRedis(t);
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix());
  const code = async (p: Promise<unknown>): Promise<string | undefined> => (await t.throwsAsync(p, { instanceOf: BerthError }))?.code;
  t.is(await code(queue.info('hello.99')), 'E_QUEUE_JOB_NOT_FOUND');
  t.is(await code(queue.wait('hello.99')), 'E_QUEUE_JOB_NOT_FOUND');
  t.is(await code(collect(queue, 'hello.99')), 'E_QUEUE_JOB_NOT_FOUND');
  for (const bad of ['hello', 'hello.0', 'hello.x', 'Hello.1', '.1', 'hello.1.2']) t.is(await code(queue.info(bad)), 'E_QUEUE_JOB_ID_INVALID', bad);
  t.is(await code(queue.enqueue('Bad_App', push(1))), 'E_NAME_INVALID');
  t.is(await code(queue.enqueue('hello', { kind: 'push', commit: 'abc', ref: 'refs/heads/main' })), 'E_QUEUE_JOB_INVALID');
  t.is(await code(queue.enqueue('hello', { kind: 'scale', scale: { web: -1 } })), 'E_QUEUE_JOB_INVALID');
  t.is(await code(queue.enqueue('hello', { kind: 'rollback', release: 0 })), 'E_QUEUE_JOB_INVALID');
  t.is(await code(queue.enqueue('hello', { kind: 'nope' } as never)), 'E_QUEUE_JOB_INVALID');
  t.is(await code(queue.enqueue('hello', push(1), { timeoutMs: 0 })), 'E_QUEUE_JOB_INVALID');
  t.deepEqual(await queue.list(), [], 'nothing was queued');
});

test('a Redis that is not there, or goes away, is E_QUEUE_UNAVAILABLE within the time limit', async (t) => {
  const dir = await tempDir(t);
  const nobody = { host: '127.0.0.1', port: await freePort() };
  const err = await t.throwsAsync(openQueue({ endpoint: nobody, prefix: queuePrefix(), log: testLogger(dir), redisTimeoutMs: 500 }), {
    instanceOf: BerthError,
  });
  t.is(err?.code, 'E_QUEUE_UNAVAILABLE');
  t.regex(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${nobody.port}`));

  const redis = await startTestRedis(t);
  // Time enough to connect on a loaded machine; a refused connection fails well before it.
  const queue = await startQueue(t, redis.endpoint, redis.dir, queuePrefix(), { redisTimeoutMs: 3000 });
  const before = await queue.enqueue('hello', push(1));
  await redis.stop();
  const down = await t.throwsAsync(queue.enqueue('hello', push(2)), { instanceOf: BerthError });
  t.is(down?.code, 'E_QUEUE_UNAVAILABLE');
  t.is((await t.throwsAsync(queue.info(before), { instanceOf: BerthError }))?.code, 'E_QUEUE_UNAVAILABLE');
});

test('closing the queue signals the running job, which ends failed with E_QUEUE_INTERRUPTED', async (t) => {
  const redis = await startTestRedis(t);
  const prefix = queuePrefix();
  const dir = await tempDir(t);
  const worker = await openQueue({ endpoint: redis.endpoint, prefix, log: testLogger(dir) });
  let reason: BerthError | undefined;
  let started = false;
  await worker.work({
    processor: async (job) => {
      started = true;
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
      reason = job.signal.reason as BerthError;
      throw reason;
    },
  });
  const reader = await startQueue(t, redis.endpoint, redis.dir, prefix);
  const id = await reader.enqueue('hello', push(1));
  await until(() => started);
  await worker.close();
  t.is(reason?.code, 'E_QUEUE_INTERRUPTED');
  const info = await reader.info(id);
  t.is(info.state, 'failed');
  t.is(info.error?.code, 'E_QUEUE_INTERRUPTED');
  t.regex(info.error?.message ?? '', /the daemon stopped during this deploy \(deploy #1 of app hello\): it was shutting down/);
});

test('forget drops every job of an app, finished ones and their output included, refuses while one runs, and a new app of that name starts at job 1', async (t) => {
  const redis = await startTestRedis(t);
  const prefix = queuePrefix();
  const queue = await startQueue(t, redis.endpoint, redis.dir, prefix);
  let gate = (): void => undefined;
  const held = new Promise<void>((resolve) => (gate = resolve));
  await queue.work({
    processor: async (job) => {
      job.line(`ran ${job.id}`);
      if (job.id === 'gone.2') await held;
      return { ok: true };
    },
  });
  const first = await queue.enqueue('gone', push(1));
  await queue.wait(first);
  const kept = await queue.enqueue('kept', push(2));
  await queue.wait(kept);
  const second = await queue.enqueue('gone', push(3));
  t.is(second, 'gone.2');
  await until(async () => (await queue.info(second)).state === 'running');
  const e = await t.throwsAsync<BerthError>(queue.forget('gone'));
  t.is(e!.code, 'E_APP_DEPLOY_RUNNING');
  t.is((await queue.list('gone')).length, 2, 'nothing dropped while a job runs');
  gate();
  await queue.wait(second);
  await queue.forget('gone');
  t.deepEqual(await queue.list('gone'), []);
  t.deepEqual(
    (await queue.list()).map((j) => j.id),
    ['kept.1'],
  );
  t.is((await t.throwsAsync<BerthError>(queue.info(first)))!.code, 'E_QUEUE_JOB_NOT_FOUND', 'its output is gone too');
  const redisKeys = redisClient(t, redis.endpoint);
  await redisKeys.connect();
  t.deepEqual(await redisKeys.keys(`${prefix}:output:gone.*`), []);
  t.deepEqual(await redisKeys.keys(`${prefix}:output:kept.*`), [`${prefix}:output:kept.1`]);
  t.false(await redisKeys.sismember(`${prefix}:apps`, 'gone').then(Boolean));
  const again = await queue.enqueue('gone', push(4));
  t.is(again, 'gone.1', 'the job counter went with the app');
  t.deepEqual(await queue.wait(again), { ok: true });
  t.deepEqual(
    shown(await collect(queue, again)).filter((l) => l.startsWith('ran')),
    ['ran gone.1'],
  );
});
