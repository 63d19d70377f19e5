/** redis's surface: what other folders of server/ use, and the options its starter takes. Tests import the inner files directly. */
export { startEmbeddedRedis, type EmbeddedRedis, type EmbeddedRedisOptions } from './embedded.js';
export { probeRedis, endpointFromUrl } from './health.js';
export type { RedisEndpoint } from './types.js';
