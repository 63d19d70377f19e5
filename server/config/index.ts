export { loadConfig, defaultConfigFile } from './load.js';
export { configKeys, type BerthConfig, type ConfigKey } from './schema.js';
