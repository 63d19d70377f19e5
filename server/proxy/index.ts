export { startEmbeddedNginx, testNginxConfig, nginxVersion, type EmbeddedNginx, type EmbeddedNginxOptions } from './embedded.js';
export { renderMainConfig, nginxPaths, type MainConfigOptions } from './main-config.js';
export { probeNginx } from './health.js';
export { ProxyRouter, type ProxyRouterOptions, type RouteChange, type ApplyOutcome } from './router.js';
export { validateAppRoute, defaultRouteOptions, type AppRoute, type AppRouteInput, type AppRouteOptions, type Upstream } from './app-route.js';
export { snippetDirectives } from './snippet.js';
