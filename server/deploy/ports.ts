/**
 * What the pipeline needs from the rest of Berth, as narrow interfaces the composition root
 * (daemon.ts) fills with the real objects: the apps store (server/apps), the two builders
 * (server/build), the release engine (server/release) and a look into the image store. The
 * pipeline depends on these shapes only, so that a unit test can hand it stand-ins and a
 * change in another room's wider surface does not reach here.
 */
import type { Logger } from '../core/index.js';
import type { AppStore } from '../apps/index.js';
import type { BuildProgress, BuildpackSettings, DockerfileBuildOptions } from '../build/index.js';
import type { ReleaseEngine } from '../release/index.js';

/** The apps store's part the pipeline uses (server/apps, Contract 1). */
export type AppsPort = Pick<AppStore, 'get' | 'update' | 'paths' | 'addRelease' | 'releases' | 'release' | 'setCurrent'>;

/** What a build gives back that the pipeline reads: the image's id (its manifest digest). */
export interface BuiltImage {
  image: { digest: string };
}

/**
 * The two builders (server/build, Contract 2), each bound by the composition root to the
 * daemon's image store, containers, build cache and build limits.
 */
export interface BuildPort {
  dockerfile(dir: string, options: DockerfileBuildOptions, progress: BuildProgress): Promise<BuiltImage>;
  buildpacks(dir: string, settings: Omit<BuildpackSettings, 'limits'>, progress: BuildProgress): Promise<BuiltImage>;
}

/** The parts of an image's config the pipeline decides on (see imageFacts). */
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

/** The release engine's part the pipeline uses (server/release, Contract 3). */
export type ReleasePort = Pick<ReleaseEngine, 'deploy' | 'cleanupInterrupted'>;

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
