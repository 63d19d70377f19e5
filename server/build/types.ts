/**
 * The build room's public types: what a build takes (a context and options), what it reports
 * while it runs (typed progress events, rendered as Docker's classic builder prints them by
 * progress.ts), and what it gives back. `Builder` is the shape every builder has: the
 * Dockerfile builder now, the buildpack builder next.
 */
import type { ContainerManager } from '../containers/index.js';
import type { Image, ImageStore } from '../images/index.js';
import type { BuildCache } from './cache.js';

/** The daemon's parts a build works with. */
export interface BuildServices {
  images: ImageStore;
  /** RUN steps are containers of this manager (default isolation, its network). */
  containers: ContainerManager;
  /** Where step results are remembered; without it nothing is cached. */
  cache?: BuildCache;
}

/** The build context: a directory on disk (already extracted), and the services the build uses. */
export interface BuildContext extends BuildServices {
  /** Absolute path of the context directory. */
  dir: string;
}

/** Resource limits of each RUN step's container: on by default. */
export interface BuildLimits {
  /** Bytes. @defaultValue 2 GiB ({@link DEFAULT_BUILD_LIMITS}) */
  memoryBytes?: number;
  /** CPUs, as a decimal number. @defaultValue the host's CPU count, at most 2 */
  cpus?: number;
  /** Processes. @defaultValue 1024 */
  pids?: number;
}

export interface DockerfileBuildOptions {
  /** The Dockerfile's path inside the context. @defaultValue 'Dockerfile' */
  dockerfile?: string;
  /** `name[:tag]` to point at the built image, once everything else has succeeded. */
  tags?: string[];
  /** `--build-arg`: values for the Dockerfile's ARGs. */
  buildArgs?: Record<string, string>;
  /** Build up to this stage (its name or index) and make it the result. @defaultValue the last stage */
  target?: string;
  /** Ignore the cache (results are still stored in it). @defaultValue false */
  noCache?: boolean;
  /** Labels added to the final image's config. */
  labels?: Record<string, string>;
  limits?: BuildLimits;
  /** Cancels the build: the running step's container is killed and removed, nothing is tagged. */
  signal?: AbortSignal;
}

/** One thing a build reports, in order. {@link formatEvent} prints each as Docker's classic builder does. */
export type BuildEvent =
  /** `Step 3/9 : RUN npm ci` */
  | { type: 'step'; step: number; total: number; instruction: string; line: number }
  /** ` ---> Running in <id>`: a RUN step's container (short id). */
  | { type: 'running'; container: string }
  /** A line a RUN step printed (without its newline). */
  | { type: 'output'; stream: 'stdout' | 'stderr'; line: string }
  /** ` ---> Using cache` */
  | { type: 'cache' }
  /** `Removing intermediate container <id>` */
  | { type: 'removed'; container: string }
  /** ` ---> <id>`: the step's resulting image (short id), or the base image after FROM. */
  | { type: 'image'; id: string }
  /** `Pulling <image>`: a FROM image not in the store, pulled from the registry its reference names. */
  | { type: 'pulling'; image: string }
  /** `Status: Downloaded newer image for <image>` */
  | { type: 'pulled'; image: string; id: string }
  /** `# Executing N build triggers` (a base image's ONBUILD). */
  | { type: 'triggers'; count: number }
  /** `[Warning] …` */
  | { type: 'warning'; message: string }
  /** `Successfully built <id>` */
  | { type: 'built'; id: string }
  /** `Successfully tagged <name>` */
  | { type: 'tagged'; tag: string }
  /** A line printed as is: a buildpack build's output, in Heroku's words (`-----> Node.js app detected`). */
  | { type: 'line'; line: string };

/** Receives a build's events as they happen. It must not throw. */
export type BuildProgress = (event: BuildEvent) => void;

export interface BuildResult {
  image: Image;
  /** The image id as printed: 12 hex digits of its manifest digest. */
  id: string;
  tags: string[];
  /** Steps run, and how many of them the cache answered. */
  steps: number;
  cached: number;
}

/**
 * A builder: from a source (a context directory with the services) and its settings to an
 * image, reporting progress as it goes.
 */
export type Builder<Source = BuildContext, Settings = DockerfileBuildOptions> = (
  source: Source,
  settings: Settings,
  progress: BuildProgress,
) => Promise<BuildResult>;
