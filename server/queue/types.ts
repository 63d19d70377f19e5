/**
 * The queue's types: the jobs a caller enqueues, what a processor receives, what `info` and
 * `list` answer, and the events of a job's output channel (docs/queue.md).
 */
import type { Logger } from '../core/index.js';
import type { RedisEndpoint } from '../redis/index.js';

/** A JSON value, as results are stored in Redis. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object: what a processor returns. */
export type JsonObject = { [key: string]: JsonValue };

/** What every job carries besides its kind. */
interface JobCommon {
  /** When the user asked for it (ISO 8601); the queue fills it in when omitted. */
  requestedAt?: string;
}

/** A `git push` of a commit to the deploy branch. */
export interface PushJob extends JobCommon {
  kind: 'push';
  /** The pushed commit, 40 hex digits. */
  commit: string;
  /** The ref that was pushed (`refs/heads/main`). */
  ref: string;
}

/** `config:set` / `config:unset`: a new release with the same image. */
export interface ConfigJob extends JobCommon {
  kind: 'config';
  /** The keys set or unset, for the record; the values stay on disk, never in Redis. */
  keys: string[];
}

/** `ps:scale`: the wanted count per process type. */
export interface ScaleJob extends JobCommon {
  kind: 'scale';
  scale: Record<string, number>;
}

/** `releases:rollback`: redeploy an earlier release without a build. */
export interface RollbackJob extends JobCommon {
  kind: 'rollback';
  /** The release number to go back to. */
  release: number;
}

/** A job as the caller enqueues it. */
export type JobRequest = PushJob | ConfigJob | ScaleJob | RollbackJob;
export type JobKind = JobRequest['kind'];

/** A job id, `<app>.<number>`: the number counts that app's jobs from 1 (`hello.12`). */
export type JobId = string;

/** Where a job is: BullMQ's waiting/active/completed/failed under names a user reads. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

/** A failure as the three renderings need it (STYLE.md 6.4). */
export interface JobError {
  code: string;
  message: string;
  hint: string;
}

/** What `info` and `list` say about a job. */
export interface JobInfo {
  id: JobId;
  app: string;
  /** The app's job number (the `12` of `hello.12`). */
  number: number;
  request: JobRequest & { requestedAt: string };
  state: JobState;
  /** When it entered the queue, started and ended (ISO 8601). */
  enqueuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The last stage the processor announced. */
  stage?: string;
  /** For a queued job: what it waits for, as a sentence ("waiting for deploy #12 of app hello"). */
  waitingFor?: string;
  /** For a queued job: how many of the app's jobs are ahead of it (the running one included). */
  ahead?: number;
  result?: JsonObject;
  error?: JobError;
  /** The job's time limit in milliseconds. */
  timeoutMs: number;
}

/** One event of a job's output channel. `seq` counts the channel's events from 1. */
export type OutputEvent =
  | { type: 'line'; seq: number; at: number; text: string }
  | { type: 'stage'; seq: number; at: number; stage: string }
  | { type: 'end'; seq: number; at: number; state: 'succeeded' | 'failed'; error?: JobError }
  /** Events that were trimmed off the front of a long channel before this reader came. */
  | { type: 'dropped'; seq: number; at: number; count: number };

/** What a processor gets for one job. */
export interface JobContext {
  id: JobId;
  app: string;
  number: number;
  request: JobRequest & { requestedAt: string };
  /**
   * Aborted when the job is cancelled (`cancel(app)`) or runs out of time; its `reason` is
   * the BerthError (E_QUEUE_CANCELLED, E_QUEUE_TIMEOUT). The processor must stop soon after:
   * the app's next job starts only once this one has returned.
   */
  signal: AbortSignal;
  /** One line of output for the `git push` terminal and `builds:output`. */
  line(text: string): void;
  /** A stage begins (the deploy room names the stages). */
  stage(name: string): void;
}

/** The work itself, injected by the composition root (the deploy room's pipeline). */
export type Processor = (job: JobContext) => Promise<JsonObject>;

/**
 * Called at start-up for each job whose worker died mid-job (the daemon was SIGKILLed), before
 * the job is marked failed, so the deploy room can remove what the dead run left.
 */
export type InterruptedHook = (job: JobInfo) => Promise<void>;

export interface QueueOptions {
  endpoint: RedisEndpoint;
  /** The prefix of every Redis key. @defaultValue 'berth' */
  prefix?: string;
  log: Logger;
  /** A job's time limit unless the request sets one. @defaultValue 1_800_000 (30 minutes) */
  jobTimeoutMs?: number;
  /** Lines kept per job's output channel; older ones are trimmed. @defaultValue 20_000 */
  outputMaxEvents?: number;
  /** How long a job's output stays readable after its last line. @defaultValue 604_800 (7 days) */
  outputTtlSeconds?: number;
  /** Finished jobs kept per app (BullMQ `removeOnComplete`/`removeOnFail` count). @defaultValue 100 */
  keepFinished?: number;
  /** How long an operation waits for Redis before E_QUEUE_UNAVAILABLE. @defaultValue 5_000 */
  redisTimeoutMs?: number;
}

export interface WorkerOptions {
  processor: Processor;
  /** How many apps deploy at once (one job per app at a time). @defaultValue 2 */
  concurrency?: number;
  onInterrupted?: InterruptedHook;
  /**
   * How often the worker refreshes its liveness key and looks for jobs whose worker died.
   * A job's lock and the liveness key last three times this. @defaultValue 10_000
   */
  heartbeatMs?: number;
}

export interface EnqueueOptions {
  /** This job's time limit in milliseconds. */
  timeoutMs?: number;
}

export interface CancelResult {
  /** The running job that was signalled, if any. */
  running?: JobId;
  /** The queued jobs that were removed. */
  removed: JobId[];
}
