/**
 * The worker: takes "app has work" tokens from the dispatch queue (a BullMQ Worker with the
 * configured concurrency), and for each token moves the app's next job to active by hand
 * (`getNextJob` on the app's own queue, whose global concurrency of 1 makes BullMQ refuse while
 * another job of the app runs), runs the injected processor on it with an AbortSignal (cancel,
 * timeout, shutdown), writes its output channel, and finishes it. docs/queue.md has the design.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { BerthError, toBerthError } from '../core/index.js';
import { connect } from './connection.js';
import { describeJob, storedError, type StoredData, type StoredJob } from './jobs.js';
import { appQueueName, dispatchQueueName, formatJobId, keys, kindNouns } from './names.js';
import { OutputWriter } from './output.js';
import { localWorkers, ownerName, sweep } from './recovery.js';
import { defaults, type DispatchData, type Store } from './store.js';
import type { JobContext, JobId, JsonObject, WorkerOptions } from './types.js';

/** How long close() lets aborted processors return before it leaves their jobs to recovery. */
const CLOSE_GRACE_MS = 30_000;

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

export class QueueWorker {
  private readonly id = randomUUID();
  private readonly name = ownerName({ host: hostname(), pid: process.pid, worker: this.id });
  private readonly concurrency: number;
  private readonly heartbeatMs: number;
  /** A job's lock, and the liveness key, outlive three missed heartbeats. */
  private readonly lockMs: number;
  private readonly redis: Redis;
  private subscriber: Redis | undefined;
  private dispatcher: Worker<DispatchData> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  private tokens = 0;
  private closing = false;
  private readonly running = new Map<JobId, { abort: AbortController; job: StoredJob }>();

  constructor(
    private readonly store: Store,
    private readonly options: WorkerOptions,
  ) {
    const c = options.concurrency ?? defaults.concurrency;
    if (!Number.isInteger(c) || c < 1)
      throw new BerthError('E_CONFIG_INVALID', `queue concurrency ${JSON.stringify(c)} is not allowed: it must be an integer from 1`);
    this.concurrency = c;
    this.heartbeatMs = options.heartbeatMs ?? defaults.heartbeatMs;
    this.lockMs = 3 * this.heartbeatMs;
    this.redis = connect(store.endpoint, 'worker', store.settings.redisTimeoutMs, (err) => store.log.debug({ err }, 'queue worker: Redis connection error'));
  }

