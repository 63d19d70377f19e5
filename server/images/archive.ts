/**
 * Import and export of image archives, both ways:
 *
 * - OCI archives (a tar of an OCI image layout: oci-layout, index.json, blobs/sha256/…),
 *   as `skopeo copy … oci-archive:` writes them. Blobs keep their bytes, so manifests,
 *   configs and layers keep their digests in both directions.
 * - `docker save` tarballs (manifest.json with Config, RepoTags and Layers; layers as
 *   uncompressed tars), as `docker save` and `skopeo copy … docker-archive:` write them.
 *   Configs keep their bytes and digests; layers keep their diff_ids (a docker archive has
 *   no manifest, so the manifest Berth writes on import is its own).
 * - An OCI image layout directory (what `skopeo copy … oci:DIR` writes).
 *
 * Import streams the archive once: every member is written to the store's ingest/ while
 * being hashed; then the documents are checked, every blob is verified against the digest
 * it claims (its name for OCI, the config's diff_ids for docker layers), and only then are
 * blobs moved into the store and tags set. A member that fails a check stores nothing; what
 * was staged is removed whatever happens.
 */
import { packEntry } from './tar-compat.js';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { pack, type Pack } from 'tar-stream';
import { BerthError, fsyncPath } from '../core/index.js';
import { digestHex, HashingStream, sha256 } from './digest.js';
import { readTarEntries, sniffCompression } from './layer.js';
import { parseReference, tagOf } from './reference.js';
import {
  REF_NAME_ANNOTATION,
  dockerSaveManifestSchema,
  imageConfigSchema,
  imageIndexSchema,
  isImageManifestType,
  isIndexType,
  layerCompression,
  layerMediaType,
  manifestSchema,
  mediaTypes,
  ociLayoutSchema,
  parseDocument,
  type Compression,
  type Descriptor,
} from './schemas.js';
import { diskError, type Image, type ImageStore, type Lease } from './store.js';

export type ArchiveFormat = 'oci-archive' | 'docker-archive';

export interface ImportOptions {
  /** Names the source in errors ("busybox.tar"). */
  what: string;
  /** Tag the imported image with this (only when the archive holds exactly one image). */
  tag?: string;
}

/** JSON documents read from archives are bounded; blobs are not. */
const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

interface StagedFile {
  path: string;
  /** Moved into blobs/: no longer the staging's to remove. */
  committed?: boolean;
  digest: string;
  size: number;
}

/** An archive's members as staged in ingest/: regular files by path, symlinks resolved. */
class Staging {
  readonly files = new Map<string, StagedFile>();
  readonly links = new Map<string, string>();

  constructor(
    readonly store: ImageStore,
    readonly what: string,
  ) {}

