export { main, buildProgram, USAGE_EXIT } from './program.js';
export { resolveSettings, type CliSettings } from './settings.js';
export { apiRequest } from './client.js';
