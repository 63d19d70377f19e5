import type { BuildpackSettings, BuildProgress, BuildResult, DockerfileBuildOptions } from '../build/index.js';
import type { ContainerManager } from '../containers/index.js';

/**
 * What the API uses of the container manager. A type of its own so that router tests can
 * stand in a small in-memory implementation (test/unit/api).
 */
export type ContainerService = Pick<
  ContainerManager,
  'list' | 'create' | 'inspect' | 'remove' | 'start' | 'stop' | 'kill' | 'stats' | 'commit' | 'logs' | 'attach' | 'exec' | 'usersOf' | 'imageRoots'
>;

/**
 * What the API uses of the builder: a build over a context directory the API extracted
 * (the daemon binds the image store, the containers, the cache and its configured limits),
 * and the build cache, whose images are GC roots until it is dropped.
 */
export interface BuildService {
  build(dir: string, options: Omit<DockerfileBuildOptions, 'limits'>, progress: BuildProgress): Promise<BuildResult>;
  /** A buildpack build of a context without a Dockerfile (`image:build`): a cache of its own, dropped after. */
  buildpacks?(dir: string, options: Pick<BuildpackSettings, 'tags' | 'buildpacks' | 'signal'>, progress: BuildProgress): Promise<BuildResult>;
  /** Where contexts are extracted (a directory under BERTH_HOME, each build in a fresh one below it). */
  contextDir: string;
  /** The most bytes of context tar a build may send (BERTH_BUILD_CONTEXT_MAX). */
  contextMax: number;
  /** The images the cache's entries name: roots for the images GC. */
  cacheRoots(): Promise<string[]>;
  /** Drop every cache entry; how many. */
  pruneCache(): Promise<number>;
}
