/**
 * The JSON documents of OCI images (image-spec 1.1) and of `docker save` tarballs, as zod
 * schemas. Documents are parsed, never trusted: every problem is listed with its path.
 * Unknown properties pass through untouched (the spec requires readers to ignore them),
 * and Berth never re-serialises a document it did not create: blobs keep their bytes, so
 * their digests stay what the producer made them.
 */
import { z } from 'zod';
import { BerthError, issuePath } from '../core/index.js';

export const mediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayout: 'application/vnd.oci.layout.header.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The annotation the OCI layout uses for a tag in index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** `sha256:<64 lowercase hex>`: the only algorithm Berth accepts. */
export const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lowercase hex digits>');
export type Digest = z.infer<typeof digestSchema>;

const annotationsSchema = z.record(z.string(), z.string());

export const platformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
});

export const descriptorSchema = z.looseObject({
  mediaType: z.string().min(1),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotationsSchema.optional(),
  platform: platformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: annotationsSchema.optional(),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

export const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: annotationsSchema.optional(),
  subject: descriptorSchema.optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const historySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});
export type History = z.infer<typeof historySchema>;

export const containerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: z.record(z.string(), z.looseObject({})).nullish(),
  Env: z.array(z.string()).nullish(),
  Entrypoint: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  Volumes: z.record(z.string(), z.looseObject({})).nullish(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
});
export type ContainerConfig = z.infer<typeof containerConfigSchema>;

export const imageConfigSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  config: containerConfigSchema.optional(),
  rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: z.array(digestSchema) }),
  history: z.array(historySchema).optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export const ociLayoutSchema = z.looseObject({ imageLayoutVersion: z.string() });

/** `manifest.json` of a `docker save` tarball: one entry per image. */
export const dockerSaveManifestSchema = z.array(
  z.looseObject({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string().min(1)),
    LayerSources: z.record(z.string(), descriptorSchema).optional(),
  }),
);
export type DockerSaveManifest = z.infer<typeof dockerSaveManifestSchema>;

/**
 * Parse `bytes` as JSON and check it against `schema`. `what` names the document in the
 * error ("manifest sha256:…", "manifest.json in busybox.tar"); every problem is listed.
 */
export function parseDocument<T extends z.ZodType>(schema: T, bytes: Uint8Array | string, what: string): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${issuePath(i.path, '(document)')}: ${i.message}`);
  throw new BerthError('E_IMAGE_ARCHIVE_INVALID', `${what} is not a valid document:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
    details: { problems },
    cause: result.error,
  });
}

/** Whether a manifest media type is one Berth can run (OCI or Docker schema 2). */
export function isImageManifestType(mediaType: string | undefined): boolean {
  return mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest;
}

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerManifestList;
}

export type Compression = 'none' | 'gzip' | 'zstd';

/** The OCI media type of a layer stored with each compression. */
export const layerMediaType: Readonly<Record<Compression, string>> = {
  none: mediaTypes.ociLayer,
  gzip: mediaTypes.ociLayerGzip,
  zstd: mediaTypes.ociLayerZstd,
};

/** The compression a layer media type announces, or undefined when it is not a layer type Berth reads. */
export function layerCompression(mediaType: string): Compression | undefined {
  switch (mediaType) {
    case mediaTypes.ociLayer:
    case mediaTypes.dockerLayer:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar':
      return 'none';
    case mediaTypes.ociLayerGzip:
    case mediaTypes.dockerLayerGzip:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip':
      return 'gzip';
    case mediaTypes.ociLayerZstd:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd':
      return 'zstd';
    default:
      return undefined;
  }
}
