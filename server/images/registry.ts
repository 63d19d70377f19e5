/**
 * Push and pull against an OCI distribution (v2) registry, with basic or bearer-token auth.
 *
 * Pull: the manifest (an index picks its linux/amd64 image), then every blob the store does
 * not already have, each verified against its digest and size as it streams into the store
 * (up to three at a time); the tag is set last. Push: every blob the registry does not
 * already have (HEAD first), uploaded monolithically (POST, then PUT ?digest=), then the
 * manifest, byte for byte as stored, so the registry's digest is the store's. A blob the store
 * knows is in another repository of the same registry (it was pulled from or pushed there:
 * ImageStore.blobSources) is mounted from it (`POST …/blobs/uploads/?mount=&from=`) instead
 * of uploaded; a registry that answers 202 instead (no such blob there, or no access) gets
 * the upload it started.
 *
 * Plain HTTP is used for loopback registries (127.0.0.1, ::1, localhost) or when asked
 * (`insecure`); HTTPS otherwise. Connection failures are retried a bounded number of times
 * and then reported with how long and how often Berth tried.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { BerthError } from '../core/index.js';
import { sha256 } from './digest.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import { imageIndexSchema, isIndexType, manifestSchema, mediaTypes, parseDocument, type Descriptor } from './schemas.js';
import type { Image, ImageStore, Lease } from './store.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export type ProgressStatus = 'exists' | 'downloading' | 'downloaded' | 'uploading' | 'pushed';

/** One step of one blob, as Docker shows them per layer. */
export interface ProgressEvent {
  digest: string;
  kind: 'layer' | 'config';
  status: ProgressStatus;
  current: number;
  total: number;
  /** On a `pushed` event: the registry mounted the blob from this repository of its own; no byte was uploaded. */
  mountedFrom?: string;
}

/** Docker's words for a progress event: `Downloading`, `Pushed`, `Mounted from team/app`… */
export function progressWords(e: ProgressEvent): string {
  if (e.status === 'pushed' && e.mountedFrom !== undefined) return `Mounted from ${e.mountedFrom}`;
  return { exists: 'Already exists', downloading: 'Downloading', downloaded: 'Download complete', uploading: 'Pushing', pushed: 'Pushed' }[e.status];
}

export interface RegistryOptions {
  credentials?: RegistryCredentials;
  /** Use plain HTTP. @defaultValue true for loopback hosts, false otherwise */
  insecure?: boolean;
  /** Tries per request when the connection fails. @defaultValue 3 */
  attempts?: number;
  /** Milliseconds before one request gives up waiting for its answer, and a blob download that receives nothing for as long. @defaultValue 30000 */
  timeoutMs?: number;
  /** Blobs moved at once. @defaultValue 3 */
  concurrency?: number;
  onProgress?: (event: ProgressEvent) => void;
}

const MANIFEST_ACCEPT = [mediaTypes.ociManifest, mediaTypes.dockerManifest, mediaTypes.ociIndex, mediaTypes.dockerManifestList].join(', ');
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function needRegistry(ref: ImageReference, input: string): string {
  if (ref.registry === undefined) {
    throw new BerthError(
      'E_IMAGE_REFERENCE_INVALID',
      `${JSON.stringify(input)} names no registry: write host[:port]/name[:tag] (Berth has no default registry)`,
    );
  }
  return ref.registry;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(p[1] as string).toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}

class Session {
  private auth: string | undefined;
  private readonly base: string;
  private readonly attempts: number;
  private readonly timeoutMs: number;

