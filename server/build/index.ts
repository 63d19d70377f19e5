export { buildDockerfile } from './builder.js';
export { BuildCache, cacheKey, type CacheKeyParts } from './cache.js';
export { formatEvent } from './progress.js';
export { DEFAULT_BUILD_LIMITS } from './options.js';
export { parseDockerfile, type ParsedDockerfile, type Stage, type Instruction, type Keyword } from './dockerfile.js';
export { substituteWord, substituteWords, type SubstituteOptions } from './substitute.js';
export type { Builder, BuildContext, BuildServices, BuildEvent, BuildLimits, BuildProgress, BuildResult, DockerfileBuildOptions } from './types.js';
