/**
 * images' surface: what other folders of server/ (and bench/) use, plus the option types
 * of these functions. Tests import the inner files directly.
 */
export { ImageStore, defaultFsutilBinary, type Image, type ImageSummary, type ImageStoreOptions, type GcResult, type Lease } from './store.js';
export { parseReference, tagOf, type ImageReference } from './reference.js';
export { mediaTypes, type Descriptor, type ImageConfig, type ContainerConfig, type History, type Compression } from './schemas.js';
export { buildImage, manifestFor, writeLayerStream, type NewImage } from './build.js';
export { buildBusyboxImage, ensureBusyboxImage, busyboxLayer } from './busybox.js';
export { importArchive, exportArchive, exportOciArchive, type ArchiveFormat, type ImportOptions } from './archive.js';
export { pullImage, pushImage, type RegistryOptions, type RegistryCredentials, type ProgressEvent, type PushResult } from './registry.js';
export { ensureStackImage, type StackOptions } from './stack.js';
export { commitContainer, commitLayer, diffLayer, type CommitOptions, type ConfigChanges, type DiffOptions, type LayerCommitOptions } from './commit.js';
export type { IdMap } from './idmap.js';
export { readXattrs, type XattrMap } from './xattr-reader.js';
