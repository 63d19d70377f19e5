export { buildDockerfile } from './builder.js';
export { buildBuildpacks, selectBuilder, BUNDLED_ORDER, type BuilderName, type BuildpackSettings, type BuildpackSource } from './buildpacks/index.js';
export { parseProcfile } from '../core/index.js';
export { BuildCache, cacheKey, type CacheKeyParts } from './cache.js';
export { formatEvent } from './progress.js';
export { DEFAULT_BUILD_LIMITS } from './options.js';
export { parseDockerfile, type ParsedDockerfile, type Stage, type Instruction, type Keyword } from './dockerfile.js';
export { substituteWord, substituteWords, type SubstituteOptions } from './substitute.js';
export type { Builder, BuildContext, BuildServices, BuildEvent, BuildLimits, BuildProgress, BuildResult, DockerfileBuildOptions } from './types.js';
