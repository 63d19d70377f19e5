/**
 * The caller's side of the deploy queue: enqueue, info, list, output, wait, cancel; and `work`,
 * which starts this process's worker (worker.ts). The design is in docs/queue.md and index.ts.
 */
import { BerthError, validateAppName } from '../core/index.js';
import { checkRequest, errorFromStored, storedError, toInfo, describeJob, type StoredData, type StoredJob } from './jobs.js';
import { keys, formatJobId, parseJobId } from './names.js';
import { OutputWriter, endEvent, readOutput } from './output.js';
import { Store } from './store.js';
import { QueueWorker } from './worker.js';
import type { CancelResult, EnqueueOptions, JobError, JobId, JobInfo, JobRequest, JsonObject, OutputEvent, QueueOptions, WorkerOptions } from './types.js';

/** The deploy queue: one per daemon (the API, the git hook's endpoint and the worker share it). */
export interface DeployQueue {
  /** Queue a job for `app`; resolves to its id once it is stored in Redis. */
  enqueue(app: string, request: JobRequest, options?: EnqueueOptions): Promise<JobId>;
  /** Where a job is, and for a queued one, what it waits for. */
  info(id: JobId): Promise<JobInfo>;
  /** The jobs of one app, or of every app, newest first. */
  list(app?: string): Promise<JobInfo[]>;
  /**
   * A job's output from its first kept event; with `follow` (the default) it goes on until the
   * job's end event, even when the reader comes late or the job is over.
   */
  output(id: JobId, options?: { follow?: boolean; signal?: AbortSignal }): AsyncIterable<OutputEvent>;
  /** The job's result once it succeeds, or its error (a BerthError) once it fails. */
  wait(id: JobId, options?: { signal?: AbortSignal }): Promise<JsonObject>;
  /** Signal the app's running job to stop and remove its queued jobs. */
  cancel(app: string): Promise<CancelResult>;
  /**
   * Drop everything the queue holds of an app (its jobs, finished ones included, their output,
   * its job counter), for apps:destroy and apps:rename: a new app of that name starts at job 1.
   * Refused with E_APP_DEPLOY_RUNNING while one of its jobs runs.
   */
  forget(app: string): Promise<void>;
  /** Start this process's worker: crash recovery first, then jobs. At most once per queue. */
  work(options: WorkerOptions): Promise<void>;
  /** Stop the worker (its running jobs are interrupted and marked failed) and close every connection. */
  close(): Promise<void>;
}

/**
 * Connect to the queue's Redis. Fails with E_QUEUE_UNAVAILABLE when Redis does not answer within
 * `redisTimeoutMs`.
 */
export async function openQueue(options: QueueOptions): Promise<DeployQueue> {
  const store = new Store(options.endpoint, options, options.log);
  try {
    await store.guard('open the deploy queue', () => store.commands.ping());
  } catch (err) {
    await store.close();
    throw err;
  }
  return new Queue(store);
}

const FOLLOW_MARGIN_MS = 60_000;

class Queue implements DeployQueue {
  private worker: QueueWorker | undefined;

  constructor(private readonly store: Store) {}

