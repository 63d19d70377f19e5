/**
 * /v1/images: the image store through the API (docs/api.md, "Images"). References travel
 * in the query string (`?ref=`), since they hold "/" and ":". Pull and push answer with
 * NDJSON: one progress event per line, then `{"image": …}` or `{"error": …}`; import takes
 * the archive as the raw request body; export answers with the archive.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { BerthError, toBerthError, type Logger } from '../core/index.js';
import type { ContainerManager } from '../containers/index.js';
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
} from '../images/index.js';

/** What the API tells about an image. */
export interface ImageView {
  digest: string;
  tags: string[];
  configDigest: string;
  created?: string;
  architecture: string;
  os: string;
  size: number;
  layers: { digest: string; diffId: string; size: number; mediaType: string }[];
  config: Record<string, unknown>;
  history: { created?: string; createdBy?: string; emptyLayer?: boolean; comment?: string }[];
}

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

function body<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const r = schema.safeParse(req.body ?? {});
  if (r.success) return r.data;
  throw new BerthError('E_API_BAD_REQUEST', `the request body is not what ${req.method} ${req.baseUrl}${req.path} takes: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
}

function ref(req: Request, name = 'ref'): string {
  const v = req.query[name];
  if (typeof v !== 'string' || v === '') throw new BerthError('E_API_BAD_REQUEST', `${req.method} ${req.baseUrl}${req.path} needs ?${name}=<image reference>`);
  return v;
}

/** Stream NDJSON: progress lines, then the result or the error. */
async function ndjson(res: Response, log: Logger, work: (progress: (e: ProgressEvent) => void, say: (text: string) => void) => Promise<unknown>): Promise<void> {
  res.status(200).setHeader('content-type', 'application/x-ndjson');
  const line = (v: unknown) => res.write(`${JSON.stringify(v)}\n`);
  try {
    line({ result: await work((e) => line({ progress: e }), (text) => line({ line: text })) });
  } catch (err) {
    const e = toBerthError(err);
    if (e.code === 'E_BERTH_INTERNAL') log.error({ err }, 'image transfer failed');
    line(e.toJSON());
  }
  res.end();
}

export interface ImagesRouterOptions {
  /** Where debootstrap keeps packages between stack builds. */
  debootstrapCache: string;
  /** Images its containers use are GC roots, and removing their last tag needs force. */
  containers?: ContainerManager;
}

export function imagesRouter(store: ImageStore, log: Logger, options: ImagesRouterOptions): Router {
  const r = express.Router();
  r.get('/', async (_req, res) => {
    res.json(await store.list());
  });
  r.get('/inspect', async (req, res) => {
    res.json(imageView(await store.resolve(ref(req))));
  });
  r.post('/tag', async (req, res) => {
    const b = body(tagSchema, req);
    res.json(imageView(await store.tag(b.source, b.target)));
  });
  r.delete('/', async (req, res) => {
    const tag = ref(req);
    const force = req.query.force === 'true' || req.query.force === '1';
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
    res.json({ untagged: tagOf(parseReference(tag)) ?? tag, digest });
  });
  r.post('/prune', async (_req, res) => {
    res.json(await store.gc(options.containers?.imageRoots() ?? []));
  });
  r.post('/base', async (req, res) => {
    const b = body(baseSchema, req);
    await ndjson(res, log, async (_progress, say) => {
      if (b.name === 'busybox') return imageView(b.rebuild ? await buildBusyboxImage(store) : await ensureBusyboxImage(store));
      return imageView(await ensureStackImage(store, { cacheDir: options.debootstrapCache, onLine: say, rebuild: b.rebuild ?? false }));
    });
  });
  r.post('/pull', async (req, res) => {
    const b = body(pullSchema, req);
    await ndjson(res, log, async (onProgress) => imageView(await pullImage(store, b.reference, { ...(b.credentials ? { credentials: b.credentials } : {}), onProgress })));
  });
  r.post('/push', async (req, res) => {
    const b = body(pushSchema, req);
    await ndjson(res, log, async (onProgress) => pushImage(store, b.source, b.target ?? b.source, { ...(b.credentials ? { credentials: b.credentials } : {}), onProgress }));
  });
  r.post('/import', async (req, res) => {
    const tag = typeof req.query.tag === 'string' && req.query.tag !== '' ? req.query.tag : undefined;
    const images = await importArchive(store, req, { what: 'the uploaded archive', ...(tag === undefined ? {} : { tag }) });
    res.json(images.map(imageView));
  });
  r.get('/export', async (req, res) => {
    const refs = ([] as unknown[]).concat(req.query.ref ?? []).filter((v): v is string => typeof v === 'string' && v !== '');
    if (refs.length === 0) throw new BerthError('E_API_BAD_REQUEST', 'GET /v1/images/export needs ?ref=<image reference> (repeatable)');
    const format = req.query.format ?? 'oci-archive';
    if (format !== 'oci-archive' && format !== 'docker-archive') throw new BerthError('E_API_BAD_REQUEST', `format ${JSON.stringify(format)} is not oci-archive or docker-archive`);
    for (const r0 of refs) await store.resolve(r0); // a bad reference is an error before any byte is sent
    res.status(200).setHeader('content-type', 'application/x-tar');
    await exportArchive(store, format, refs, res);
  });
  return r;
}