  async start(): Promise<void> {
    localWorkers.add(this.id);
    await this.beat();
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', (err) => this.store.log.debug({ err }, 'queue worker: Redis subscriber error'));
    this.subscriber.on('message', (_channel: string, message: string) => this.onCancel(message));
    await this.subscriber.subscribe(keys.cancelChannel(this.store.settings.prefix));
    // Jobs the previous daemon left running are failed (and cleaned up) before any new one starts.
    await this.sweep();
    this.dispatcher = new Worker<DispatchData>(dispatchQueueName, (token) => this.takeToken(token), {
      connection: this.redis,
      prefix: this.store.settings.prefix,
      concurrency: this.concurrency,
      name: this.name,
      lockDuration: this.lockMs,
      stalledInterval: this.lockMs,
    });
    this.dispatcher.on('error', (err) => this.store.log.warn({ err }, 'queue worker: dispatch error'));
    this.timer = setInterval(() => {
      void this.beat().catch((err: unknown) => this.store.log.warn({ err }, 'queue worker: heartbeat failed'));
      this.sweeping = this.sweeping.then(() => this.sweep());
    }, this.heartbeatMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    for (const [, { abort, job }] of this.running) {
      abort.abort(
        new BerthError('E_QUEUE_INTERRUPTED', `the daemon stopped during this ${kindNouns[job.data.request.kind]} (${describeJob(job)}): it was shutting down`),
      );
    }
    const dispatcher = this.dispatcher;
    if (dispatcher !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS);
      });
      // A processor that ignores its signal is left behind; its job is recovered at the next start.
      if ((await Promise.race([dispatcher.close(), grace])) === 'late') {
        this.store.log.error({ jobs: [...this.running.keys()] }, 'queue worker: jobs did not stop within the grace period; the next start fails them');
        await dispatcher.close(true);
      }
      clearTimeout(timer);
    }
    await this.sweeping.catch(() => undefined);
    localWorkers.delete(this.id);
    await this.redis.del(keys.worker(this.store.settings.prefix, this.id)).catch(() => undefined);
    this.subscriber?.disconnect();
    this.redis.disconnect();
  }

  private async beat(): Promise<void> {
    await this.redis.set(keys.worker(this.store.settings.prefix, this.id), this.name, 'PX', this.lockMs);
  }

  private async sweep(): Promise<void> {
    if (this.closing) return;
    try {
      await sweep(this.store, this.redis, this.id, this.options.onInterrupted);
    } catch (err) {
      this.store.log.warn({ err }, 'queue worker: recovery pass failed; retrying at the next heartbeat');
    }
  }

  private onCancel(message: string): void {
    let id: unknown;
    try {
      id = (JSON.parse(message) as { id?: unknown }).id;
    } catch {
      return;
    }
    const entry = typeof id === 'string' ? this.running.get(id) : undefined;
    if (entry === undefined) return;
    const { abort, job } = entry;
    abort.abort(new BerthError('E_QUEUE_CANCELLED', `${describeJob(job)} was cancelled while it ran`, { details: { id } }));
  }

  /** One token: run the app's next job, if the app has one and none runs. */
  private async takeToken(token: Job<DispatchData>): Promise<void> {
    const { app } = token.data;
    if (this.closing) return;
    await this.store.ensureSerial(app);
    const lockToken = `${this.id}:${++this.tokens}`;
    const fetcher = new Worker<StoredData, JsonObject>(appQueueName(app), null, {
      connection: this.redis,
      prefix: this.store.settings.prefix,
      name: this.name,
      autorun: false,
      lockDuration: this.lockMs,
    });
    fetcher.on('error', (err) => this.store.log.warn({ err, app }, 'queue worker: error on an app queue'));
    let ran = false;
    try {
      const job = (await fetcher.getNextJob(lockToken, { block: false })) as StoredJob | undefined;
      if (job === undefined) return;
      ran = true;
      await this.run(job, lockToken);
    } finally {
      await fetcher.close();
    }
    // The app's next job, if one is queued: a token at the back of the line keeps apps fair.
    if (ran && (await this.store.appQueue(app).getWaitingCount()) > 0) await this.store.wake(app);
  }

  private async run(job: StoredJob, lockToken: string): Promise<void> {
    const { app, request, timeoutMs } = job.data;
    const number = Number(job.id);
    const id = formatJobId(app, number);
    const log = this.store.log.child({ job: id });
    const abort = new AbortController();
    this.running.set(id, { abort, job });
    const writer = new OutputWriter(this.redis, this.store.outputKey(id), this.store.settings.output, log);
    let stage: string | undefined;
    let progress: Promise<void> = Promise.resolve();
    const timer = setTimeout(() => {
      abort.abort(
        new BerthError('E_QUEUE_TIMEOUT', `${describeJob(job)} ran longer than its limit of ${formatDuration(timeoutMs)} and was stopped`, {
          details: { id, timeoutMs },
        }),
      );
    }, timeoutMs);
    const renew = setInterval(() => {
      job.extendLock(lockToken, this.lockMs).then(
        (ok) => ok || log.warn('queue worker: the job lost its lock'),
        (err: unknown) => log.warn({ err }, 'queue worker: could not renew the job lock'),
      );
    }, this.heartbeatMs);
    const context: JobContext = {
      id,
      app,
      number,
      request,
      signal: abort.signal,
      line: (text) => writer.line(text),
      stage: (name) => {
        stage = name;
        writer.stage(name);
        // In order, and done before the job is finished: `info` after the end shows the last stage.
        progress = progress
          .then(() => job.updateProgress({ stage: name }))
          .catch((err: unknown) => log.warn({ err }, 'queue worker: could not record the stage'));
      },
    };
    log.info({ kind: request.kind }, `queue: ${describeJob(job)} starts`);
    let outcome: { result: JsonObject } | { error: BerthError };
    try {
      outcome = { result: (await this.options.processor(context)) ?? {} };
    } catch (err) {
      const reason: unknown = abort.signal.aborted ? abort.signal.reason : undefined;
      outcome = {
        error: reason instanceof BerthError ? new BerthError(reason.code, reason.message, { cause: err, details: reason.details }) : toBerthError(err),
      };
    } finally {
      clearTimeout(timer);
      clearInterval(renew);
      this.running.delete(id);
    }
    await Promise.all([writer.flush(), progress]);
    if ('result' in outcome) {
      await job.moveToCompleted(outcome.result, lockToken, false);
      log.info(`queue: ${describeJob(job)} succeeded`);
      await writer.end('succeeded');
    } else {
      const error = storedError(outcome.error);
      log.warn({ code: error.code, err: outcome.error }, `queue: ${describeJob(job)} failed`);
      await job.updateProgress(stage === undefined ? { error } : { stage, error });
      await job.moveToFailed(new Error(error.message), lockToken, false);
      await writer.end('failed', error);
    }
  }
}
