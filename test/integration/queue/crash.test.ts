/**
 * A worker killed with SIGKILL in the middle of a job (the daemon killed with kill -9): the next
 * worker marks the job failed with E_QUEUE_INTERRUPTED, calls the cleanup hook for it, and then
 * runs the app's next job. The dead worker runs in a child process (test/fixtures/queue-worker.ts).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../../../server/core/index.js';
import type { JobInfo, OutputEvent } from '../../../server/queue/index.js';
import { startTestRedis } from '../../helpers/start-redis.js';
import { queuePrefix, startQueue } from '../../helpers/start-queue.js';
import { isAlive } from '../../helpers/processes.js';

const fixture = fileURLToPath(new URL('../../fixtures/queue-worker.ts', import.meta.url));
const push = (n: number) => ({ kind: 'push' as const, commit: n.toString(16).padStart(40, 'c'), ref: 'refs/heads/main' });

test('a worker SIGKILLed mid-job: the next worker fails the job visibly, calls the cleanup hook, and goes on with the app', async (t) => {
  // BullMQ's lock on the dead worker's job lasts 30 s: finishing well within that shows that
  // recovery did not wait for the lock to expire (nor for BullMQ's stalled-job checker).
  t.timeout(25_000);
  const redis = await startTestRedis(t);
  const prefix = queuePrefix();
  const queue = await startQueue(t, redis.endpoint, redis.dir, prefix);
  const first = await queue.enqueue('hello', push(1));
  const second = await queue.enqueue('hello', push(2));

  const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(redis.endpoint), prefix, join(redis.dir, 'worker.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fixture worker did not start ${first} within 15 s; stderr: ${stderr}`)), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(`started ${first}\n`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the fixture worker exited with ${code}; stderr: ${stderr}`)));
  });
  // The processor's stage and line are written without waiting for Redis: give them 5 s to land.
  const lines = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const event of queue.output(first, { follow: false })) if (event.type === 'line') out.push(event.text);
    return out;
  };
  for (let i = 0; i < 250 && ((await queue.info(first)).stage !== 'build' || (await lines()).length === 0); i++) await sleep(20);
  const running = await queue.info(first);
  t.is(running.state, 'running');
  t.is(running.stage, 'build');
  t.deepEqual(await lines(), [`building ${first} in pid ${child.pid ?? 0}`]);
  t.is((await queue.info(second)).waitingFor, 'waiting for deploy #1 of app hello');

  const pid = child.pid ?? 0;
  process.kill(pid, 'SIGKILL');
  await exited;
  t.false(isAlive(pid));
  t.is((await queue.info(first)).state, 'running', 'nothing has noticed yet');

  const cleaned: JobInfo[] = [];
  const ran: string[] = [];
  const killedAt = Date.now();
  await queue.work({
    onInterrupted: async (job) => {
      cleaned.push(job);
    },
    processor: async (job) => {
      ran.push(job.id);
      return { deployed: job.id };
    },
  });
  t.log(`recovered ${Date.now() - killedAt} ms after the kill (reported, not asserted)`);
  t.deepEqual(
    cleaned.map((j) => [j.id, j.state, j.stage]),
    [[first, 'running', 'build']],
    'the hook ran once, for the dead job',
  );

  const err = await t.throwsAsync(queue.wait(first), { instanceOf: BerthError });
  t.is(err?.code, 'E_QUEUE_INTERRUPTED');
  t.regex(err?.message ?? '', /the daemon stopped during this deploy \(deploy #1 of app hello, in its build stage\)/);
  const info = await queue.info(first);
  t.is(info.state, 'failed');
  t.is(info.error?.code, 'E_QUEUE_INTERRUPTED');

  const events: OutputEvent[] = [];
  for await (const event of queue.output(first)) events.push(event);
  const texts = events.map((e) => (e.type === 'line' ? e.text : e.type === 'stage' ? `[${e.stage}]` : e.type === 'end' ? `<${e.state} ${e.error?.code}>` : ''));
  t.deepEqual(texts.slice(0, 2), ['[build]', `building ${first} in pid ${pid}`], 'what the dead worker wrote is kept');
  t.regex(texts[2] ?? '', /^ ! +the daemon stopped during this deploy/);
  t.is(texts[3], '<failed E_QUEUE_INTERRUPTED>');

  t.deepEqual(await queue.wait(second), { deployed: second }, 'the app goes on with its next job');
  t.deepEqual(ran, [second], 'the dead job is not run again');
});
