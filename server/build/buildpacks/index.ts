/** The buildpack builder's surface, re-exported by the build room's index.ts. */
export { buildBuildpacks } from './builder.js';
export { selectBuilder, type BuilderName } from './select.js';
export { BUNDLED_ORDER } from './sources.js';
export type { BuildpackSettings, BuildpackSource } from './types.js';
