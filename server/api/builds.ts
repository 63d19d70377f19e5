/**
 * /v1/build: a Dockerfile build (docs/api.md, "Builds"; Docker's `POST /build`). The
 * context is the request body, a tar stream, extracted safely (build-context.ts) into a
 * fresh directory under BERTH_HOME before the answer starts, so a hostile or oversized
 * context is a plain error answer. Then the answer streams the build's events as they
 * happen and ends with the image. The client going away cancels the build (the running
 * step's container is killed and removed); the context directory is removed whatever happens.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type Request, type Router } from 'express';
import { BerthError, type Logger } from '../core/index.js';
import { formatEvent, selectBuilder, type BuildEvent, type BuilderName, type DockerfileBuildOptions } from '../build/index.js';
import { extractContext } from './build-context.js';
import { streamNdjson } from './ndjson.js';
import { flagParam, repeatedParam, stringParam, type Query } from './params.js';
import type { BuildService } from './services.js';
import type { BuildProgressView, BuildResultView } from './wire.js';

/** `?name=K=V` repeated, as a record; a value without `=` is an error naming it. */
function pairsParam(query: Query, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of repeatedParam(query, name)) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new BerthError('E_API_BAD_REQUEST', `?${name}= takes KEY=VALUE, not ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** The build's options from the query string: `t`, `dockerfile`, `buildarg`, `target`, `nocache`, `label`. */
export function buildOptionsOf(query: Query): Omit<DockerfileBuildOptions, 'limits' | 'signal'> {
  const dockerfile = stringParam(query, 'dockerfile');
  const target = stringParam(query, 'target');
  return {
    ...(dockerfile ? { dockerfile } : {}),
    tags: repeatedParam(query, 't'),
    buildArgs: pairsParam(query, 'buildarg'),
    ...(target ? { target } : {}),
    noCache: flagParam(query, 'nocache'),
    labels: pairsParam(query, 'label'),
  };
}

function resultView(r: { id: string; image: { digest: string }; tags: string[]; steps: number; cached: number }): BuildResultView {
  return { id: r.id, digest: r.image.digest, tags: r.tags, steps: r.steps, cached: r.cached };
}

async function receiveContext(req: Request, builds: BuildService): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > builds.contextMax) {
    throw new BerthError(
      'E_BUILD_CONTEXT_TOO_LARGE',
      `the build context is ${declared} bytes, more than ${builds.contextMax}, the most this daemon accepts (BERTH_BUILD_CONTEXT_MAX)`,
      { details: { size: declared, max: builds.contextMax } },
    );
  }
  const dir = await mkdtemp(join(builds.contextDir, 'context-'));
  try {
    await extractContext(req, dir, builds.contextMax);
    return dir;
  } catch (err) {
    req.resume(); // read and drop the rest, so that the client gets the error answer
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** `?builder=dockerfile|herokuish`; absent: chosen by the context (a Dockerfile or not). */
function builderOf(query: Query): BuilderName | undefined {
  const b = stringParam(query, 'builder');
  if (b === undefined || b === '') return undefined;
  if (b !== 'dockerfile' && b !== 'herokuish') throw new BerthError('E_API_BAD_REQUEST', `?builder= takes dockerfile or herokuish, not ${JSON.stringify(b)}`);
  return b;
}

export function buildRouter(builds: BuildService, log: Logger): Router {
  const r = express.Router();
  r.post('/', async (req, res) => {
    const options = buildOptionsOf(req.query); // bad parameters are an answer before the body is read
    // `-f FILE` names a Dockerfile: the Dockerfile builder, whatever the context's root holds.
    const named = options.dockerfile === undefined ? undefined : 'dockerfile';
    const builder = builderOf(req.query) ?? named;
    if (named && builder !== named)
      throw new BerthError('E_API_BAD_REQUEST', `?dockerfile= names a Dockerfile, which the ${builder} builder does not read; leave out one of them`);
    const buildpacks = repeatedParam(req.query, 'buildpack');
    const dir = await receiveContext(req, builds);
    // Without a Dockerfile (or with ?builder=herokuish) the context is built with buildpacks (docs/buildpacks.md).
    const chosen = await selectBuilder(dir, builder).catch(async (err: unknown) => {
      await rm(dir, { recursive: true, force: true });
      throw err;
    });
    // streamNdjson never throws; the context is removed before the last line is written.
    await streamNdjson<BuildProgressView, never, BuildResultView>(res, log, `building ${options.tags?.join(', ') || 'an image'}`, async (out) => {
      const progress = (event: BuildEvent): void => void out.progress({ ...event, text: formatEvent(event) });
      try {
        if (chosen === 'herokuish') {
          if (!builds.buildpacks) throw new BerthError('E_BUILD_OPTIONS_INVALID', 'this daemon has no buildpack builder; give the context a Dockerfile');
          const settings = { tags: options.tags ?? [], signal: out.signal, ...(buildpacks.length > 0 ? { buildpacks } : {}) };
          return resultView(await builds.buildpacks(dir, settings, progress));
        }
        return resultView(await builds.build(dir, { ...options, signal: out.signal }, progress));
      } finally {
        await rm(dir, { recursive: true, force: true }).catch((err: unknown) => log.error({ err, dir }, 'cannot remove a build context'));
      }
    });
  });
  return r;
}
