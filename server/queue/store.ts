/**
 * The queue's handle on Redis, shared by the caller's side (enqueue, info, list, cancel, wait)
 * and the worker: the commands connection, one BullMQ Queue per app (all on that connection),
 * the dispatch queue, and the settings.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BerthError, type Logger } from '../core/index.js';
import type { RedisEndpoint } from '../redis/index.js';
import { connect, guard } from './connection.js';
import type { StoredData } from './jobs.js';
import { appQueueName, dispatchQueueName, keys } from './names.js';
import type { OutputLimits } from './output.js';
import type { JobId, JsonObject, QueueOptions } from './types.js';

export interface Settings {
  prefix: string;
  jobTimeoutMs: number;
  output: OutputLimits;
  keepFinished: number;
  redisTimeoutMs: number;
}

export const defaults = {
  prefix: 'berth',
  jobTimeoutMs: 30 * 60_000,
  outputMaxEvents: 20_000,
  outputTtlSeconds: 7 * 24 * 3600,
  keepFinished: 100,
  redisTimeoutMs: 5_000,
  concurrency: 2,
  heartbeatMs: 10_000,
} as const;

export type AppQueue = Queue<StoredData, JsonObject, string>;

/** A dispatch token: "this app may have a job to run". */
export interface DispatchData {
  app: string;
}

export class Store {
  readonly settings: Settings;
  readonly commands: Redis;
  readonly dispatch: Queue<DispatchData>;
  private readonly queues = new Map<string, AppQueue>();
  private readonly serial = new Set<string>();

  constructor(
    readonly endpoint: RedisEndpoint,
    options: QueueOptions,
    readonly log: Logger,
  ) {
    const positive = (value: number | undefined, fallback: number): number => (value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback);
    this.settings = {
      prefix: options.prefix ?? defaults.prefix,
      jobTimeoutMs: positive(options.jobTimeoutMs, defaults.jobTimeoutMs),
      output: {
        maxEvents: Math.floor(positive(options.outputMaxEvents, defaults.outputMaxEvents)),
        ttlSeconds: Math.floor(positive(options.outputTtlSeconds, defaults.outputTtlSeconds)),
      },
      keepFinished: Math.floor(positive(options.keepFinished, defaults.keepFinished)),
      redisTimeoutMs: positive(options.redisTimeoutMs, defaults.redisTimeoutMs),
    };
    this.commands = connect(endpoint, 'commands', this.settings.redisTimeoutMs, (err) => this.log.debug({ err }, 'queue: Redis connection error'));
    this.dispatch = this.newQueue<DispatchData>(dispatchQueueName);
  }

  /** `op` within the Redis time limit, or E_QUEUE_UNAVAILABLE. */
  guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    return guard(this.commands, this.endpoint, this.settings.redisTimeoutMs, what, op);
  }

  /** The BullMQ queue of one app's jobs. */
  appQueue(app: string): AppQueue {
    let queue = this.queues.get(app);
    if (queue === undefined) {
      queue = this.newQueue<StoredData>(appQueueName(app)) as AppQueue;
      this.queues.set(app, queue);
    }
    return queue;
  }

  /**
   * Make the app's queue serial: BullMQ's global concurrency 1 is checked inside the Lua script
   * that moves a job to active, so no two workers (in any process) run two jobs of one app.
   */
  async ensureSerial(app: string): Promise<void> {
    if (this.serial.has(app)) return;
    await this.appQueue(app).setGlobalConcurrency(1);
    this.serial.add(app);
  }

  /**
   * Remove the app's BullMQ queue and all its jobs (BullMQ's obliterate, which refuses while a
   * job is active). The next job of that name makes the queue (and its serial limit) anew.
   */
  async forget(app: string): Promise<void> {
    const queue = this.appQueue(app);
    try {
      await queue.obliterate();
    } catch (err) {
      throw new BerthError('E_APP_DEPLOY_RUNNING', `the jobs of app ${app} cannot be removed while one of them runs`, {
        cause: err,
        hint: `\`berth builds:cancel ${app}\` stops it.`,
        details: { app },
      });
    }
    this.serial.delete(app);
    this.queues.delete(app);
    await queue.close();
  }

  /** Every app that ever had a job. */
  async apps(): Promise<string[]> {
    return (await this.commands.smembers(keys.apps(this.settings.prefix))).sort();
  }

  outputKey(id: JobId): string {
    return keys.output(this.settings.prefix, id);
  }

  /** Ask the dispatch queue to look at `app` (`dedupe`: only if no token with that id is pending). */
  async wake(app: string, dedupe?: string): Promise<void> {
    await this.dispatch.add('app', { app }, { removeOnComplete: true, removeOnFail: true, ...(dedupe ? { jobId: dedupe } : {}) });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values(), this.dispatch].map((q) => q.close()));
    this.queues.clear();
    this.commands.disconnect();
  }

  private newQueue<T>(name: string): Queue<T> {
    const queue = new Queue<T>(name, { connection: this.commands, prefix: this.settings.prefix });
    queue.on('error', (err) => this.log.debug({ err, queue: name }, 'queue: BullMQ queue error'));
    return queue;
  }
}
