/**
 * Jobs whose worker died: found by their owner (BullMQ's `processedBy`, which the worker sets to
 * who it is), failed visibly with E_QUEUE_INTERRUPTED after the cleanup hook ran for them.
 *
 * Why not BullMQ's stalled-job checker: it notices a dead worker only once the job's lock has
 * expired (`lockDuration`, 30 s by default) and a check has run (`stalledInterval`, 30 s), and
 * then, with `maxStalledCount: 1`, it puts the job back in `wait` and runs it again, without a
 * word to anyone and without a chance to clean up. A deploy that died halfway has left containers
 * and a half-switched state; the user who pushed has lost their terminal. Berth marks it failed,
 * says why, lets the deploy room clean up, and lets the app's next job run. An owner on this
 * host is known dead at once (its pid is gone), so a restarted daemon fails its predecessor's
 * job at start-up, not 30 to 60 s later.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { BerthError, markers } from '../core/index.js';
import { describeJob, storedError, toInfo, type StoredJob, type StoredProgress } from './jobs.js';
import { formatJobId, keys, kindNouns } from './names.js';
import { OutputWriter, lastSeq } from './output.js';
import type { Store } from './store.js';
import type { InterruptedHook } from './types.js';

/** Who runs a job: stored as the job's `processedBy`. */
export interface Owner {
  host: string;
  pid: number;
  worker: string;
}

/** The workers alive in this process (a pid alone cannot tell two workers of one process apart). */
export const localWorkers = new Set<string>();

export const ownerName = (owner: Owner): string => JSON.stringify(owner);

export function parseOwner(name: string | undefined): Owner | undefined {
  if (name === undefined) return undefined;
  try {
    const o = JSON.parse(name) as Partial<Owner>;
    return typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.worker === 'string' ? { host: o.host, pid: o.pid, worker: o.worker } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process runs (a zombie does not). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Whether the owner of a running job still works on it: in this process, only if that worker is
 * still here; on this host, only if its pid runs and its liveness key is fresh; elsewhere, only
 * if its liveness key is fresh (it expires three heartbeats after the worker stopped).
 */
export async function ownerAlive(owner: Owner | undefined, redis: Redis, prefix: string): Promise<boolean> {
  if (owner === undefined) return false;
  const here = owner.host === hostname();
  if (here && owner.pid === process.pid) return localWorkers.has(owner.worker);
  if (here && !pidAlive(owner.pid)) return false;
  return (await redis.exists(keys.worker(prefix, owner.worker))) === 1;
}

/**
 * Fail one job whose worker died: run the cleanup hook, then mark it failed with
 * E_QUEUE_INTERRUPTED and end its output channel. Cleanup runs first so that a crash during
 * cleanup leaves the job running-and-ownerless, to be cleaned up again at the next start (the
 * hook must be idempotent); the app's next job waits until this one is failed.
 */
export async function failInterrupted(store: Store, redis: Redis, job: StoredJob, hook: InterruptedHook | undefined): Promise<void> {
  const { app, request } = job.data;
  const id = formatJobId(app, job.id ?? '');
  const key = store.outputKey(id);
  const writer = new OutputWriter(redis, key, store.settings.output, store.log, await lastSeq(redis, key));
  const progress = (typeof job.progress === 'object' && job.progress !== null ? job.progress : {}) as StoredProgress;
  const where = progress.stage ? `, in its ${progress.stage} stage` : '';
  const error = new BerthError(
    'E_QUEUE_INTERRUPTED',
    `the daemon stopped during this ${kindNouns[request.kind]} (${describeJob(job)}${where}); it was marked failed when the queue started again`,
    {
      details: { id, owner: job.processedBy },
    },
  );
  store.log.warn({ id, owner: job.processedBy, stage: progress.stage }, `queue: ${describeJob(job)} lost its worker; cleaning up and marking it failed`);
  writer.line(`${markers.fail}${error.message}`);
  try {
    await hook?.(toInfo(job, 'active', undefined, []));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    store.log.error({ err, id, code: err instanceof BerthError ? err.code : undefined }, `queue: cleaning up after ${describeJob(job)} failed`);
    writer.line(`${markers.fail}cleaning up after it failed: ${why}`);
  }
  await job.updateProgress({ ...progress, error: storedError(error) });
  // Token "0" moves the job without its lock: the lock belongs to the dead worker (and may not
  // have expired yet). The script still refuses a job that is no longer active.
  await job.moveToFailed(new Error(error.message), '0', false);
  await writer.end('failed', storedError(error));
}

/**
 * One pass over every app: fail the running jobs whose worker died (at most one worker does it
 * per job, by a short Redis lock), and wake the apps that have queued jobs and none running, so
 * that a wake-up lost in a crash or a Redis outage costs one pass, not a stuck app.
 */
export async function sweep(store: Store, redis: Redis, workerId: string, hook: InterruptedHook | undefined): Promise<void> {
  const { prefix } = store.settings;
  for (const app of await store.apps()) {
    const queue = store.appQueue(app);
    const running = await queue.getActive();
    for (const job of running) {
      if (await ownerAlive(parseOwner(job.processedBy), redis, prefix)) continue;
      const claim = `${prefix}:recovering:${app}.${job.id ?? ''}`;
      if ((await redis.set(claim, '1', 'PX', 600_000, 'NX')) !== 'OK') continue;
      try {
        await failInterrupted(store, redis, job, hook);
      } finally {
        await redis.del(claim);
      }
    }
    const idle = running.length === 0 || (await queue.getActiveCount()) === 0;
    // At most one pending sweep token per app and worker. The id names this worker: a dead
    // worker's token keeps its id while BullMQ holds it active, and would swallow the wake-up.
    if (idle && (await queue.getWaitingCount()) > 0) await store.wake(app, `sweep.${app}.${workerId}`);
  }
}
