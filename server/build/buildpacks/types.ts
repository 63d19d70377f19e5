/** The buildpack builder's inputs (Contract 2; docs/buildpacks.md). */
import type { BuildLimits, BuildServices } from '../types.js';

/** The source tree, already on disk, and the services the build uses. */
export interface BuildpackSource extends BuildServices {
  /** Absolute path of the source directory; it is copied, never changed. */
  dir: string;
}

export interface BuildpackSettings {
  /** The app's name: in labels and messages. */
  app: string;
  /** Host directory mounted as CACHE_DIR, kept between builds; changed only by a build that succeeds. */
  cacheDir: string;
  /** The app's config vars: one file each in ENV_DIR (and BUILDPACK_URL is read from them). */
  env?: Record<string, string>;
  /**
   * The app's buildpacks (buildpacks:set): bundled names, absolute paths, git URLs with an
   * optional `#ref`. @defaultValue the source's .buildpacks, else BUILDPACK_URL, else app.json's
   * `buildpacks`, else detection over the bundled ones
   */
  buildpacks?: string[];
  /** The source commit, recorded in the image (label berth.source-commit) and given to buildpacks as SOURCE_VERSION. */
  commit?: string;
  /** `name[:tag]` to point at the image once everything has succeeded. */
  tags?: string[];
  /** The build container's limits. @defaultValue DEFAULT_BUILD_LIMITS */
  limits?: BuildLimits;
  /** Cancels the build: the container is killed and removed, nothing is tagged, the cache is unchanged. */
  signal?: AbortSignal;
}