  async enqueue(app: string, request: JobRequest, options: EnqueueOptions = {}): Promise<JobId> {
    validateAppName(app);
    const checked = checkRequest(request);
    const timeoutMs = options.timeoutMs ?? this.store.settings.jobTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new BerthError('E_QUEUE_JOB_INVALID', `invalid job timeout ${JSON.stringify(timeoutMs)}: it must be a whole number of milliseconds from 1`, {
        details: { field: 'timeoutMs' },
      });
    }
    const data: StoredData = { app, request: checked, timeoutMs };
    const { keepFinished } = this.store.settings;
    return this.store.guard(`queue a ${checked.kind} job for app ${app}`, async () => {
      await this.store.ensureSerial(app);
      await this.store.commands.sadd(keys.apps(this.store.settings.prefix), app);
      const job = await this.store
        .appQueue(app)
        .add(checked.kind, data, { attempts: 1, removeOnComplete: { count: keepFinished }, removeOnFail: { count: keepFinished } });
      await this.store.wake(app);
      return formatJobId(app, job.id ?? '');
    });
  }

  async info(id: JobId): Promise<JobInfo> {
    const { app, number } = parseJobId(id);
    return this.store.guard(`read job ${id}`, async () => {
      const queue = this.store.appQueue(app);
      // The state first, then the job: a job read before it finished and a state read after
      // would show it succeeded without its result.
      const state = await queue.getJobState(String(number));
      const job = await queue.getJob(String(number));
      if (job === undefined || state === 'unknown') throw notFound(id);
      if (state !== 'waiting') return toInfo(job, state, undefined, []);
      const [running, queued] = await Promise.all([queue.getActive(0, 0), queue.getWaiting()]);
      if (running[0]?.id === job.id) return toInfo(job, 'active', undefined, []); // it started meanwhile
      return toInfo(
        job,
        state,
        running[0],
        queued.map((j) => Number(j.id)),
      );
    });
  }

  async list(app?: string): Promise<JobInfo[]> {
    if (app !== undefined) validateAppName(app);
    return this.store.guard(app ? `list the jobs of app ${app}` : 'list the jobs', async () => {
      const apps = app !== undefined ? [app] : await this.store.apps();
      const perApp = await Promise.all(apps.map((a) => this.listApp(a)));
      return perApp.flat().sort((x, y) => y.enqueuedAt.localeCompare(x.enqueuedAt) || x.app.localeCompare(y.app) || y.number - x.number);
    });
  }

  output(id: JobId, options: { follow?: boolean; signal?: AbortSignal } = {}): AsyncIterable<OutputEvent> {
    parseJobId(id);
    const store = this.store;
    const info = (): Promise<JobInfo> => this.info(id);
    return {
      async *[Symbol.asyncIterator]() {
        const key = store.outputKey(id);
        // Known job, or a removed one whose output is still kept (a cancelled queued job).
        const first = await info().catch(async (err: unknown) => {
          if (isNotFound(err) && (await store.guard(`read the output of ${id}`, () => store.commands.exists(key))) === 1) return undefined;
          throw err;
        });
        const maxMs = first ? first.timeoutMs * (1 + (first.ahead ?? 0)) + FOLLOW_MARGIN_MS : FOLLOW_MARGIN_MS;
        const reader = store.commands.duplicate();
        reader.on('error', () => undefined); // failures surface through the read itself
        try {
          yield* readOutput(reader, key, {
            follow: options.follow ?? true,
            signal: options.signal,
            maxMs,
            finished: async () => {
              const now = await info().catch(() => undefined);
              return now === undefined || now.state === 'succeeded' || now.state === 'failed';
            },
          });
        } finally {
          reader.disconnect();
        }
      },
    };
  }

  async wait(id: JobId, options: { signal?: AbortSignal } = {}): Promise<JsonObject> {
    const key = this.store.outputKey(id);
    const outcome = async (): Promise<{ result: JsonObject } | { error: JobError } | 'running' | 'gone'> => {
      let info: JobInfo;
      try {
        info = await this.info(id);
      } catch (err) {
        if (isNotFound(err)) return 'gone';
        throw err;
      }
      if (info.state === 'succeeded') return { result: info.result ?? {} };
      if (info.state === 'failed') return { error: info.error ?? { code: 'E_BERTH_INTERNAL', message: `job ${id} failed`, hint: '' } };
      return 'running';
    };
    const settle = async (o: Awaited<ReturnType<typeof outcome>>, end?: OutputEvent): Promise<JsonObject | undefined> => {
      if (typeof o === 'object') {
        if ('result' in o) return o.result;
        throw errorFromStored(o.error);
      }
      if (o === 'running') return undefined;
      // Gone: a queued job removed by cancel() still has its end event saying why.
      const last = end?.type === 'end' ? end : await this.store.guard(`read job ${id}`, () => endEvent(this.store.commands, key));
      if (last?.error) throw errorFromStored(last.error);
      throw notFound(id);
    };
    const before = await settle(await outcome());
    if (before !== undefined) return before;
    let end: OutputEvent | undefined;
    try {
      for await (const event of this.output(id, { signal: options.signal })) if (event.type === 'end') end = event;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const after = await settle(await outcome(), end);
    if (after !== undefined) return after;
    options.signal?.throwIfAborted();
    throw new BerthError('E_QUEUE_TIMEOUT', `gave up waiting for job ${id}: it did not end within its time limit and those of the jobs ahead of it`, {
      details: { id },
    });
  }

  async cancel(app: string): Promise<CancelResult> {
    validateAppName(app);
    return this.store.guard(`cancel the jobs of app ${app}`, async () => {
      const queue = this.store.appQueue(app);
      const removed: JobId[] = [];
      for (const job of await queue.getWaiting()) {
        const id = formatJobId(app, job.id ?? '');
        try {
          await job.remove();
        } catch {
          continue; // it started meanwhile: the running job below
        }
        removed.push(id);
        const error = new BerthError('E_QUEUE_CANCELLED', `${describeJob(job)} was cancelled before it started`, { details: { id } });
        await new OutputWriter(this.store.commands, this.store.outputKey(id), this.store.settings.output, this.store.log).end('failed', storedError(error));
      }
      const [running] = await queue.getActive(0, 0);
      if (running === undefined) return { removed };
      const id = formatJobId(app, running.id ?? '');
      await this.store.commands.publish(keys.cancelChannel(this.store.settings.prefix), JSON.stringify({ id }));
      return { running: id, removed };
    });
  }

  async forget(app: string): Promise<void> {
    validateAppName(app);
    await this.store.guard(`forget the jobs of app ${app}`, async () => {
      await this.store.forget(app);
      const prefix = this.store.settings.prefix;
      // App names hold no `.`, so `<app>.*` is this app's streams only.
      let cursor = '0';
      do {
        const [next, found] = await this.store.commands.scan(cursor, 'MATCH', keys.output(prefix, `${app}.*`), 'COUNT', 1000);
        if (found.length > 0) await this.store.commands.del(...found);
        cursor = next;
      } while (cursor !== '0');
      await this.store.commands.srem(keys.apps(prefix), app);
    });
  }

  async work(options: WorkerOptions): Promise<void> {
    if (this.worker !== undefined) throw new BerthError('E_BERTH_INTERNAL', 'the deploy queue already has a worker in this process');
    this.worker = new QueueWorker(this.store, options);
    await this.worker.start();
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.store.close();
  }

  private async listApp(app: string): Promise<JobInfo[]> {
    const queue = this.store.appQueue(app);
    const [running, queued, completed, failed] = await Promise.all([queue.getActive(), queue.getWaiting(), queue.getCompleted(), queue.getFailed()]);
    const order = queued.map((j) => Number(j.id));
    const infos = (jobs: StoredJob[], state: string): JobInfo[] => jobs.map((j) => toInfo(j, state, running[0], order));
    return [...infos(running, 'active'), ...infos(queued, 'waiting'), ...infos(completed, 'completed'), ...infos(failed, 'failed')];
  }
}

const isNotFound = (err: unknown): boolean => err instanceof BerthError && err.code === 'E_QUEUE_JOB_NOT_FOUND';

function notFound(id: JobId): BerthError {
  return new BerthError('E_QUEUE_JOB_NOT_FOUND', `no job ${id}`, { details: { id } });
}
