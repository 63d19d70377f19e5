/**
 * proxy's surface: the embedded nginx the daemon starts and probes, and the per-app router
 * with its route model, which release/ (docs/architecture.md) applies routes through.
 * Tests import the inner files directly.
 */
export { startEmbeddedNginx, nginxVersion, type EmbeddedNginx, type EmbeddedNginxOptions } from './embedded.js';
export { probeNginx } from './health.js';
export { ProxyRouter, type ProxyRouterOptions, type RouteChange, type ApplyOutcome } from './router.js';
export { validateAppRoute, defaultRouteOptions, type AppRoute, type AppRouteInput, type AppRouteOptions, type Upstream } from './app-route.js';
export { snippetDirectives } from './snippet.js';
