/**
 * The deploy queue: BullMQ on Berth's Redis, one job per push (or config change, scale,
 * rollback); the work itself is a processor the composition root injects (the deploy room's
 * pipeline). docs/queue.md is the full story; in short:
 *
 * **Per-app FIFO with cross-app parallelism, without BullMQ Pro's groups.** Each app has its
 * own BullMQ queue (`app.<name>`) holding its jobs in enqueue order, with a global concurrency
 * of 1: BullMQ's own Lua script refuses to move a second job of the app to active while one is
 * active, in any process. A second queue, `dispatch`, holds tokens that say "app X may have
 * work"; one BullMQ Worker takes them with the configured concurrency and, per token, takes the
 * app's next job by hand (`getNextJob`) and runs it. Every enqueue adds a token after its job,
 * and every finished job adds one if its app has more, so no job is left without a token; a
 * token for a busy or empty app ends at once. Why this over the alternatives:
 * - one queue with a per-app lock and re-delay: a job that finds its app busy must be put back
 *   (delayed), which reorders it behind later jobs of the same app and breaks the FIFO;
 * - one Worker per app queue plus a global semaphore: a job would be taken (active, locked)
 *   before it has a slot, so it would say "running" while it waits; and an idle app would hold
 *   a blocking Redis connection forever;
 * - tokens keep a waiting job in BullMQ's `wait` state until it really starts, cost one blocking
 *   connection for the whole worker, and the dispatch queue's FIFO takes apps in turn (an app
 *   with ten queued pushes does not starve the others).
 *
 * **Output.** Each job has a Redis stream (bounded, expiring) that the processor's lines and
 * stages go to; a reader gets it from the start, late or not, and follows to the end event
 * (output.ts says why a stream).
 *
 * **A worker killed mid-job** is found by its owner (recovery.ts): at the next start (and every
 * heartbeat) its job is failed with E_QUEUE_INTERRUPTED after the injected cleanup hook ran, not
 * silently retried by BullMQ's stalled-job checker.
 */
export { openQueue, type DeployQueue } from './deploy-queue.js';
export { formatJobId, parseJobId } from './names.js';
export type {
  JobRequest,
  JobKind,
  PushJob,
  ConfigJob,
  ScaleJob,
  RollbackJob,
  JobId,
  JobInfo,
  JobState,
  JobError,
  JobContext,
  Processor,
  InterruptedHook,
  OutputEvent,
  QueueOptions,
  WorkerOptions,
  EnqueueOptions,
  CancelResult,
  JsonObject,
  JsonValue,
} from './types.js';