  resolve(name: string): StagedFile | undefined {
    let path = posix.normalize(name).replace(/^\.\//, '');
    for (let hops = 0; hops < 16; hops++) {
      const file = this.files.get(path);
      if (file) return file;
      const target = this.links.get(path);
      if (target === undefined) return undefined;
      path = posix.normalize(target.startsWith('/') ? target.slice(1) : posix.join(posix.dirname(path), target));
    }
    return undefined;
  }

  require(name: string, role: string): StagedFile {
    const file = this.resolve(name);
    if (!file) throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${this.what} has no member ${JSON.stringify(name)} (${role})`);
    return file;
  }

  async document(name: string, role: string): Promise<Buffer> {
    const file = this.require(name, role);
    if (file.size > MAX_DOCUMENT_BYTES)
      throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${this.what}: ${name} (${role}) is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    return readFile(file.path);
  }

  async add(name: string, body: AsyncIterable<unknown>): Promise<void> {
    const temp = this.store.ingestPath('import');
    const hash = new HashingStream();
    try {
      await pipeline(Readable.from(body as AsyncIterable<Buffer>), hash, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw diskError(e, `${name} of ${this.what}`);
    }
    const key = posix.normalize(name).replace(/^\.\//, '');
    const old = this.files.get(key);
    if (old) await unlink(old.path).catch(() => undefined);
    this.files.set(key, { path: temp, digest: hash.digest(), size: hash.bytes });
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.files.values()].filter((f) => !f.committed).map((f) => unlink(f.path).catch(() => undefined)));
  }

  /** Move a staged member into blobs/ after checking it is what `expected` says. */
  async commit(file: StagedFile, expected: { digest: string; size?: number }, role: string, lease: Lease): Promise<void> {
    if (file.digest !== expected.digest) {
      throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `${this.what}: ${role} should have digest ${expected.digest} but its content hashes to ${file.digest}`, {
        details: { expected: expected.digest, actual: file.digest },
      });
    }
    if (expected.size !== undefined && file.size !== expected.size) {
      throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `${this.what}: ${role} (${expected.digest}) should be ${expected.size} bytes but is ${file.size}`);
    }
    lease.add(file.digest);
    if (file.committed || (await this.store.hasBlob(file.digest))) return;
    await fsyncPath(file.path);
    // Several members may be the same blob (docker archives link duplicate layers): copy when already moved.
    try {
      await rename(file.path, this.store.blobPath(file.digest));
      file.path = this.store.blobPath(file.digest);
      file.committed = true;
    } catch (e) {
      throw diskError(e, `${role} of ${this.what}`);
    }
  }
}

async function stageTar(staging: Staging, source: Readable): Promise<void> {
  try {
    await readTarEntries([source], async ({ name, type, linkname }, body) => {
      if (type === 'file' || type === 'contiguous-file') return staging.add(name, body);
      for await (const _ of body) void _;
      if (type === 'symlink' && linkname) staging.links.set(posix.normalize(name).replace(/^\.\//, ''), linkname);
      else if (type === 'link' && linkname) staging.links.set(posix.normalize(name).replace(/^\.\//, ''), `/${linkname}`);
    });
  } catch (e) {
    if (e instanceof BerthError) throw e;
    throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${staging.what} is not a readable tar archive: ${(e as Error).message}`, { cause: e });
  }
}

async function stageDirectory(staging: Staging, dir: string): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) await staging.add(path, createReadStream(join(dir, path)));
    }
  };
  await walk('');
}

/** Docker Hub's familiar names: docker.io/library/busybox → busybox, docker.io/u/app → u/app. */
export function familiarTag(tag: string): string {
  let t = tag;
  if (t.startsWith('docker.io/')) t = t.slice('docker.io/'.length);
  if (t.startsWith('library/') && !t.slice('library/'.length).includes('/')) t = t.slice('library/'.length);
  return t;
}

function canonicalTag(tag: string, what: string): string {
  try {
    const t = tagOf(parseReference(familiarTag(tag)));
    if (t === undefined) throw new Error('no tag');
    return t;
  } catch (cause) {
    throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what} names its image ${JSON.stringify(tag)}, which is not a valid image reference`, { cause });
  }
}

interface Found {
  manifest: Descriptor;
  tags: string[];
}

async function importOci(staging: Staging, lease: Lease): Promise<Image[]> {
  const what = staging.what;
  parseDocument(ociLayoutSchema, await staging.document('oci-layout', 'the OCI layout marker'), `oci-layout in ${what}`);
  const index = parseDocument(imageIndexSchema, await staging.document('index.json', 'the image index'), `index.json in ${what}`);
  const blob = (d: Descriptor) => staging.require(`blobs/sha256/${digestHex(d.digest)}`, `blob ${d.digest}`);
  const images: Found[] = [];
  const visit = async (list: Descriptor[], tags: (d: Descriptor) => string[], depth: number): Promise<void> => {
    for (const d of list) {
      if (isIndexType(d.mediaType)) {
        if (depth > 4) throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what}: image indexes nest deeper than 4`);
        const bytes = await readBounded(blob(d), d, what);
        const nested = parseDocument(imageIndexSchema, bytes, `index ${d.digest} in ${what}`);
        await staging.commit(blob(d), d, `index ${d.digest}`, lease);
        // A multi-platform index: the linux/amd64 image (or the only one) gets the tags.
        const runnable = nested.manifests.filter((m) => isImageManifestType(m.mediaType));
        const chosen =
          runnable.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? (runnable.length === 1 ? runnable[0] : undefined);
        await visit(chosen ? [chosen] : [], () => tags(d), depth + 1);
      } else if (isImageManifestType(d.mediaType)) {
        images.push({ manifest: d, tags: tags(d) });
      }
      // other artifacts (signatures, attestations) are not images: left out
    }
  };
  const dockerTags = await dockerRepoTags(staging);
  await visit(
    index.manifests,
    (d) => {
      const name = d.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? d.annotations?.[REF_NAME_ANNOTATION];
      if (name !== undefined && /[:/]/.test(name) === false) return dockerTags(d); // a bare tag ("latest"): no name to go with it
      return name === undefined ? dockerTags(d) : [canonicalTag(name, `index.json in ${what}`)];
    },
    0,
  );
  if (images.length === 0)
    throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what} holds no image manifest (index.json lists ${index.manifests.length} entries)`);
  const out: Image[] = [];
  for (const found of images) {
    const d = found.manifest;
    const bytes = await readBounded(blob(d), d, what);
    const manifest = parseDocument(manifestSchema, bytes, `manifest ${d.digest} in ${what}`);
    for (const [i, layer] of manifest.layers.entries()) {
      if (layerCompression(layer.mediaType) === undefined) {
        throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what}: layer ${i + 1} of ${d.digest} has media type ${layer.mediaType}, which Berth cannot unpack`);
      }
      await staging.commit(blob(layer), layer, `layer ${i + 1} of ${d.digest}`, lease);
    }
    await staging.commit(blob(manifest.config), manifest.config, `config of ${d.digest}`, lease);
    await staging.commit(blob(d), d, `manifest ${d.digest}`, lease);
    out.push(await staging.store.addImage(bytes, found.tags));
  }
  return out;
}

