/**
 * The HTTP API: token authentication first on every route (unknown routes included),
 * JSON bodies only on /v1, BerthError → `{error: {code, message, hint}}` with its status.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import { BerthError, toBerthError, type Logger } from '../core/index.js';
import type { ImageStore } from '../images/index.js';
import { appsRouter } from './apps.js';
import { requireToken } from './auth.js';
import { containersRouter } from './containers.js';
import { buildRouter } from './builds.js';
import { allDeploysRouter, deploysRouter, type DeployService } from './deploys.js';
import { gitHttpRouter, type GitHttpOptions } from '../git/index.js';
import type { AppService, BuildService, ContainerService } from './services.js';
import { imagesRouter } from './images.js';
import type { StatusReport } from './wire.js';

export interface ApiOptions {
  token: string;
  log: Logger;
  status: () => Promise<StatusReport>;
  /** The image store behind /v1/images, and where debootstrap caches packages for the stack image. */
  images?: { store: ImageStore; debootstrapCache: string };
  /** Containers behind /v1/containers (their attach and exec streams: `containerUpgradeHandler`). */
  containers?: ContainerService;
  /** The Dockerfile builder behind /v1/build; its cache's images are roots of the images GC. */
  builds?: BuildService;
  /** git's smart HTTP at /<app>.git/… (docs/git.md), behind the same token check as every route. */
  git?: GitHttpOptions;
  /** The deploy queue behind /v1/apps/:app/deploys and /v1/deploys. */
  deploys?: DeployService;
  /** The apps store behind /v1/apps. */
  apps?: AppService;
}

export function createApi(o: ApiOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requireToken(o.token));
  if (o.git) app.use(gitHttpRouter(o.git, o.log));

  const v1 = express.Router();
  v1.use(express.json({ limit: '1mb' }));
  v1.get('/status', async (_req, res) => {
    res.json(await o.status());
  });
  if (o.images)
    v1.use(
      '/images',
      imagesRouter(o.images.store, o.log, {
        debootstrapCache: o.images.debootstrapCache,
        ...(o.containers ? { containers: o.containers } : {}),
        ...(o.builds ? { builds: o.builds } : {}),
      }),
    );
  if (o.builds) v1.use('/build', buildRouter(o.builds, o.log));
  if (o.containers) v1.use('/containers', containersRouter(o.containers, o.log));
  if (o.deploys) {
    v1.use('/apps/:app/deploys', deploysRouter(o.deploys, o.log));
    v1.use('/deploys', allDeploysRouter(o.deploys));
  }
  if (o.apps) v1.use('/apps', appsRouter(o.apps));
  app.use('/v1', v1);

  app.use((req, _res, next) => {
    next(new BerthError('E_API_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });

  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const e =
      (err as { type?: string }).type === 'entity.parse.failed'
        ? new BerthError('E_API_BAD_REQUEST', `the request body is not valid JSON: ${(err as Error).message}`)
        : toBerthError(err);
    if (e.code === 'E_BERTH_INTERNAL') o.log.error({ err, method: req.method, path: req.path }, 'request failed');
    else o.log.debug({ code: e.code, method: req.method, path: req.path }, e.message);
    res.status(e.httpStatus).json(e.toJSON());
  };
  app.use(onError);
  return app;
}
