/**
 * The image store: an OCI image layout (image-spec image-layout.md) under BERTH_HOME/images.
 *
 *   oci-layout                    {"imageLayoutVersion": "1.0.0"}
 *   index.json                    one descriptor per tag, the tag in org.opencontainers.image.ref.name
 *   blobs/sha256/<hex>            manifests, configs and layers, as their producer made them
 *   ingest/                       blobs being written; emptied at start (a crash mid-write)
 *   layers/sha256/<diff-id hex>/  each layer unpacked once: an overlay lower directory
 *   layers/tmp/                   layers being unpacked; emptied at start
 *   blob-sources.json             registry repositories each blob is known to be in (for cross-repository mounts on push)
 *   lock                          the store's lock (lock.ts): one writing process at a time
 *
 * Because the store is a plain OCI layout, `skopeo copy oci:BERTH_HOME/images:busybox:latest …`
 * reads it directly. Every blob is verified when written (its sha256 is computed on the
 * way in and the file is renamed into blobs/ only when it matches) and when read (a blob
 * that no longer matches its name is reported as corrupt and never used). index.json is
 * replaced atomically. One process owns a store at a time (the daemon): `open` takes the
 * store's lock (lock.ts, a kernel flock held as long as this process or until `close`) before
 * it touches anything, and a second process gets E_IMAGE_STORE_LOCKED naming the holder.
 * Within the process, changes to the index are serialised.
 */
