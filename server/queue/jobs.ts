/**
 * What the queue stores per job in BullMQ, how a request is checked before it is stored, and how
 * a stored job reads back as a JobInfo.
 */
import type { Job } from 'bullmq';
import { BerthError, errorTable, validateConfigKey, validateProcessType, type ErrorCode } from '../core/index.js';
import { formatJobId, kindNouns } from './names.js';
import type { JobError, JobInfo, JobRequest, JobState, JsonObject } from './types.js';

/** A job's BullMQ `data`. */
export interface StoredData {
  app: string;
  request: JobRequest & { requestedAt: string };
  timeoutMs: number;
}

/** A job's BullMQ `progress`: the last stage, and the failure in full once it failed. */
export interface StoredProgress {
  stage?: string;
  error?: JobError;
}

export type StoredJob = Job<StoredData, JsonObject, string>;

const invalid = (message: string, field: string): BerthError => new BerthError('E_QUEUE_JOB_INVALID', message, { details: { field } });

const MAX_SCALE = 100;

/** A copy of `request` with `requestedAt` filled in, or E_QUEUE_JOB_INVALID naming the bad field. */
export function checkRequest(request: JobRequest): JobRequest & { requestedAt: string } {
  const requestedAt = request.requestedAt ?? new Date().toISOString();
  if (typeof requestedAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(requestedAt) || Number.isNaN(Date.parse(requestedAt))) {
    throw invalid(`invalid job request: requestedAt ${JSON.stringify(requestedAt)} is not an ISO 8601 time such as 2025-01-31T12:00:00Z`, 'requestedAt');
  }
  const kind = (request as { kind?: unknown }).kind;
  switch (request.kind) {
    case 'push':
      if (typeof request.commit !== 'string' || !/^[0-9a-f]{40}$/.test(request.commit)) {
        throw invalid(`invalid push job: commit ${JSON.stringify(request.commit)} is not 40 lowercase hex digits`, 'commit');
      }
      if (typeof request.ref !== 'string' || !/^refs\/[^\s\0]{1,250}$/.test(request.ref)) {
        throw invalid(`invalid push job: ref ${JSON.stringify(request.ref)} is not a full ref name such as refs/heads/main`, 'ref');
      }
      return { kind: 'push', commit: request.commit, ref: request.ref, requestedAt };
    case 'config':
      if (!Array.isArray(request.keys)) throw invalid('invalid config job: keys must be a list of config keys', 'keys');
      for (const key of request.keys) validateConfigKey(key);
      return { kind: 'config', keys: [...request.keys], requestedAt };
    case 'scale': {
      const entries = Object.entries(request.scale ?? {});
      if (entries.length === 0) throw invalid('invalid scale job: scale names no process type', 'scale');
      for (const [type, count] of entries) {
        validateProcessType(type);
        if (!Number.isInteger(count) || count < 0 || count > MAX_SCALE) {
          throw invalid(`invalid scale job: ${type}=${JSON.stringify(count)} is not an integer from 0 to ${MAX_SCALE}`, 'scale');
        }
      }
      return { kind: 'scale', scale: Object.fromEntries(entries), requestedAt };
    }
    case 'rollback':
      if (!Number.isInteger(request.release) || request.release < 1) {
        throw invalid(`invalid rollback job: release ${JSON.stringify(request.release)} is not a release number (an integer from 1)`, 'release');
      }
      return { kind: 'rollback', release: request.release, requestedAt };
    default:
      throw invalid(`invalid job request: kind ${JSON.stringify(kind)} is not one of push, config, scale, rollback`, 'kind');
  }
}

/** "deploy #12 of app hello" */
export function describeJob(job: Pick<StoredJob, 'id' | 'data'>): string {
  return `${kindNouns[job.data.request.kind]} #${job.id ?? '?'} of app ${job.data.app}`;
}

/** BullMQ's states as a user reads them. */
export function stateOf(bullState: string): JobState {
  switch (bullState) {
    case 'active':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
      return 'failed';
    default:
      return 'queued'; // waiting (and delayed/prioritized, which the queue never uses)
  }
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString());

/** A stored failure back as the BerthError it was (codes this version does not know read as E_BERTH_INTERNAL). */
export function errorFromStored(error: JobError): BerthError {
  const code = (error.code in errorTable ? error.code : 'E_BERTH_INTERNAL') as ErrorCode;
  return new BerthError(code, error.message, { hint: error.hint });
}

/** A BerthError as it is stored and sent. */
export function storedError(err: BerthError): JobError {
  return { code: err.code, message: err.message, hint: err.hint };
}

/**
 * A job as `info` and `list` show it. `running` is the app's running job, if any, and `queued`
 * the app's queued job numbers in order: a queued job says what it waits for.
 */
export function toInfo(job: StoredJob, bullState: string, running: StoredJob | undefined, queued: number[]): JobInfo {
  const state = stateOf(bullState);
  const number = Number(job.id);
  const progress = (typeof job.progress === 'object' && job.progress !== null ? job.progress : {}) as StoredProgress;
  const info: JobInfo = {
    id: formatJobId(job.data.app, number),
    app: job.data.app,
    number,
    request: job.data.request,
    state,
    enqueuedAt: new Date(job.timestamp).toISOString(),
    timeoutMs: job.data.timeoutMs,
  };
  const startedAt = iso(job.processedOn);
  const finishedAt = iso(job.finishedOn);
  if (startedAt && state !== 'queued') info.startedAt = startedAt;
  if (finishedAt && (state === 'succeeded' || state === 'failed')) info.finishedAt = finishedAt;
  if (progress.stage !== undefined) info.stage = progress.stage;
  if (state === 'succeeded') info.result = job.returnvalue ?? {};
  if (state === 'failed') {
    info.error = progress.error ?? { code: 'E_BERTH_INTERNAL', message: job.failedReason || 'the job failed', hint: errorTable.E_BERTH_INTERNAL.hint };
  }
  if (state === 'queued') {
    const before = queued.filter((n) => n < number).length;
    info.ahead = before + (running ? 1 : 0);
    if (running) info.waitingFor = `waiting for ${describeJob(running)}`;
    else if (before > 0) info.waitingFor = `waiting behind ${before} earlier job${before === 1 ? '' : 's'} of app ${job.data.app}`;
    else info.waitingFor = 'waiting for a free worker';
  }
  return info;
}
