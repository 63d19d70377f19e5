/**
 * Making an image from layer tarballs that Berth produced itself (base images, commits):
 * each layer is compressed as asked, stored as a blob, and described in a fresh OCI config
 * and manifest. The documents are serialised once, here; their bytes are what gets stored.
 */
import type { Readable } from 'node:stream';
import { createGzip, createZstdCompress, gzipSync, zstdCompressSync, constants as zlib } from 'node:zlib';
import { HashingStream } from './digest.js';
import { sha256 } from './digest.js';
import { layerMediaType, mediaTypes, type Compression, type ContainerConfig, type Descriptor, type History, type ImageConfig } from './schemas.js';
import type { Image, ImageStore, Lease } from './store.js';

export interface NewImage {
  /** Uncompressed layer tarballs, bottom first. */
  layers: Uint8Array[];
  /** @defaultValue 'gzip' */
  compression?: Compression;
  config?: ContainerConfig;
  /** RFC 3339; fixed values make the image reproducible. @defaultValue now */
  created?: string;
  /** One entry per layer (`created_by`), bottom first. */
  history?: string[];
  tags?: string[];
  architecture?: string;
}

function compress(tar: Uint8Array, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(tar, { level: 6 });
  if (compression === 'zstd') return zstdCompressSync(tar, { params: { [zlib.ZSTD_c_compressionLevel]: 3 } });
  return Buffer.from(tar);
}

/** Store a new image made of `spec.layers` and tag it. */
export async function buildImage(store: ImageStore, spec: NewImage): Promise<Image> {
  const compression = spec.compression ?? 'gzip';
  const lease = store.lease();
  try {
    return await store.addImage(await writeParts(store, spec, compression, lease), spec.tags ?? []);
  } finally {
    lease.release();
  }
}

async function writeParts(store: ImageStore, spec: NewImage, compression: Compression, lease: Lease): Promise<Buffer> {
  const created = spec.created ?? new Date().toISOString();
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const tar of spec.layers) {
    diffIds.push(sha256(tar));
    const blob = compress(tar, compression);
    const info = await store.writeBlob(blob, { what: 'layer', lease });
    layers.push({ mediaType: layerMediaType[compression], digest: info.digest, size: info.size });
  }
  const history: History[] = spec.layers.map((_, i) => ({ created, created_by: spec.history?.[i] ?? 'berth' }));
  const config: ImageConfig = {
    created,
    architecture: spec.architecture ?? 'amd64',
    os: 'linux',
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
  };
  return manifestFor(store, config, layers, lease);
}

/** Store `config` as a blob; the bytes of the OCI manifest naming it and `layers` (not yet stored). */
export async function manifestFor(store: ImageStore, config: ImageConfig, layers: Descriptor[], lease: Lease): Promise<Buffer> {
  const c = await store.writeBlob(Buffer.from(JSON.stringify(config)), { what: 'image config', lease });
  const manifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: c.digest, size: c.size },
    layers,
  };
  return Buffer.from(JSON.stringify(manifest));
}

/**
 * Store a layer read as an uncompressed tar stream (too big to hold in memory): its diff_id
 * is hashed on the way through, then it is compressed into the store.
 */
export async function writeLayerStream(
  store: ImageStore,
  tar: Readable,
  compression: Compression,
  lease: Lease,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const hash = new HashingStream();
  tar.on('error', (e) => hash.destroy(e));
  const hashed = tar.pipe(hash);
  const compressed = compression === 'gzip' ? hashed.pipe(createGzip({ level: 6 })) : compression === 'zstd' ? hashed.pipe(createZstdCompress()) : hashed;
  hashed.on('error', (e) => compressed.destroy(e));
  const info = await store.writeBlob(compressed, { what: 'layer', lease });
  return { descriptor: { mediaType: layerMediaType[compression], digest: info.digest, size: info.size }, diffId: hash.digest() };
}

/** An image from layers already in the store (see writeLayerStream). */
export async function assembleImage(
  store: ImageStore,
  spec: { layers: { descriptor: Descriptor; diffId: string }[]; config?: ContainerConfig; created?: string; history?: string[]; tags?: string[] },
  lease: Lease,
): Promise<Image> {
  const created = spec.created ?? new Date().toISOString();
  const config: ImageConfig = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    history: spec.layers.map((_, i) => ({ created, created_by: spec.history?.[i] ?? 'berth' })),
  };
  return store.addImage(
    await manifestFor(
      store,
      config,
      spec.layers.map((l) => l.descriptor),
      lease,
    ),
    spec.tags ?? [],
  );
}

/** A new image: `base`'s layers plus `layer`, base's config with `config` and one more history entry. */
export async function assembleHistoryImage(
  store: ImageStore,
  spec: { base: Image; layer: { descriptor: Descriptor; diffId: string }; config: ContainerConfig; history: History; author?: string; tags?: string[] },
  lease: Lease,
): Promise<Image> {
  const created = new Date().toISOString();
  const base = spec.base.config;
  const config: ImageConfig = {
    ...base,
    created,
    ...(spec.author === undefined ? {} : { author: spec.author }),
    config: spec.config,
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, spec.layer.diffId] },
    history: [...(base.history ?? []), { created, ...spec.history }],
  };
  return store.addImage(await manifestFor(store, config, [...spec.base.manifest.layers, spec.layer.descriptor], lease), spec.tags ?? []);
}