import { createReadStream, createWriteStream, statfsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough, Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import {
  BerthError,
  formatBytes,
  fsyncPath,
  isErrno,
  KeyedLock,
  readTextIfExists,
  removeStaleTempFiles,
  writeFileAtomic,
  writeNewFile,
} from '../core/index.js';
import { fileURLToPath } from 'node:url';
import { digestHex, HashingStream, sha256 } from './digest.js';
import { unpackLayer } from './layer.js';
import { lockStore, type StoreLock } from './lock.js';
import { formatReference, parseReference, tagOf } from './reference.js';
import {
  REF_NAME_ANNOTATION,
  imageConfigSchema,
  imageIndexSchema,
  isImageManifestType,
  layerCompression,
  manifestSchema,
  mediaTypes,
  parseDocument,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type Manifest,
} from './schemas.js';

/** What a blob is expected to be: its digest (always checked) and size (when known). */
export interface BlobExpectation {
  digest?: string;
  size?: number;
  /** Names the blob in errors: "layer 2 of busybox.tar". */
  what?: string;
  /** The blob joins this lease before it appears in blobs/, so GC cannot take it. */
  lease?: Lease;
}

/** What an operation in flight holds: GC keeps it. */
export interface Lease {
  add(digest: string): void;
  release(): void;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

/** An image in the store: its manifest and config, parsed and verified. */
export interface Image {
  /** The manifest's digest: the image's identity. */
  digest: string;
  manifest: Manifest;
  /** The manifest's media type (OCI or Docker schema 2). */
  mediaType: string;
  manifestSize: number;
  configDigest: string;
  config: ImageConfig;
  /** The tags (`name:tag`) pointing at it. */
  tags: string[];
}

export interface ImageSummary {
  tags: string[];
  digest: string;
  configDigest: string;
  created?: string;
  /** Sum of the layer blobs' sizes (as stored, compressed). */
  size: number;
  layers: number;
}

/** This checkout's berth-fsutil (built by `make -C native`). */
export const defaultFsutilBinary = fileURLToPath(new URL('../../native/build/berth-fsutil', import.meta.url));

export interface ImageStoreOptions {
  /** berth-fsutil, which makes device nodes and sets xattrs while unpacking. @defaultValue this checkout's native/build/berth-fsutil */
  fsutil?: string;
}

export interface GcResult {
  removedBlobs: string[];
  removedLayers: string[];
  freedBytes: number;
}

/** Where a write ran out of space: the store (its filesystem is named with what is free) and how much the write needed. */
export interface DiskContext {
  root?: string;
  needed?: number;
}

/** ENOSPC and EDQUOT become E_IMAGE_DISK_FULL (saying where, how much was needed and is free); other errors pass through. */
export function diskError(e: unknown, what: string, where: DiskContext = {}): unknown {
  if (!isErrno(e, 'ENOSPC', 'EDQUOT')) return e;
  const quota = isErrno(e, 'EDQUOT');
  let free: number | undefined;
  if (where.root !== undefined) {
    try {
      const fs = statfsSync(where.root);
      free = Number(fs.bavail) * Number(fs.bsize);
    } catch {
      free = undefined;
    }
  }
  const place = where.root === undefined ? '' : ` on the filesystem of ${where.root}`;
  const amounts = [
    where.needed === undefined ? undefined : `${formatBytes(where.needed)} needed`,
    free === undefined ? undefined : `${formatBytes(free)} free now`,
  ]
    .filter(Boolean)
    .join(', ');
  return new BerthError(
    'E_IMAGE_DISK_FULL',
    `no space left${quota ? ' (disk quota reached)' : ''}${place} while writing ${what}${amounts === '' ? '' : ` (${amounts})`}; what was half-written was removed`,
    {
      cause: e,
      hint: `Free space${where.root === undefined ? '' : ` on the filesystem of ${where.root}`} (\`berth image:prune\` removes unused images and layers) or move BERTH_HOME to a bigger disk, then try again.`,
      details: {
        ...(where.root === undefined ? {} : { root: where.root }),
        ...(where.needed === undefined ? {} : { needed: where.needed }),
        ...(free === undefined ? {} : { free }),
      },
    },
  );
}

/** Verifies a stream against a digest and size when it ends: emits an error instead of 'end' on mismatch. */
class VerifyingStream extends HashingStream {
  constructor(
    private readonly expected: string,
    private readonly size: number | undefined,
    private readonly onMismatch: (actual: string, bytes: number) => Error,
  ) {
    super();
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.digest();
    if (actual !== this.expected || (this.size !== undefined && this.bytes !== this.size)) {
      callback(this.onMismatch(actual, this.bytes));
      return;
    }
    callback();
  }
}

const SOURCES_FILE = 'blob-sources.json';
/** Repositories remembered per blob, most recent first. */
const MAX_SOURCES = 8;
const blobSourcesSchema = z.object({
  version: z.literal(1),
  blobs: z.record(z.string().regex(/^sha256:[0-9a-f]{64}$/), z.array(z.string().min(1)).max(MAX_SOURCES)),
});

export class ImageStore {
  readonly root: string;
  private index: ImageIndex = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] };
  /** Orders this process's changes to the index: one at a time, in the order asked. */
  private readonly changes = new KeyedLock();
  /** Digests an operation in flight depends on: GC keeps them (blobs and unpacked layers). */
  private readonly leases = new Map<string, number>();
  private readonly unpacking = new Map<string, Promise<string>>();

  private readonly fsutil: string;
  private lock: StoreLock | undefined;
  /** blob-sources.json, read when first needed: blob digest → `registry/repository`, most recent first. */
  private sources: Map<string, string[]> | undefined;

  private constructor(root: string, options: ImageStoreOptions) {
    this.root = root;
    this.fsutil = options.fsutil ?? defaultFsutilBinary;
  }

  /**
   * Open (creating when needed) the store at `root` for writing: takes its lock (another
   * process holding it is E_IMAGE_STORE_LOCKED, naming its pid), then discards the blobs and
   * layers a crash left half written. Opening it again in the same process shares the lock.
   */
  static async open(root: string, options: ImageStoreOptions = {}): Promise<ImageStore> {
    const store = new ImageStore(root, options);
    await mkdir(root, { recursive: true, mode: 0o700 });
    store.lock = await lockStore(root);
    try {
      await store.init();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /**
   * Let go of the store's lock (after every change in flight has finished); another process
   * may open it then. Writing through a closed store is E_IMAGE_STORE_LOCKED.
   */
  async close(): Promise<void> {
    const lock = this.lock;
    await this.serial(async () => undefined);
    await lock?.release();
  }

  /** Throws unless this process still holds the store's lock. */
  private writable(what: string): void {
    if (this.lock?.held() !== true) {
      throw new BerthError(
        'E_IMAGE_STORE_LOCKED',
        `cannot write ${what}: the image store ${this.root} is ${this.lock === undefined ? 'not open' : 'closed (or its lock was lost)'} in this process`,
        {
          hint: 'Open the store again with ImageStore.open before writing to it.',
        },
      );
    }
  }

  private async init(): Promise<void> {
    for (const d of [this.root, join(this.root, 'blobs', 'sha256'), join(this.root, 'layers', 'sha256')]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
    }
    // Half-written blobs and half-unpacked layers: never trusted, always discarded.
    await rm(join(this.root, 'ingest'), { recursive: true, force: true });
    await rm(join(this.root, 'layers', 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'ingest'), { mode: 0o700 });
    await mkdir(join(this.root, 'layers', 'tmp'), { mode: 0o700 });
    await removeStaleTempFiles(this.root);
    const layoutPath = join(this.root, 'oci-layout');
    try {
      await stat(layoutPath);
    } catch {
      await writeFileAtomic(layoutPath, '{"imageLayoutVersion":"1.0.0"}', { mode: 0o644 });
    }
    const indexPath = join(this.root, 'index.json');
    const text = await readTextIfExists(indexPath);
    if (text === undefined) await this.saveIndex();
    else this.index = parseDocument(imageIndexSchema, text, `${indexPath} (the store's index of tags)`);
  }

  /** Run `fn` after every earlier index change has finished (one writer at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.changes.run('index', fn);
  }

  private async saveIndex(): Promise<void> {
    this.writable('the image index');
    try {
      await writeFileAtomic(join(this.root, 'index.json'), `${JSON.stringify(this.index)}\n`, { mode: 0o644 });
    } catch (e) {
      const cause = e instanceof BerthError ? e.cause : e;
      if (isErrno(cause, 'ENOSPC', 'EDQUOT')) throw diskError(cause, 'the image index', { root: this.root });
      throw e;
    }
  }

  // ---- where blobs are known to be in registries (cross-repository mounts on push)

  private async loadSources(): Promise<Map<string, string[]>> {
    if (this.sources !== undefined) return this.sources;
    const path = join(this.root, SOURCES_FILE);
    const text = await readTextIfExists(path);
    const doc =
      text === undefined
        ? { version: 1 as const, blobs: {} }
        : parseDocument(blobSourcesSchema, text, `${path} (where blobs were pushed or pulled; delete it to forget)`);
    this.sources = new Map(Object.entries(doc.blobs));
    return this.sources;
  }

  /** The repositories (`registry/repository`) a blob was pulled from or pushed to, most recent first. */
  async blobSources(digest: string): Promise<string[]> {
    return [...((await this.loadSources()).get(digest) ?? [])];
  }

  /**
   * Remember that `digests` are in `repository` (`registry/name`), after a pull or a push, so
   * a later push to another repository of that registry can mount them instead of uploading.
   * blob-sources.json is replaced atomically.
   */
  async recordBlobSources(digests: Iterable<string>, repository: string): Promise<void> {
    this.writable(SOURCES_FILE);
    const list = [...new Set(digests)];
    await this.serial(async () => {
      const sources = await this.loadSources();
      for (const d of list) sources.set(d, [repository, ...(sources.get(d) ?? []).filter((r) => r !== repository)].slice(0, MAX_SOURCES));
      await this.saveSources();
    });
  }

  private async saveSources(): Promise<void> {
    const blobs = Object.fromEntries([...(this.sources ?? new Map<string, string[]>())].sort(([a], [b]) => a.localeCompare(b)));
    try {
      await writeFileAtomic(join(this.root, SOURCES_FILE), `${JSON.stringify({ version: 1, blobs })}\n`, { mode: 0o644 });
    } catch (e) {
      const cause = e instanceof BerthError ? e.cause : e;
      if (isErrno(cause, 'ENOSPC', 'EDQUOT')) throw diskError(cause, SOURCES_FILE, { root: this.root });
      throw e;
    }
  }

  // ---- leases: what GC must keep while an operation is in flight

  /**
   * Keep `digests` (blobs and diff ids), and whatever is added later, from GC until
   * `release()`. Imports hold one from their first blob until the image is tagged.
   */
  lease(digests: Iterable<string> = []): Lease {
    const held: string[] = [];
    let released = false;
    const add = (d: string): void => {
      if (released) return;
      held.push(d);
      this.leases.set(d, (this.leases.get(d) ?? 0) + 1);
    };
    for (const d of digests) add(d);
    return {
      add,
      release: () => {
        if (released) return;
        released = true;
        for (const d of held) {
          const n = (this.leases.get(d) ?? 1) - 1;
          if (n <= 0) this.leases.delete(d);
          else this.leases.set(d, n);
        }
      },
    };
  }

  // ---- blobs

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async hasBlob(digest: string): Promise<boolean> {
    try {
      return (await stat(this.blobPath(digest))).isFile();
    } catch {
      return false;
    }
  }

  /** A fresh path in ingest/ for something being written (a blob, a decompressed layer). */
  ingestPath(prefix = 'blob'): string {
    this.writable('to ingest/');
    return join(this.root, 'ingest', `${prefix}-${randomBytes(8).toString('hex')}`);
  }

  /**
   * Write a blob from bytes or a stream. Its sha256 and size are computed on the way in;
   * when `expect` names a digest or size that does not match, nothing is stored and
   * E_IMAGE_DIGEST_MISMATCH names both. A blob already present is not written again (the
   * stream is still read to the end and checked).
   */
  async writeBlob(source: Uint8Array | Readable | AsyncIterable<Uint8Array>, expect: BlobExpectation = {}): Promise<BlobInfo> {
    const what = expect.what ?? 'blob';
    this.writable(what);
    if (expect.digest !== undefined) digestHex(expect.digest);
    if (source instanceof Uint8Array) {
      const digest = sha256(source);
      this.checkExpectation(digest, source.length, expect, what);
      expect.lease?.add(digest);
      if (!(await this.hasBlob(digest))) await this.commitBytes(digest, source, what);
      return { digest, size: source.length };
    }
    const temp = this.ingestPath();
    const hash = new HashingStream();
    try {
      const input = source instanceof Readable ? source : Readable.from(source);
      await pipeline(input, hash, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
      const digest = hash.digest();
      this.checkExpectation(digest, hash.bytes, expect, what);
      expect.lease?.add(digest);
      await fsyncPath(temp);
      if (await this.hasBlob(digest)) await unlink(temp);
      else await rename(temp, this.blobPath(digest));
      return { digest, size: hash.bytes };
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw diskError(e, what, { root: this.root, ...(expect.size === undefined ? {} : { needed: expect.size }) });
    }
  }

  private checkExpectation(digest: string, size: number, expect: BlobExpectation, what: string): void {
    if (expect.digest !== undefined && digest !== expect.digest) {
      throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `${what} should have digest ${expect.digest} but its content hashes to ${digest}`, {
        details: { expected: expect.digest, actual: digest },
      });
    }
    if (expect.size !== undefined && size !== expect.size) {
      throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `${what} (${expect.digest ?? digest}) should be ${expect.size} bytes but is ${size}`, {
        details: { expected: expect.size, actual: size },
      });
    }
  }

  private async commitBytes(digest: string, bytes: Uint8Array, what: string): Promise<void> {
    const temp = this.ingestPath();
    try {
      await writeNewFile(temp, bytes, 0o644);
      await rename(temp, this.blobPath(digest));
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw diskError(e, what, { root: this.root, needed: bytes.length });
    }
  }

  private corrupt(digest: string, actual: string, bytes: number, what?: string): BerthError {
    return new BerthError(
      'E_IMAGE_BLOB_CORRUPT',
      `${what === undefined ? 'blob' : what} ${digest} in the image store is corrupt: its ${bytes} bytes hash to ${actual}`,
      { details: { digest, actual, path: this.blobPath(digest) } },
    );
  }

  private missing(digest: string, what?: string): BerthError {
    return new BerthError('E_IMAGE_NOT_FOUND', `${what === undefined ? 'blob' : what} ${digest} is not in the image store`, {
      hint: 'Import or pull the image again.',
      details: { digest },
    });
  }

  /** A blob's bytes, verified against its digest. */
  async readBlob(digest: string, what?: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw this.missing(digest, what);
      throw e;
    }
    const actual = sha256(bytes);
    if (actual !== digest) throw this.corrupt(digest, actual, bytes.length, what);
    return bytes;
  }

  /**
   * A blob as a stream, verified as it is read: a corrupt blob makes the stream fail with
   * E_IMAGE_BLOB_CORRUPT at its end, so consumers must treat what they read as provisional
   * until the stream ends cleanly (unpacking does: it renames the layer into place only then).
   */
  async openBlob(digest: string, what?: string): Promise<Readable> {
    const path = this.blobPath(digest);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw this.missing(digest, what);
      throw e;
    }
    const verify = new VerifyingStream(digest, undefined, (actual) => this.corrupt(digest, actual, size, what));
    const file = createReadStream(path);
    file.on('error', (e) => verify.destroy(e));
    const out = new PassThrough();
    file.pipe(verify).pipe(out);
    verify.on('error', (e) => out.destroy(e));
    return out;
  }

  async blobSize(digest: string): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw this.missing(digest);
      throw e;
    }
  }

  // ---- images and tags

  /**
   * Add an image whose config and layer blobs are already stored: the manifest bytes are
   * checked (schema, every referenced blob present with its size), stored, and `tags`
   * point at them. Returns the image.
   */
  async addImage(manifestBytes: Uint8Array, tags: readonly string[] = []): Promise<Image> {
    const lease = this.lease([sha256(manifestBytes)]);
    try {
      return await this.addImageLeased(manifestBytes, tags);
    } finally {
      lease.release();
    }
  }

  private async addImageLeased(manifestBytes: Uint8Array, tags: readonly string[]): Promise<Image> {
    const manifestDigest = sha256(manifestBytes);
    const manifest = parseDocument(manifestSchema, manifestBytes, `manifest ${manifestDigest}`);
    const mediaType = manifest.mediaType ?? mediaTypes.ociManifest;
    if (!isImageManifestType(mediaType)) {
      throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `manifest ${manifestDigest} has media type ${mediaType}, not an image manifest`);
    }
    for (const d of [manifest.config, ...manifest.layers]) {
      let size: number;
      try {
        size = await this.blobSize(d.digest);
      } catch (e) {
        throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `manifest ${manifestDigest} refers to ${d.digest}, which was not stored`, { cause: e });
      }
      if (size !== d.size) {
        throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `manifest ${manifestDigest} says ${d.digest} is ${d.size} bytes, but it is ${size}`);
      }
    }
    const config = parseDocument(imageConfigSchema, await this.readBlob(manifest.config.digest, 'image config'), `image config ${manifest.config.digest}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new BerthError(
        'E_IMAGE_ARCHIVE_INVALID',
        `image ${manifestDigest} has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`,
      );
    }
    await this.writeBlob(manifestBytes, { what: 'manifest' });
    const canonical = tags.map((t) => this.canonicalTag(t));
    // The renames into blobs/ reach the disk before a tag can name them.
    if (canonical.length > 0) await fsyncPath(join(this.root, 'blobs', 'sha256'));
    await this.serial(async () => {
      for (const tag of canonical) this.setTag(tag, { mediaType, digest: manifestDigest, size: manifestBytes.length });
      if (canonical.length > 0) await this.saveIndex();
    });
    return this.image(manifestDigest);
  }

  private canonicalTag(tag: string): string {
    const ref = parseReference(tag);
    const t = tagOf(ref);
    if (t === undefined || ref.digest !== undefined) {
      throw new BerthError('E_IMAGE_REFERENCE_INVALID', `${JSON.stringify(tag)} is not a tag: give name[:tag] without a digest`);
    }
    return t;
  }

  private setTag(tag: string, descriptor: { mediaType: string; digest: string; size: number }): void {
    this.index.manifests = this.index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag);
    this.index.manifests.push({ ...descriptor, annotations: { [REF_NAME_ANNOTATION]: tag } });
  }

  /** Point `tag` at the image `source` names (a tag or a digest). */
  async tag(source: string, tag: string): Promise<Image> {
    const image = await this.resolve(source);
    const canonical = this.canonicalTag(tag);
    await this.serial(async () => {
      this.setTag(canonical, { mediaType: image.mediaType, digest: image.digest, size: image.manifestSize });
      await this.saveIndex();
    });
    return this.image(image.digest);
  }

  /** Remove a tag. The image's blobs stay until garbage collection. Returns the image it named. */
  async untag(tag: string): Promise<string> {
    const canonical = this.canonicalTag(tag);
    return this.serial(async () => {
      const entry = this.index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === canonical);
      if (entry === undefined) throw this.noSuchImage(canonical);
      this.index.manifests = this.index.manifests.filter((m) => m !== entry);
      await this.saveIndex();
      return entry.digest;
    });
  }

  /** The tags in the index (name:tag → manifest digest). */
  tags(): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of this.index.manifests) {
      const tag = m.annotations?.[REF_NAME_ANNOTATION];
      if (tag !== undefined) out.set(tag, m.digest);
    }
    return out;
  }

  private noSuchImage(wanted: string): BerthError {
    const all = [...this.tags().keys()].sort();
    const name = wanted.replace(/(@.*|:[^:/]*)$/, '');
    const sameName = all.filter((t) => t.startsWith(`${name}:`));
    const listed = sameName.length > 0 ? sameName : all;
    const list =
      listed.length === 0
        ? 'the store has no images'
        : `${sameName.length > 0 ? `tags of ${name}` : 'images in the store'}: ${listed.slice(0, 20).join(', ')}${listed.length > 20 ? ` and ${listed.length - 20} more` : ''}`;
    return new BerthError('E_IMAGE_NOT_FOUND', `no image ${wanted} in the store (${list})`, { details: { reference: wanted, available: listed } });
  }

  /** The image a reference names: `name[:tag]`, `name@sha256:…`, or a bare manifest digest `sha256:…`. */
  async resolve(reference: string): Promise<Image> {
    if (/^sha256:[0-9a-f]{64}$/.test(reference)) {
      if (!(await this.hasBlob(reference))) throw this.noSuchImage(reference);
      return this.image(reference);
    }
    const ref = parseReference(reference);
    if (ref.digest !== undefined) {
      if (!(await this.hasBlob(ref.digest))) throw this.noSuchImage(formatReference(ref));
      return this.image(ref.digest);
    }
    const tag = tagOf(ref) as string;
    const digest = this.tags().get(tag);
    if (digest === undefined) throw this.noSuchImage(tag);
    return this.image(digest);
  }

  /** The image whose manifest has `digest`, read and verified from the store. */
  async image(digest: string): Promise<Image> {
    const bytes = await this.readBlob(digest, 'manifest');
    const manifest = parseDocument(manifestSchema, bytes, `manifest ${digest}`);
    const config = parseDocument(imageConfigSchema, await this.readBlob(manifest.config.digest, 'image config'), `image config ${manifest.config.digest}`);
    const tags = [...this.tags()]
      .filter(([, d]) => d === digest)
      .map(([t]) => t)
      .sort();
    return {
      digest,
      manifest,
      mediaType: manifest.mediaType ?? mediaTypes.ociManifest,
      manifestSize: bytes.length,
      configDigest: manifest.config.digest,
      config,
      tags,
    };
  }

  /** Every tagged image, one entry per manifest. */
  async list(): Promise<ImageSummary[]> {
    const byDigest = new Map<string, string[]>();
    for (const [tag, digest] of this.tags()) byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
    const out: ImageSummary[] = [];
    for (const [digest, tags] of byDigest) {
      const image = await this.image(digest);
      out.push({
        tags: tags.sort(),
        digest,
        configDigest: image.configDigest,
        ...(image.config.created === undefined ? {} : { created: image.config.created }),
        size: image.manifest.layers.reduce((n, l) => n + l.size, 0),
        layers: image.manifest.layers.length,
      });
    }
    return out.sort((a, b) => (a.tags[0] ?? '').localeCompare(b.tags[0] ?? ''));
  }

  // ---- unpacked layers

  /** Where the layer with uncompressed digest `diffId` is (or will be) unpacked. */
  layerDir(diffId: string): string {
    return join(this.root, 'layers', 'sha256', digestHex(diffId));
  }

  /** A fresh directory under layers/tmp/ to unpack into (same filesystem: renamed into place when done). */
  async layerTempDir(): Promise<string> {
    this.writable('an unpacked layer');
    const dir = join(this.root, 'layers', 'tmp', randomBytes(8).toString('hex'));
    await mkdir(dir, { mode: 0o755 });
    return dir;
  }

  async hasLayer(diffId: string): Promise<boolean> {
    try {
      return (await stat(this.layerDir(diffId))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Run `unpack` once per diff id at a time in this process: concurrent callers for the
   * same layer share one unpacking.
   */
  onceForLayer(diffId: string, unpack: () => Promise<string>): Promise<string> {
    const running = this.unpacking.get(diffId);
    if (running) return running;
    const p = unpack().finally(() => this.unpacking.delete(diffId));
    this.unpacking.set(diffId, p);
    return p;
  }

  /**
   * The image's layers unpacked (each once, shared by every image that has it), as overlay
   * lower directories, top layer first (the order of the `berth.rootfs.lower` annotation).
   * A layer's compressed digest and its diff_id are both verified while it unpacks; it is
   * renamed into layers/ only when both match.
   */
  async unpackImage(image: Image): Promise<string[]> {
    const lease = this.lease([image.digest, image.configDigest, ...image.config.rootfs.diff_ids, ...image.manifest.layers.map((l) => l.digest)]);
    try {
      const dirs: string[] = [];
      for (const [i, layer] of image.manifest.layers.entries()) {
        const diffId = image.config.rootfs.diff_ids[i] as string;
        const what = `layer ${i + 1}/${image.manifest.layers.length} of ${image.tags[0] ?? image.digest}`;
        dirs.push(await this.unpackLayerBlob(layer, diffId, what));
      }
      // A layer an image has twice (two build steps with byte-identical diffs) is one lower
      // directory: overlayfs refuses a repeated lower (ELOOP), and the topmost copy shadows the other.
      return [...new Set(dirs.reverse())];
    } finally {
      lease.release();
    }
  }

  /** Unpack one layer blob into layers/sha256/<diffId hex>, unless it already is there. */
  async unpackLayerBlob(layer: Descriptor, diffId: string, what: string): Promise<string> {
    const dir = this.layerDir(diffId);
    if (await this.hasLayer(diffId)) return dir;
    return this.onceForLayer(diffId, async () => {
      if (await this.hasLayer(diffId)) return dir;
      const compression = layerCompression(layer.mediaType);
      if (compression === undefined) {
        throw new BerthError(
          'E_IMAGE_LAYER_INVALID',
          `${what} has media type ${layer.mediaType}, which Berth cannot unpack (OCI or Docker tar, tar+gzip, tar+zstd)`,
        );
      }
      const temp = await this.layerTempDir();
      try {
        const result = await unpackLayer(await this.openBlob(layer.digest, what), compression, temp, { what, fsutil: this.fsutil });
        if (result.diffId !== diffId) {
          throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `${what} unpacks to ${result.diffId}, but the image config says its diff_id is ${diffId}`, {
            details: { expected: diffId, actual: result.diffId },
          });
        }
        await rename(temp, dir);
        return dir;
      } catch (e) {
        await rm(temp, { recursive: true, force: true });
        throw e;
      }
    });
  }

  // ---- garbage collection

  /**
   * Remove every blob and unpacked layer not reachable from a tag, from `roots` (image
   * references or manifest digests that callers hold: containers, releases kept for
   * rollback), or from a lease of an operation in flight. A root that names no image is an
   * error (a caller's reference must never silently stop protecting anything).
   */
  async gc(roots: Iterable<string> = []): Promise<GcResult> {
    this.writable('(collecting garbage)');
    return this.serial(async () => {
      const keepBlobs = new Set<string>();
      const keepLayers = new Set<string>();
      const manifests = new Set<string>(this.tags().values());
      for (const root of roots) manifests.add((await this.resolve(root)).digest);
      for (const digest of manifests) {
        keepBlobs.add(digest);
        const image = await this.image(digest);
        keepBlobs.add(image.configDigest);
        for (const l of image.manifest.layers) keepBlobs.add(l.digest);
        for (const d of image.config.rootfs.diff_ids) keepLayers.add(d);
      }
      const result: GcResult = { removedBlobs: [], removedLayers: [], freedBytes: 0 };
      const blobDir = join(this.root, 'blobs', 'sha256');
      for (const hex of await readdir(blobDir)) {
        const digest = `sha256:${hex}`;
        if (keepBlobs.has(digest) || this.leases.has(digest)) continue;
        const path = join(blobDir, hex);
        result.freedBytes += (await stat(path)).size;
        await rm(path, { force: true });
        result.removedBlobs.push(digest);
      }
      const layerDir = join(this.root, 'layers', 'sha256');
      for (const hex of await readdir(layerDir)) {
        const digest = `sha256:${hex}`;
        if (keepLayers.has(digest) || this.leases.has(digest) || this.unpacking.has(digest)) continue;
        await rm(join(layerDir, hex), { recursive: true, force: true });
        result.removedLayers.push(digest);
      }
      const sources = await this.loadSources();
      const forgotten = result.removedBlobs.filter((d) => sources.delete(d));
      if (forgotten.length > 0) await this.saveSources();
      return result;
    });
  }

  /** The descriptors of the image's blobs (config first, then layers). */
  static blobsOf(image: Image): Descriptor[] {
    return [image.manifest.config, ...image.manifest.layers];
  }
}