  constructor(
    readonly registry: string,
    readonly repository: string,
    private readonly options: RegistryOptions,
    private readonly actions: string,
  ) {
    const insecure = options.insecure ?? isLoopback(registry);
    this.base = `${insecure ? 'http' : 'https'}://${registry}`;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.base}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  /**
   * fetch, bounded by timeoutMs until the answer's headers arrive; the body then takes as
   * long as it takes (a large layer on a slow link), since a stall is caught by the reader
   * (see fetchBlob). A streamed upload is not bounded here either: its answer comes only
   * after the whole body went, and undici's own idle timeouts apply.
   */
  private async fetchHeaders(url: string, init: RequestInit, streamedBody: boolean): Promise<Response> {
    const abort = new AbortController();
    const timer = streamedBody
      ? undefined
      : setTimeout(() => abort.abort(new DOMException(`no answer in ${this.timeoutMs} ms`, 'TimeoutError')), this.timeoutMs);
    try {
      return await fetch(url, { ...init, redirect: 'follow', signal: abort.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  /** fetch with bounded retries on connection failures. */
  private async fetchRetrying(url: string, init: RequestInit, what: string): Promise<Response> {
    const started = Date.now();
    let last: unknown;
    const retryable = init.body === undefined || init.body === null || typeof init.body === 'string' || init.body instanceof Uint8Array;
    const tries = retryable ? this.attempts : 1;
    for (let i = 0; i < tries; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** (i - 1)));
      try {
        return await this.fetchHeaders(url, init, !retryable);
      } catch (e) {
        last = e;
      }
    }
    const cause = (last as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (last as Error).message;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    throw new BerthError(
      'E_IMAGE_REGISTRY_UNREACHABLE',
      `cannot reach registry ${this.registry} for ${what} (${why}): tried ${tries} time${tries === 1 ? '' : 's'} over ${seconds} s`,
      {
        cause: last,
        details: { registry: this.registry, attempts: tries, seconds: Number(seconds) },
      },
    );
  }

  /** A request with authentication: a 401 is answered once with Basic or a bearer token, as the challenge asks. */
  async request(method: string, path: string, init: { headers?: Record<string, string>; body?: RequestInit['body'] } = {}): Promise<Response> {
    const what = `${method} ${path.replace(/^https?:\/\/[^/]+/, '')}`;
    const send = () =>
      this.fetchRetrying(
        this.url(path),
        {
          method,
          headers: { ...(init.headers ?? {}), ...(this.auth ? { authorization: this.auth } : {}) },
          ...(init.body === undefined ? {} : ({ body: init.body, duplex: 'half' } as RequestInit)),
        },
        what,
      );
    let res = await send();
    if (res.status === 401 && this.auth === undefined) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel();
      await this.authenticate(challenge, what);
      res = await send();
    }
    if (res.status === 401 || res.status === 403) {
      const text = await res.text().catch(() => '');
      const user = this.options.credentials?.username;
      const message =
        res.status === 403
          ? `registry ${this.registry} denied ${what} (403) ${user === undefined ? 'without credentials' : `to user ${user}`}${describeErrors(text)}`
          : user === undefined
            ? `registry ${this.registry} refused ${what} (401) without credentials: it needs a user name and password${describeErrors(text)}`
            : `registry ${this.registry} refused the credentials of user ${user} (401 for ${what})${describeErrors(text)}`;
      throw new BerthError('E_IMAGE_REGISTRY_AUTH', message, {
        hint:
          user === undefined
            ? `Log in: give -u USER --password-stdin for ${this.registry}.`
            : `Check the password of ${user} for ${this.registry} (and that ${user} may ${this.actions} ${this.repository}).`,
        details: { registry: this.registry, status: res.status },
      });
    }
    return res;
  }

  private async authenticate(challenge: Challenge | undefined, what: string): Promise<void> {
    const creds = this.options.credentials;
    if (challenge?.scheme === 'basic') {
      if (!creds) throw new BerthError('E_IMAGE_REGISTRY_AUTH', `registry ${this.registry} asks for a user name and password for ${what}, and none were given`);
      this.auth = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return;
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const realm = new URL(challenge.params.realm);
      if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
      realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.repository}:${this.actions}`);
      const headers: Record<string, string> = creds ? { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
      const res = await this.fetchRetrying(realm.toString(), { headers }, `a token from ${realm.origin}`);
      const text = await res.text();
      if (!res.ok) {
        throw new BerthError(
          'E_IMAGE_REGISTRY_AUTH',
          `the token service ${realm.origin} of registry ${this.registry} refused${creds ? ` user ${creds.username}` : ' an anonymous request'} (${res.status})${describeErrors(text)}`,
        );
      }
      let token: string | undefined;
      try {
        const body = JSON.parse(text) as { token?: string; access_token?: string };
        token = body.token ?? body.access_token;
      } catch {
        token = undefined;
      }
      if (!token) throw new BerthError('E_IMAGE_REGISTRY_AUTH', `the token service ${realm.origin} answered without a token`);
      this.auth = `Bearer ${token}`;
      return;
    }
    throw new BerthError('E_IMAGE_REGISTRY_AUTH', `registry ${this.registry} answered ${what} with 401 and no challenge Berth understands (Basic or Bearer)`);
  }

  async fail(res: Response, what: string): Promise<never> {
    const text = await res.text().catch(() => '');
    throw new BerthError('E_IMAGE_REGISTRY_FAILED', `registry ${this.registry} answered ${what} with ${res.status}${describeErrors(text)}`, {
      details: { registry: this.registry, status: res.status },
    });
  }
}

function describeErrors(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const list = (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean);
    return list.length > 0 ? `: ${list.join('; ')}` : '';
  } catch {
    const t = text.trim().slice(0, 200);
    return t ? `: ${t}` : '';
  }
}

/** Counts bytes for progress events. */
class Counter extends Transform {
  current = 0;
  constructor(private readonly tick: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, callback: TransformCallback): void {
    this.current += chunk.length;
    this.tick(this.current);
    callback(null, chunk);
  }
}

/**
 * `fn` over `items`, `size` at a time. The first failure stops new items and aborts `signal`
 * for those in flight; it is thrown only when every one of them has finished, so nothing is
 * still writing to the store when the caller sees the error.
 */
async function pool<T>(items: readonly T[], size: number, fn: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  let next = 0;
  const abort = new AbortController();
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item, abort.signal);
      } catch (error) {
        if (failure === undefined) {
          failure = { error };
          abort.abort();
        }
      }
    }
  });
  await Promise.all(workers);
  if (failure !== undefined) throw failure.error;
}

async function readManifest(
  session: Session,
  reference: string,
  expectDigest: string | undefined,
): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
  const path = `/v2/${session.repository}/manifests/${reference}`;
  const res = await session.request('GET', path, { headers: { accept: MANIFEST_ACCEPT } });
  if (res.status === 404) {
    await res.body?.cancel();
    const tags = await listTags(session).catch(() => undefined);
    throw new BerthError(
      'E_IMAGE_NOT_FOUND',
      `registry ${session.registry} has no ${session.repository}:${reference}${tags === undefined ? '' : tags.length === 0 ? ` (the repository has no tags)` : ` (its tags: ${tags.slice(0, 20).join(', ')}${tags.length > 20 ? ', …' : ''})`}`,
    );
  }
  if (!res.ok) await session.fail(res, `GET ${path}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new BerthError('E_IMAGE_REGISTRY_FAILED', `registry ${session.registry} sent a manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  const digest = sha256(bytes);
  const claimed = res.headers.get('docker-content-digest');
  for (const [who, want] of [
    ['the reference', expectDigest],
    ['the registry header', claimed ?? undefined],
  ] as const) {
    if (want !== undefined && want !== digest) {
      throw new BerthError(
        'E_IMAGE_DIGEST_MISMATCH',
        `the manifest ${session.repository}:${reference} from ${session.registry} hashes to ${digest}, but ${who} says ${want}`,
      );
    }
  }
  const mediaType =
    (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ??
    res.headers.get('content-type')?.split(';')[0]?.trim() ??
    mediaTypes.ociManifest;
  return { bytes, mediaType, digest };
}

async function listTags(session: Session): Promise<string[]> {
  const res = await session.request('GET', `/v2/${session.repository}/tags/list`);
  if (!res.ok) {
    await res.body?.cancel();
    return [];
  }
  const body = (await res.json()) as { tags?: string[] | null };
  return (body.tags ?? []).sort();
}

/**
 * Pull `reference` (`host[:port]/name[:tag|@digest]`) into the store. Blobs already in the
 * store are not fetched again. Returns the image, tagged with the reference (when it has a tag).
 */
export async function pullImage(store: ImageStore, reference: string, options: RegistryOptions = {}): Promise<Image> {
  const ref = parseReference(reference);
  const registry = needRegistry(ref, reference);
  const session = new Session(registry, ref.repository, options, 'pull');
  let top = await readManifest(session, ref.digest ?? (ref.tag as string), ref.digest);
  if (isIndexType(top.mediaType)) {
    const index = parseDocument(imageIndexSchema, top.bytes, `index ${top.digest} from ${registry}`);
    const runnable = index.manifests.filter((m) => !isIndexType(m.mediaType));
    const chosen = runnable.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? (runnable.length === 1 ? runnable[0] : undefined);
    if (!chosen)
      throw new BerthError(
        'E_IMAGE_NOT_FOUND',
        `${formatReference(ref)} has no linux/amd64 image (platforms: ${runnable.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ')})`,
      );
    top = await readManifest(session, chosen.digest, chosen.digest);
  }
  const manifest = parseDocument(manifestSchema, top.bytes, `manifest ${top.digest} from ${registry}`);
  const lease = store.lease([top.digest]);
  try {
    const blobs: [Descriptor, 'layer' | 'config'][] = [[manifest.config, 'config'], ...manifest.layers.map((l) => [l, 'layer'] as [Descriptor, 'layer'])];
    await pool(blobs, options.concurrency ?? 3, (b, signal) => fetchBlob(store, session, b[0], b[1], lease, options, signal));
    const image = await store.addImage(top.bytes, ref.tag === undefined ? [] : [`${ref.name}:${ref.tag}`]);
    await rememberSources(store, blobs, `${registry}/${ref.repository}`);
    return image;
  } finally {
    lease.release();
  }
}

async function fetchBlob(
  store: ImageStore,
  session: Session,
  d: Descriptor,
  kind: 'layer' | 'config',
  lease: Lease,
  options: RegistryOptions,
  signal: AbortSignal,
): Promise<void> {
  const progress = (status: ProgressStatus, current: number) => options.onProgress?.({ digest: d.digest, kind, status, current, total: d.size });
  lease.add(d.digest);
  if (await store.hasBlob(d.digest)) {
    progress('exists', d.size);
    return;
  }
  const path = `/v2/${session.repository}/blobs/${d.digest}`;
  const res = await session.request('GET', path);
  if (!res.ok || res.body === null) await session.fail(res, `GET ${path}`);
  progress('downloading', 0);
  let last = 0;
  // A body that stops arriving for timeoutMs fails the pull; a slow one that keeps coming does not.
  const idleMs = options.timeoutMs ?? 30_000;
  const stalled = () =>
    body.destroy(
      new BerthError(
        'E_IMAGE_REGISTRY_UNREACHABLE',
        `registry ${session.registry} sent nothing of ${kind} ${d.digest} for ${idleMs / 1000} s (${counter.current} of ${d.size} bytes received): check the network to it, then pull again`,
        {
          details: { registry: session.registry, digest: d.digest, received: counter.current, size: d.size },
        },
      ),
    );
  const idle = setTimeout(stalled, idleMs);
  const counter = new Counter((n) => {
    idle.refresh();
    if (n - last >= 256 * 1024 || n === d.size) {
      last = n;
      progress('downloading', n);
    }
  });
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.once('close', () => clearTimeout(idle));
  // Another blob failed: stop this one too (writeBlob removes what it wrote).
  const stop = () => body.destroy(new Error(`download of ${d.digest} stopped: another blob of the image failed`));
  body.on('error', (e) => counter.destroy(e)); // .pipe() does not carry errors
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop, { once: true });
  await store.writeBlob(body.pipe(counter), { digest: d.digest, size: d.size, what: `${kind} ${d.digest} from ${session.registry}`, lease });
  progress('downloaded', d.size);
}

export interface PushResult {
  digest: string;
  /** Blobs sent, and those the registry already had. */
  pushed: string[];
  existed: string[];
  /** Blobs the registry mounted from another of its repositories (not in `pushed`: no byte was sent). */
  mounted: { digest: string; from: string }[];
}

/**
 * Record where the blobs are, once the pull or push has succeeded. Only a later push's
 * shortcut depends on it, so a failure here (a full disk) does not turn a finished transfer
 * into an error: the next push uploads instead of mounting.
 */
async function rememberSources(store: ImageStore, blobs: readonly [Descriptor, unknown][], repository: string): Promise<void> {
  await store
    .recordBlobSources(
      blobs.map(([d]) => d.digest),
      repository,
    )
    .catch(() => undefined);
}

/** A repository of `registry` other than `repository` that `digest` is known to be in. */
async function mountSource(store: ImageStore, digest: string, registry: string, repository: string): Promise<string | undefined> {
  for (const source of await store.blobSources(digest)) {
    if (!source.startsWith(`${registry}/`)) continue;
    const from = source.slice(registry.length + 1);
    if (from !== repository) return from;
  }
  return undefined;
}

/**
 * Push the local image `source` to `target` (`host[:port]/name[:tag]`, default `source`).
 * Blobs the registry already has are not sent. The manifest goes as stored, so the
 * registry's digest is the image's.
 */
export async function pushImage(store: ImageStore, source: string, target: string = source, options: RegistryOptions = {}): Promise<PushResult> {
  const image = await store.resolve(source);
  const ref = parseReference(target);
  const registry = needRegistry(ref, target);
  const session = new Session(registry, ref.repository, options, 'pull,push');
  const result: PushResult = { digest: image.digest, pushed: [], existed: [], mounted: [] };
  const blobs: [Descriptor, 'layer' | 'config'][] = [
    ...image.manifest.layers.map((l) => [l, 'layer'] as [Descriptor, 'layer']),
    [image.manifest.config, 'config'],
  ];
  // The first request authenticates; after that blobs go in parallel with the same credentials.
  const first = await session.request('GET', '/v2/');
  if (!first.ok) await session.fail(first, 'GET /v2/');
  await first.body?.cancel();
  await pool(blobs, options.concurrency ?? 3, async ([d, kind]) => {
    const progress = (status: ProgressStatus, current: number) => options.onProgress?.({ digest: d.digest, kind, status, current, total: d.size });
    const head = await session.request('HEAD', `/v2/${session.repository}/blobs/${d.digest}`);
    if (head.ok) {
      result.existed.push(d.digest);
      progress('exists', d.size);
      return;
    }
    let start: Response | undefined;
    const from = await mountSource(store, d.digest, registry, session.repository);
    if (from !== undefined) {
      const path = `/v2/${session.repository}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`;
      try {
        start = await session.request('POST', path);
      } catch (e) {
        // No access to `from` (a token scoped to this repository): upload instead.
        if (!(e instanceof BerthError && e.code === 'E_IMAGE_REGISTRY_AUTH')) throw e;
      }
      if (start?.status === 201) {
        await start.body?.cancel();
        result.mounted.push({ digest: d.digest, from });
        options.onProgress?.({ digest: d.digest, kind, status: 'pushed', current: d.size, total: d.size, mountedFrom: from });
        return;
      }
      if (start !== undefined && start.status !== 202) {
        await start.body?.cancel();
        start = undefined;
      }
    }
    start ??= await session.request('POST', `/v2/${session.repository}/blobs/uploads/`);
    if (start.status !== 202) await session.fail(start, `POST /v2/${session.repository}/blobs/uploads/`);
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location) throw new BerthError('E_IMAGE_REGISTRY_FAILED', `registry ${registry} started an upload without a Location`);
    const url = new URL(location, `${session.url('/')}`);
    url.searchParams.set('digest', d.digest);
    progress('uploading', 0);
    const counter = new Counter((n) => progress('uploading', n));
    const body = Readable.toWeb((await store.openBlob(d.digest)).pipe(counter)) as unknown as RequestInit['body'];
    const put = await session.request('PUT', url.toString(), { headers: { 'content-type': 'application/octet-stream' }, body });
    if (put.status !== 201) await session.fail(put, `PUT (upload of ${d.digest})`);
    await put.body?.cancel();
    result.pushed.push(d.digest);
    progress('pushed', d.size);
  });
  const manifestBytes = await store.readBlob(image.digest, 'manifest');
  const tag = ref.digest ?? ref.tag ?? 'latest';
  const put = await session.request('PUT', `/v2/${session.repository}/manifests/${tag}`, { headers: { 'content-type': image.mediaType }, body: manifestBytes });
  if (put.status !== 201) await session.fail(put, `PUT /v2/${session.repository}/manifests/${tag}`);
  await put.body?.cancel();
  const echoed = put.headers.get('docker-content-digest');
  if (echoed !== null && echoed !== image.digest) {
    throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `registry ${registry} stored the manifest of ${source} as ${echoed}, not ${image.digest}`);
  }
  await rememberSources(store, blobs, `${registry}/${ref.repository}`);
  return result;
}
