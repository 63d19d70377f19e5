/**
 * What the pipeline needs from the rest of Berth, as narrow interfaces the composition root
 * (daemon.ts) fills with the real objects: the apps store (server/apps), the two builders
 * (server/build), the release engine (server/release) and a look into the image store. The
 * pipeline depends on these shapes only, so that a unit test can hand it stand-ins and a
 * change in another room's wider surface does not reach here.
 */
import type { Logger } from '../core/index.js';
import type { BuildProgress, DockerfileBuildOptions } from '../build/index.js';

/** The two builders (Contract 2). */
export type BuilderName = 'dockerfile' | 'herokuish';

/** An app as the pipeline reads it (server/apps' AppRecord, Contract 1). */
export interface AppView {
  name: string;
  deployBranch?: string;
  builder?: BuilderName;
  buildpacks: string[];
  env: Record<string, string>;
  scale: Record<string, number>;
  domains: string[];
  userns: { hostId: number; size: number };
  currentRelease?: number;
}

/** A release as the pipeline writes and reads it (server/apps' ReleaseRecord, Contract 1). */
export interface ReleaseView {
  number: number;
  createdAt: string;
  image: string;
  commit?: string;
  builder: BuilderName | 'none';
  env: Record<string, string>;
  processTypes: Record<string, string>;
  scale: Record<string, number>;
  description: string;
}

/** The apps store's part the pipeline uses (server/apps' AppStore). */
export interface AppsPort {
  get(name: string): Promise<AppView>;
  update(name: string, change: (app: AppView) => void): Promise<AppView>;
  paths(name: string): { dir: string; repo: string; cache: string };
  addRelease(name: string, release: Omit<ReleaseView, 'number' | 'createdAt'>): Promise<ReleaseView>;
  releases(name: string): Promise<ReleaseView[]>;
  release(name: string, number: number): Promise<ReleaseView>;
  setCurrent(name: string, number: number): Promise<void>;
}

/** The buildpack builder's settings (Contract 2's BuildpackSettings). */
export interface BuildpackSettings {
  app: string;
  cacheDir: string;
  env?: Record<string, string>;
  buildpacks?: string[];
  commit?: string;
  tags?: string[];
  signal?: AbortSignal;
}

/** What a build gives back that the pipeline reads: the image's id (its manifest digest). */
export interface BuiltImage {
  image: { digest: string };
}

/** The builders, each bound to the daemon's image store, containers, cache and limits. */
export interface BuildPort {
  /** Contract 2's selectBuilder: the app's setting, else a Dockerfile in `dir` → dockerfile, else herokuish. */
  select(dir: string, setting?: BuilderName): Promise<BuilderName>;
  dockerfile(dir: string, options: DockerfileBuildOptions, progress: BuildProgress): Promise<BuiltImage>;
  buildpacks(dir: string, settings: BuildpackSettings, progress: BuildProgress): Promise<BuiltImage>;
  /** Contract 2's parseProcfile (core's strict parser): type → command, or E_PROCFILE_INVALID naming the line. */
  parseProcfile(text: string): Record<string, string>;
}

/** The parts of an image's config the pipeline decides on. */
export interface ImageFacts {
  /** The manifest digest. */
  id: string;
  entrypoint: string[];
  cmd: string[];
  /** `EXPOSE`d ports as the config names them (`5000/tcp`, `53/udp`). */
  exposedPorts: string[];
  labels: Record<string, string>;
}

export interface ImagesPort {
  /** The facts of a stored image (by digest or reference). */
  inspect(reference: string): Promise<ImageFacts>;
  /** Point `tag` (`name:tag`) at the image, so that the image store's GC keeps a release's image. */
  tag(id: string, tag: string): Promise<void>;
}

/** Contract 3's plan: what the release engine makes serve. */
export interface ReleasePlan {
  app: string;
  release: number;
  image: string;
  processes: Record<string, { argv: string[] }>;
  scale: Record<string, number>;
  env: Record<string, string>;
  port: number;
  domains: string[];
  userns: { hostId: number; size: number };
  healthchecks?: unknown;
  releaseCommand?: string[];
  limits?: { memory?: number; cpus?: number; pids?: number };
}

/** What the release engine reports through while it works. */
export interface ReleaseIo {
  line(text: string): void;
  stage(name: string): void;
  signal: AbortSignal;
}

/** Contract 3's ReleaseEngine, the part the pipeline uses. */
export interface ReleasePort {
  deploy(plan: ReleasePlan, io: ReleaseIo): Promise<{ containers: string[] }>;
  cleanupInterrupted(app: string, release: number): Promise<void>;
}

/** The daemon's settings the pipeline reads. */
export interface DeploySettings {
  /** BERTH_DOMAIN: an app without domains of its own is `<app>.<domain>`. */
  domain: string;
  /** The port nginx serves apps on (BERTH_HTTP_PORT), for the URL a deploy answers. */
  httpPort: number;
  /** Where a deploy's received tree lives while it runs (BERTH_HOME/tmp/deploys); emptied of a dead run's leftovers by cleanupInterrupted. */
  workDir: string;
  /** The most bytes a pushed tree may have, as a tar (BERTH_BUILD_CONTEXT_MAX). */
  maxSourceBytes: number;
  /** The most bytes one file of a pushed tree may have. */
  maxFileBytes: number;
  /** The git binary. @defaultValue '/usr/bin/git' */
  git?: string;
}

/** Everything createDeployProcessor needs. */
export interface DeployPorts {
  apps: AppsPort;
  build: BuildPort;
  images: ImagesPort;
  release: ReleasePort;
  settings: DeploySettings;
  log: Logger;
}

/**
 * A job as the queue hands it to the processor (server/queue's JobContext). Declared here,
 * structurally, because deploy/ does not import the queue: the queue is transport above it.
 */
export interface DeployJob {
  /** `<app>.<number>`. */
  id: string;
  app: string;
  number: number;
  request:
    | { kind: 'push'; commit: string; ref: string; requestedAt: string }
    | { kind: 'config'; keys: string[]; requestedAt: string }
    | { kind: 'scale'; scale: Record<string, number>; requestedAt: string }
    | { kind: 'rollback'; release: number; requestedAt: string };
  signal: AbortSignal;
  line(text: string): void;
  stage(name: string): void;
}

/** A JSON value, as the queue stores a job's result. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The processor the queue's worker runs (server/queue's Processor). */
export type DeployProcessor = (job: DeployJob) => Promise<JsonObject>;

/** A job whose worker died (server/queue's JobInfo, the part cleanup reads). */
export interface InterruptedJob {
  id: string;
  app: string;
  stage?: string;
}

/** The cleanup the queue runs for such a job before it marks it failed (server/queue's InterruptedHook). */
export type InterruptedCleanup = (job: InterruptedJob) => Promise<void>;
