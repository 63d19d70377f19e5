/**
 * The release room's data (docs/releases.md): what a deploy asks for (ReleasePlan), what it
 * reports back, the engine's services and settings.
 */
import type { Logger } from '../core/index.js';
import type { ContainerManager } from '../containers/index.js';
import type { ImageStore } from '../images/index.js';
import type { ProxyRouter } from '../proxy/index.js';

/** How one process type runs in the release's image. */
export interface ProcessSpec {
  /**
   * The program and its arguments: they replace the image's Cmd, its Entrypoint stays
   * (`docker run IMAGE argv…`). Empty: the image's own Entrypoint and Cmd.
   */
  argv: string[];
}

/** One release to put in service: its image, how each process type runs, and where it is served. */
export interface ReleasePlan {
  app: string;
  /** The release's number (1, 2, 3… per app): containers are labelled and named with it. */
  release: number;
  /** Image id (manifest digest) or reference in the store. */
  image: string;
  /** Each process type's command. */
  processes: Record<string, ProcessSpec>;
  /** Containers per process type; a type left out runs none (web=1 on a first deploy, others 0, is the caller's rule). */
  scale: Record<string, number>;
  /** Config vars. Every container also gets PORT and DYNO (`web.1`), which replace any config var of that name. */
  env: Record<string, string>;
  /** The port the web process listens on (PORT): 5000, or the image's EXPOSEd port. */
  port: number;
  /** The host names the app is served at, already defaulted (`<app>.<BERTH_DOMAIN>`). */
  domains: string[];
  /** The app's user namespace map: every container of the app shares it. */
  userns: { hostId: number; size: number };
  /** app.json `healthchecks` as the app has it (Dokku's format); validated here. @defaultValue the default checks */
  healthchecks?: unknown;
  /** The release phase: run once, in a one-off container of the image, before any process starts. @defaultValue none */
  releaseCommand?: string[];
  /** Each container's limits: memory in bytes, CPUs as a fraction, pids. @defaultValue none */
  limits?: { memory?: number; cpus?: number; pids?: number };
}

/** The engine's steps, named as deploy/'s stages of the same name (the engine announces each through `io.stage`). */
export type ReleaseStage = 'release-phase' | 'start' | 'checks' | 'switch' | 'retire';

/** Where a deploy's output goes, and how it is cancelled. */
export interface ReleaseIo {
  /** One line for the push's terminal, printed as is. */
  line(text: string): void;
  /** A stage begins. */
  stage(name: ReleaseStage): void;
  /** Aborting before the switch removes the new containers and fails with E_RELEASE_CANCELLED; after it, the deploy finishes. */
  signal: AbortSignal;
}

/** What a deploy did. */
export interface DeployOutcome {
  /** The ids of the release's containers, now serving. */
  containers: string[];
  /** The addresses nginx now sends the app's requests to. */
  upstreams: { address: string; port: number }[];
  /** The ids of the old containers stopped and removed. */
  retired: string[];
}

/** What `cleanupInterrupted` found and did. */
export interface CleanupOutcome {
  /** The ids of the containers it removed. */
  removed: string[];
  /** The release whose web containers nginx sends the app's requests to now, if any. */
  serving?: number;
}

export interface ReleaseEngine {
  /**
   * Put `plan` in service: release phase, containers per process type, health checks,
   * switch, retire. On a failure before the switch the new containers are removed and the
   * old release keeps serving, untouched; the error says why.
   */
  deploy(plan: ReleasePlan, io: ReleaseIo): Promise<DeployOutcome>;
  /** Remove the app's route, then stop and remove every container of the app (apps:destroy). */
  stopApp(app: string): Promise<void>;
  /**
   * After a deploy of `release` died (kill -9 of the daemon): its containers are removed and
   * the release nginx routes to keeps serving. When the switch had already happened, the
   * new release is the one serving: it is kept and the older containers are retired.
   */
  cleanupInterrupted(app: string, release: number): Promise<CleanupOutcome>;
}

/** The engine's timings (the daemon's BERTH_CHECKS_*, BERTH_WAIT_TO_RETIRE, BERTH_STOP_TIMEOUT). */
export interface ReleaseSettings {
  /**
   * How long a new web container must stay up after its port first answers (other types:
   * after they start) for the default check to pass.
   * @defaultValue 1
   */
  uptimeSeconds: number;
  /** How long a new web container has to listen on its port. @defaultValue 60 */
  bootTimeoutSeconds: number;
  /** The longest wait, after the switch, for requests in flight to the old containers. @defaultValue 60 */
  waitToRetireSeconds: number;
  /** SIGTERM to SIGKILL for a retired or stopped container. @defaultValue 10 */
  stopTimeoutSeconds: number;
  /** How long the switch waits for an nginx that is down to come back before the deploy fails. @defaultValue 10 */
  switchWaitSeconds: number;
}

export const defaultReleaseSettings: Readonly<ReleaseSettings> = Object.freeze({
  uptimeSeconds: 1,
  bootTimeoutSeconds: 60,
  waitToRetireSeconds: 60,
  stopTimeoutSeconds: 10,
  switchWaitSeconds: 10,
});

export interface ReleaseServices {
  containers: ContainerManager;
  images: ImageStore;
  router: ProxyRouter;
  log: Logger;
  /** @defaultValue defaultReleaseSettings */
  settings?: Partial<ReleaseSettings>;
}

/** The labels every app container carries (docs/releases.md); `berth-runtime list` and `berth ps` filter on them. */
export const labels = {
  app: 'berth.app',
  release: 'berth.release',
  process: 'berth.process',
  /** `release`: the one-off container of the release phase. */
  phase: 'berth.phase',
} as const;