async function readBounded(file: StagedFile, d: Descriptor, what: string): Promise<Buffer> {
  if (file.size > MAX_DOCUMENT_BYTES) throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what}: ${d.digest} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  const bytes = await readFile(file.path);
  if (sha256(bytes) !== d.digest) {
    throw new BerthError('E_IMAGE_DIGEST_MISMATCH', `${what}: ${d.mediaType} should have digest ${d.digest} but its content hashes to ${sha256(bytes)}`);
  }
  return bytes;
}

/** RepoTags of a manifest.json next to an OCI layout (docker save since Docker 25), by config digest. */
async function dockerRepoTags(staging: Staging): Promise<(d: Descriptor) => string[]> {
  if (!staging.resolve('manifest.json')) return () => [];
  const entries = parseDocument(dockerSaveManifestSchema, await staging.document('manifest.json', 'the docker manifest'), `manifest.json in ${staging.what}`);
  return (d) => {
    const file = staging.resolve(`blobs/sha256/${digestHex(d.digest)}`);
    if (!file) return [];
    let configDigest: string | undefined;
    try {
      configDigest = (JSON.parse(readFileSync(file.path, 'utf8')) as { config?: { digest?: string } }).config?.digest;
    } catch {
      return [];
    }
    const entry = entries.find((e) => staging.resolve(e.Config)?.digest === configDigest);
    return (entry?.RepoTags ?? []).map((t) => canonicalTag(t, `manifest.json in ${staging.what}`));
  };
}

async function layerCompressionOf(file: StagedFile): Promise<Compression> {
  const handle = await open(file.path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return sniffCompression(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

async function importDocker(staging: Staging, lease: Lease): Promise<Image[]> {
  const what = staging.what;
  const entries = parseDocument(dockerSaveManifestSchema, await staging.document('manifest.json', 'the docker manifest'), `manifest.json in ${what}`);
  if (entries.length === 0) throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `manifest.json in ${what} lists no image`);
  const out: Image[] = [];
  for (const [n, entry] of entries.entries()) {
    const configFile = staging.require(entry.Config, `the config of image ${n + 1}`);
    const configBytes = await staging.document(entry.Config, `the config of image ${n + 1}`);
    const config = parseDocument(imageConfigSchema, configBytes, `${entry.Config} in ${what}`);
    if (config.rootfs.diff_ids.length !== entry.Layers.length) {
      throw new BerthError(
        'E_IMAGE_ARCHIVE_INVALID',
        `${what}: image ${n + 1} lists ${entry.Layers.length} layers but its config has ${config.rootfs.diff_ids.length} diff_ids`,
      );
    }
    const layers: Descriptor[] = [];
    for (const [i, name] of entry.Layers.entries()) {
      const file = staging.require(name, `layer ${i + 1} of image ${n + 1}`);
      const compression = await layerCompressionOf(file);
      const diffId = config.rootfs.diff_ids[i] as string;
      // An uncompressed layer's digest is its diff_id: checked now. A compressed one is checked when unpacked.
      if (compression === 'none' && file.digest !== diffId) {
        throw new BerthError(
          'E_IMAGE_DIGEST_MISMATCH',
          `${what}: layer ${i + 1} of image ${n + 1} (${name}) hashes to ${file.digest}, but the config says its diff_id is ${diffId}`,
        );
      }
      await staging.commit(file, { digest: file.digest }, `layer ${name}`, lease);
      layers.push({ mediaType: layerMediaType[compression], digest: file.digest, size: file.size });
    }
    await staging.commit(configFile, { digest: sha256(configBytes) }, `config ${entry.Config}`, lease);
    const manifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest: sha256(configBytes), size: configBytes.length },
      layers,
    };
    const tags = (entry.RepoTags ?? []).map((t) => canonicalTag(t, `manifest.json in ${what}`));
    out.push(await staging.store.addImage(Buffer.from(JSON.stringify(manifest)), tags));
  }
  return out;
}

