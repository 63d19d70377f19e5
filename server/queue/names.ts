/**
 * Job ids and the Redis names the queue uses. A job id is `<app>.<number>`: app names never
 * contain a dot (they are DNS labels), so the id splits without ambiguity, and it is safe in a
 * URL path, a shell word and a file name.
 */
import { BerthError, validateAppName } from '../core/index.js';
import type { JobId, JobKind } from './types.js';

/** The id of the `number`th job of `app`. */
export function formatJobId(app: string, number: number | string): JobId {
  return `${app}.${number}`;
}

/** Split a job id into its app and number; a malformed id is E_QUEUE_JOB_ID_INVALID, never guessed at. */
export function parseJobId(id: string): { app: string; number: number } {
  const dot = id.lastIndexOf('.');
  const digits = dot < 0 ? '' : id.slice(dot + 1);
  if (dot < 0 || !/^[1-9][0-9]{0,14}$/.test(digits)) {
    throw new BerthError('E_QUEUE_JOB_ID_INVALID', `invalid job id ${JSON.stringify(id)}: it must be <app>.<number>, for example hello.12`, {
      details: { id },
    });
  }
  const app = id.slice(0, dot);
  try {
    validateAppName(app);
  } catch (err) {
    throw new BerthError('E_QUEUE_JOB_ID_INVALID', `invalid job id ${JSON.stringify(id)}: ${(err as Error).message}`, { cause: err, details: { id } });
  }
  return { app, number: Number(digits) };
}

/** The BullMQ queue that holds one app's jobs (`app.<name>`: no app name can be `dispatch`'s twin). */
export const appQueueName = (app: string): string => `app.${app}`;
/** The BullMQ queue of "this app has work" tokens that the workers take. */
export const dispatchQueueName = 'dispatch';

/** Redis keys of the queue's own, beside BullMQ's `<prefix>:<queue>:…`. */
export const keys = {
  /** Every app that ever had a job: `list()` without an app walks it. */
  apps: (prefix: string): string => `${prefix}:apps`,
  /** A job's output channel: a stream. */
  output: (prefix: string, id: JobId): string => `${prefix}:output:${id}`,
  /** A worker's liveness key, refreshed while it runs. */
  worker: (prefix: string, workerId: string): string => `${prefix}:workers:${workerId}`,
  /** Where cancel requests are published to every worker. */
  cancelChannel: (prefix: string): string => `${prefix}:cancel`,
};

/** How a job of each kind is named in a sentence ("waiting for deploy #12 of app hello"). */
export const kindNouns: Record<JobKind, string> = {
  push: 'deploy',
  config: 'config change',
  scale: 'scale',
  rollback: 'rollback',
};
