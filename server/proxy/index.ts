export { startEmbeddedNginx, testNginxConfig, nginxVersion, type EmbeddedNginx, type EmbeddedNginxOptions } from './embedded.js';
export { renderMainConfig, nginxPaths, type MainConfigOptions } from './main-config.js';
export { probeNginx } from './health.js';