async function finishImport(staging: Staging, options: ImportOptions, run: (lease: Lease) => Promise<Image[]>): Promise<Image[]> {
  const lease = staging.store.lease();
  try {
    let images = await run(lease);
    if (options.tag !== undefined) {
      if (images.length !== 1) throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${options.what} holds ${images.length} images: a tag can name only one`);
      images = [await staging.store.tag((images[0] as Image).digest, options.tag)];
    }
    return images;
  } finally {
    lease.release();
    await staging.cleanup();
  }
}

function formatOf(staging: Staging): ArchiveFormat {
  if (staging.resolve('oci-layout') && staging.resolve('index.json')) return 'oci-archive';
  if (staging.resolve('manifest.json')) return 'docker-archive';
  throw new BerthError(
    'E_IMAGE_ARCHIVE_INVALID',
    `${staging.what} is neither an OCI archive (no oci-layout and index.json) nor a docker save tarball (no manifest.json)`,
  );
}

/**
 * Import every image of an OCI archive or a `docker save` tarball (told apart by their
 * members) read from `source`. Returns the images, tagged as the archive names them.
 */
export function importArchive(store: ImageStore, source: Readable, options: ImportOptions): Promise<Image[]> {
  return importStaged(store, options, async (staging, lease) => {
    await stageTar(staging, source);
    return formatOf(staging) === 'oci-archive' ? importOci(staging, lease) : importDocker(staging, lease);
  });
}

/** Import from an OCI image layout directory (`skopeo copy … oci:DIR`). */
export function importLayoutDirectory(store: ImageStore, dir: string, options: ImportOptions): Promise<Image[]> {
  return importStaged(store, options, async (staging, lease) => {
    await stageDirectory(staging, dir);
    return importOci(staging, lease);
  });
}

/** Check the tag first (nothing is staged for a bad one), then stage and import with `load`. */
async function importStaged(store: ImageStore, options: ImportOptions, load: (staging: Staging, lease: Lease) => Promise<Image[]>): Promise<Image[]> {
  if (options.tag !== undefined) parseReference(options.tag);
  const staging = new Staging(store, options.what);
  return finishImport(staging, options, (lease) => load(staging, lease));
}

// ---- export

async function addEntry(p: Pack, name: string, size: number, body: Readable | Buffer | undefined, type: 'file' | 'directory' = 'file'): Promise<void> {
  const header = {
    name,
    size: type === 'file' ? (Buffer.isBuffer(body) ? body.length : size) : 0,
    type,
    mode: type === 'file' ? 0o644 : 0o755,
    mtime: new Date(0),
    uid: 0,
    gid: 0,
  };
  await packEntry(p, header, body);
}

async function runPack(out: Writable, fill: (p: Pack) => Promise<void>): Promise<void> {
  const p = pack();
  const flowing = pipeline(p as unknown as Readable, out);
  try {
    await fill(p);
    p.finalize();
  } catch (e) {
    p.destroy(e as Error);
    await flowing.catch(() => undefined);
    throw e;
  }
  await flowing;
}

/** The images `references` name, each with the tag it was asked by (when it was a tag). */
async function resolveAll(store: ImageStore, references: readonly string[]): Promise<{ image: Image; tag?: string }[]> {
  if (references.length === 0) throw new BerthError('E_IMAGE_REFERENCE_INVALID', 'name at least one image to export');
  const out: { image: Image; tag?: string }[] = [];
  for (const r of references) {
    const image = await store.resolve(r);
    const tag = /^sha256:/.test(r) ? undefined : tagOf(parseReference(r));
    out.push(tag === undefined ? { image } : { image, tag });
  }
  return out;
}

/**
 * Write the images as an OCI archive to `out`: every blob byte for byte (verified as it is
 * read), index.json naming each by its tag. skopeo reads it with the same digests.
 */
export async function exportOciArchive(store: ImageStore, references: readonly string[], out: Writable): Promise<void> {
  const images = await resolveAll(store, references);
  await runPack(out, async (p) => {
    await addEntry(p, 'oci-layout', 0, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    const index = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: images.map(({ image, tag }) => ({
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.manifestSize,
        ...(tag === undefined ? {} : { annotations: { [REF_NAME_ANNOTATION]: tag } }),
      })),
    };
    await addEntry(p, 'index.json', 0, Buffer.from(JSON.stringify(index)));
    await addEntry(p, 'blobs/', 0, undefined, 'directory');
    await addEntry(p, 'blobs/sha256/', 0, undefined, 'directory');
    const done = new Set<string>();
    for (const { image } of images) {
      for (const d of [{ digest: image.digest, size: image.manifestSize }, image.manifest.config, ...image.manifest.layers]) {
        if (done.has(d.digest)) continue;
        done.add(d.digest);
        await addEntry(p, `blobs/sha256/${digestHex(d.digest)}`, d.size, await store.openBlob(d.digest));
      }
    }
  });
}

/**
 * Write the images as a `docker save` tarball to `out`: `<config hex>.json`, each layer as
 * an uncompressed `<diff_id hex>.tar` (compressed layers are decompressed through ingest/
 * and checked against their diff_id), and manifest.json with RepoTags. The config keeps its
 * digest and the layers their diff_ids.
 */
export async function exportDockerArchive(store: ImageStore, references: readonly string[], out: Writable): Promise<void> {
  const images = await resolveAll(store, references);
  const temps: string[] = [];
  try {
    await runPack(out, async (p) => {
      const done = new Set<string>();
      const entries: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
      for (const { image, tag } of images) {
        const configName = `${digestHex(image.configDigest)}.json`;
        if (!done.has(configName)) {
          done.add(configName);
          await addEntry(p, configName, 0, await store.readBlob(image.configDigest, 'image config'));
        }
        const layerNames: string[] = [];
        for (const [i, layer] of image.manifest.layers.entries()) {
          const diffId = image.config.rootfs.diff_ids[i] as string;
          const name = `${digestHex(diffId)}.tar`;
          layerNames.push(name);
          if (done.has(name)) continue;
          done.add(name);
          const compression = layerCompression(layer.mediaType) ?? 'none';
          if (compression === 'none') {
            await addEntry(p, name, layer.size, await store.openBlob(layer.digest));
            continue;
          }
          const temp = store.ingestPath('export');
          temps.push(temp);
          const hash = new HashingStream();
          try {
            await pipeline(
              await store.openBlob(layer.digest),
              compression === 'gzip' ? createGunzip() : createZstdDecompress(),
              hash,
              createWriteStream(temp, { flags: 'wx' }),
            );
          } catch (e) {
            throw diskError(e, `layer ${i + 1} of ${tag ?? image.digest}`);
          }
          if (hash.digest() !== diffId) {
            throw new BerthError(
              'E_IMAGE_BLOB_CORRUPT',
              `layer ${i + 1} of ${tag ?? image.digest} decompresses to ${hash.digest()}, not its diff_id ${diffId}`,
            );
          }
          await addEntry(p, name, hash.bytes, createReadStream(temp));
        }
        entries.push({ Config: configName, RepoTags: tag === undefined ? [] : [tag], Layers: layerNames });
      }
      await addEntry(p, 'manifest.json', 0, Buffer.from(JSON.stringify(entries)));
    });
  } finally {
    await Promise.all(temps.map((f) => rm(f, { force: true })));
  }
}

export async function exportArchive(store: ImageStore, format: ArchiveFormat, references: readonly string[], out: Writable): Promise<void> {
  return format === 'oci-archive' ? exportOciArchive(store, references, out) : exportDockerArchive(store, references, out);
}
