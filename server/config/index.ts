/** config's surface: what other folders of server/ use. Tests import the inner files directly. */
export { loadConfig } from './load.js';
export type { BerthConfig } from './schema.js';
