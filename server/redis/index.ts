export { startEmbeddedRedis, renderRedisConfig, type EmbeddedRedis, type EmbeddedRedisOptions } from './embedded.js';
export { probeRedis, endpointFromUrl, failFastClient } from './health.js';
export type { RedisEndpoint } from './types.js';
