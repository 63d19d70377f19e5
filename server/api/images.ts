/**
 * /v1/images: the image store through the API (docs/api.md, "Images"). References travel
 * in the query string (`?ref=`), since they hold "/" and ":". Pull, push and base answer
 * with a stream (ndjson.ts): progress events or output lines, then the result or the
 * error; import takes the archive as the raw request body; export answers with the archive.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { BerthError, type Logger } from '../core/index.js';
import {
  buildBusyboxImage,
  ensureBusyboxImage,
  ensureStackImage,
  exportArchive,
  importArchive,
  parseReference,
  pullImage,
  tagOf,
  pushImage,
  type Image,
  type ImageStore,
  type ProgressEvent,
  type PushResult,
} from '../images/index.js';
import type { BuildService, ContainerService } from './services.js';
import { streamNdjson } from './ndjson.js';
import { bodyOf, flagParam, repeatedParam, requiredParam, stringParam } from './params.js';
import type { ImageView, PruneResult, UntagResult } from './wire.js';

export function imageView(image: Image): ImageView {
  return {
    digest: image.digest,
    tags: image.tags,
    configDigest: image.configDigest,
    ...(image.config.created === undefined ? {} : { created: image.config.created }),
    architecture: image.config.architecture,
    os: image.config.os,
    size: image.manifest.layers.reduce((n, l) => n + l.size, 0),
    layers: image.manifest.layers.map((l, i) => ({ digest: l.digest, diffId: image.config.rootfs.diff_ids[i] ?? '', size: l.size, mediaType: l.mediaType })),
    config: (image.config.config ?? {}) as Record<string, unknown>,
    history: (image.config.history ?? []).map((h) => ({
      ...(h.created === undefined ? {} : { created: h.created }),
      ...(h.created_by === undefined ? {} : { createdBy: h.created_by }),
      ...(h.empty_layer === undefined ? {} : { emptyLayer: h.empty_layer }),
      ...(h.comment === undefined ? {} : { comment: h.comment }),
    })),
  };
}

const credentialsSchema = z.object({ username: z.string().min(1), password: z.string() }).strict();
const pullSchema = z.object({ reference: z.string().min(1), credentials: credentialsSchema.optional() }).strict();
const pushSchema = z.object({ source: z.string().min(1), target: z.string().min(1).optional(), credentials: credentialsSchema.optional() }).strict();
const tagSchema = z.object({ source: z.string().min(1), target: z.string().min(1) }).strict();
const baseSchema = z.object({ name: z.enum(['busybox', 'stack']), rebuild: z.boolean().optional() }).strict();

const imageRef = (req: express.Request): string => requiredParam(req, 'ref', 'image reference');

export interface ImagesRouterOptions {
  /** Where debootstrap keeps packages between stack builds. */
  debootstrapCache: string;
  /** Images its containers use are GC roots, and removing their last tag needs force. */
  containers?: ContainerService;
  /** The build cache's images are GC roots too, until `?build-cache=true` drops the cache. */
  builds?: Pick<BuildService, 'cacheRoots' | 'pruneCache'>;
}

export function imagesRouter(store: ImageStore, log: Logger, options: ImagesRouterOptions): Router {
  const r = express.Router();
  r.get('/', async (_req, res) => {
    res.json(await store.list());
  });
  r.get('/inspect', async (req, res) => {
    res.json(imageView(await store.resolve(imageRef(req))));
  });
  r.post('/tag', async (req, res) => {
    const b = bodyOf(tagSchema, req);
    res.json(imageView(await store.tag(b.source, b.target)));
  });
  r.delete('/', async (req, res) => {
    const tag = imageRef(req);
    const force = flagParam(req.query, 'force');
    const containers = options.containers;
    if (containers && !force) {
      // Docker refuses to remove the last name of an image a container uses.
      const image = await store.resolve(tag);
      const users = containers.usersOf(image.digest);
      if (users.length > 0 && image.tags.length <= 1) {
        throw new BerthError('E_IMAGE_IN_USE', `image ${tag} is used by container ${users.map((c) => `${c.name} (${c.id.slice(0, 12)})`).join(', ')}`, {
          details: { image: image.digest, containers: users.map((c) => c.id) },
        });
      }
    }
    const digest = await store.untag(tag);
    res.json({ untagged: tagOf(parseReference(tag)) ?? tag, digest } satisfies UntagResult);
  });
  r.post('/prune', async (req, res) => {
    const dropCache = flagParam(req.query, 'build-cache');
    if (dropCache && !options.builds) throw new BerthError('E_API_BAD_REQUEST', 'this daemon has no build cache to drop (?build-cache=true)');
    const buildCacheEntries = dropCache && options.builds ? await options.builds.pruneCache() : 0;
    const roots = [...(options.containers?.imageRoots() ?? []), ...((await options.builds?.cacheRoots()) ?? [])];
    res.json({ ...(await store.gc(roots)), buildCacheEntries } satisfies PruneResult);
  });
  r.post('/base', async (req, res) => {
    const b = bodyOf(baseSchema, req);
    await streamNdjson<never, string, ImageView>(res, log, `building the ${b.name} image`, async (out) => {
      if (b.name === 'busybox') return imageView(b.rebuild ? await buildBusyboxImage(store) : await ensureBusyboxImage(store));
      return imageView(
        await ensureStackImage(store, { cacheDir: options.debootstrapCache, onLine: (text) => void out.line(text), rebuild: b.rebuild ?? false }),
      );
    });
  });
  r.post('/pull', async (req, res) => {
    const b = bodyOf(pullSchema, req);
    await streamNdjson<ProgressEvent, never, ImageView>(res, log, `pulling ${b.reference}`, async (out) => {
      const onProgress = (e: ProgressEvent): void => void out.progress(e);
      return imageView(await pullImage(store, b.reference, { ...(b.credentials ? { credentials: b.credentials } : {}), onProgress }));
    });
  });
  r.post('/push', async (req, res) => {
    const b = bodyOf(pushSchema, req);
    await streamNdjson<ProgressEvent, never, PushResult>(res, log, `pushing ${b.source}`, async (out) => {
      const onProgress = (e: ProgressEvent): void => void out.progress(e);
      return pushImage(store, b.source, b.target ?? b.source, { ...(b.credentials ? { credentials: b.credentials } : {}), onProgress });
    });
  });
  r.post('/import', async (req, res) => {
    const tag = stringParam(req.query, 'tag') || undefined;
    const images = await importArchive(store, req, { what: 'the uploaded archive', ...(tag === undefined ? {} : { tag }) });
    res.json(images.map(imageView));
  });
  r.get('/export', async (req, res) => {
    const refs = repeatedParam(req.query, 'ref');
    if (refs.length === 0) throw new BerthError('E_API_BAD_REQUEST', 'GET /v1/images/export needs ?ref=<image reference> (repeatable)');
    const format = stringParam(req.query, 'format') ?? 'oci-archive';
    if (format !== 'oci-archive' && format !== 'docker-archive')
      throw new BerthError('E_API_BAD_REQUEST', `format ${JSON.stringify(format)} is not oci-archive or docker-archive`);
    for (const r0 of refs) await store.resolve(r0); // a bad reference is an error before any byte is sent
    res.status(200).setHeader('content-type', 'application/x-tar');
    await exportArchive(store, format, refs, res);
  });
  return r;
}
