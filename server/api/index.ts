export { createApi, type ApiOptions } from './app.js';
export type { StatusReport, ServiceHealth } from './types.js';
