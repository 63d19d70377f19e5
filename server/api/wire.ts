/**
 * The API's wire contract: every shape a client reads from or sends to /v1 (docs/api.md).
 * Types only, no runtime code: the CLI imports it with `import type`, so none of the
 * daemon's modules load in the CLI. Shapes the domain folders define are re-exported as
 * they are, so the wire and the domain cannot drift apart.
 */
import type { LogLine } from '../containers/index.js';
import type { BuildEvent } from '../build/index.js';
import type { GcResult, ProgressEvent } from '../images/index.js';
import type { JobId, JobInfo, JsonObject } from '../queue/index.js';
import type { AppPaths, AppRecord } from '../apps/index.js';

export type { ContainerView, ContainerState, CreateRequest, CommitRequest, ExitStatus, LogLine } from '../containers/index.js';
export type { ContainerStats } from '../runtime/index.js';
export type { BuildEvent } from '../build/index.js';
export type { GcResult, ImageSummary, ProgressEvent, PushResult } from '../images/index.js';
export type { JobInfo, JobState, JobError, CancelResult } from '../queue/index.js';
export type { AppPaths, AppRecord, BuilderName, ReleaseRecord } from '../apps/index.js';

/** What `GET /v1/status` answers. */
export interface StatusReport {
  berth: { version: string; node: string; pid: number; uptimeSeconds: number; home: string };
  redis: ServiceHealth;
  nginx: ServiceHealth & { port: number };
}

export interface ServiceHealth {
  mode: 'embedded' | 'external';
  healthy: boolean;
  version?: string;
  /** Why it is unhealthy, in words. */
  error?: string;
  /** PID of the embedded server. */
  pid?: number;
  /** How often the daemon restarted it after it died. */
  restarts?: number;
}

/** What the API tells about an image (`GET /v1/images/inspect`, and every route answering an image). */
export interface ImageView {
  digest: string;
  tags: string[];
  configDigest: string;
  created?: string;
  architecture: string;
  os: string;
  size: number;
  layers: { digest: string; diffId: string; size: number; mediaType: string }[];
  config: Record<string, unknown>;
  history: { created?: string; createdBy?: string; emptyLayer?: boolean; comment?: string }[];
}

/** `DELETE /v1/images?ref=`. */
export interface UntagResult {
  untagged: string;
  digest: string;
}

/** `DELETE /v1/containers/:ref`. */
export interface RemoveResult {
  removed: string;
}

/** The body of every error answer, and the `error` line of a stream. */
export interface ErrorBody {
  error: { code: string; message: string; hint?: string; details?: Record<string, unknown> };
}

/**
 * One line of a streamed (NDJSON, `application/x-ndjson`) answer: exactly one of a
 * progress event, a line of output, the result (last), or the error (last). A stream
 * ends after its result or error; a stream of lines (a log) may end without either.
 */
export type Envelope<Progress = never, Line = never, Result = never> = { progress: Progress } | { line: Line } | { result: Result } | ErrorBody;

/** `POST /v1/images/pull`, `POST /v1/images/push`: per-blob progress, then the result. */
export type TransferEnvelope<Result> = Envelope<ProgressEvent, never, Result>;
/** `POST /v1/images/base`: the build's output lines, then the image. */
export type BuildEnvelope = Envelope<never, string, ImageView>;
/** `GET /v1/containers/:ref/logs`: one log line per line, no result. */
export type LogEnvelope = Envelope<never, LogLine, never>;

/** `POST /v1/images/prune`: what the images GC removed, and the build cache entries dropped first (`?build-cache=true`). */
export type PruneResult = GcResult & { buildCacheEntries: number };

/** One event of `POST /v1/build`, with the line Docker's classic builder prints for it. */
export type BuildProgressView = BuildEvent & { text: string };

/** The result of `POST /v1/build`. */
export interface BuildResultView {
  /** 12 hex digits of the manifest digest, as printed. */
  id: string;
  digest: string;
  tags: string[];
  /** Steps run, and how many of them the cache answered. */
  steps: number;
  cached: number;
}

/** `POST /v1/build`: the build's events as they happen, then its result. */
export type DockerfileBuildEnvelope = Envelope<BuildProgressView, never, BuildResultView>;

/** Progress of a deploy's stream: its job id (first), each stage as it begins, and events trimmed off a long output. */
export type DeployProgress = { id: JobId } | { stage: string } | { dropped: number };

/** The result of `POST /v1/apps/:app/deploys`: the job's own result, or why the push did not deploy. */
export type DeployResultView = { deployed: true; branch: string; id: JobId; result: JsonObject } | { deployed: false; branch: string; deployBranch: string };

/** `POST /v1/apps/:app/deploys` (what the pre-receive hook sends): lines as they happen, then the result. */
export type DeployEnvelope = Envelope<DeployProgress, string, DeployResultView>;
/** `GET /v1/apps/:app/deploys/:id/output`: the job's lines and stages, then (once it ended, or without follow) its info. */
export type DeployOutputEnvelope = Envelope<DeployProgress, string, JobInfo>;
/** `GET /v1/apps/:app/deploys`, `GET /v1/deploys`: newest first. */
export type DeployList = JobInfo[];
/** What the API tells about an app (`GET /v1/apps`, `GET /v1/apps/:app`, and every route answering an app): its record and where its files are. */
export type AppInfo = AppRecord & { paths: AppPaths };

/** `GET|POST|PUT|DELETE /v1/apps/:app/buildpacks`: the app's buildpacks, in order, after the change. */
export interface BuildpackList {
  buildpacks: string[];
}

/** `DELETE /v1/apps/:app`. */
export interface DestroyResult {
  destroyed: string;
}

/** `POST /v1/apps/:app/purge-cache`. */
export interface PurgeResult {
  purged: string;
}
