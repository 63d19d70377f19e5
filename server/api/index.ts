export { createApi, type ApiOptions } from './app.js';
export type { StatusReport, ServiceHealth } from './types.js';
export { imageView, type ImageView } from './images.js';
export { containersRouter, containerUpgradeHandler, type UpgradeOptions } from './containers.js';
