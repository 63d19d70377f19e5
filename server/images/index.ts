export {
  ImageStore,
  defaultFsutilBinary,
  type Image,
  type ImageSummary,
  type ImageStoreOptions,
  type BlobInfo,
  type BlobExpectation,
  type GcResult,
  type Lease,
} from './store.js';
export { parseReference, formatReference, tagOf, DEFAULT_TAG, type ImageReference } from './reference.js';
export { sha256 } from './digest.js';
export {
  mediaTypes,
  REF_NAME_ANNOTATION,
  parseDocument,
  layerCompression,
  descriptorSchema,
  imageIndexSchema,
  manifestSchema,
  imageConfigSchema,
  dockerSaveManifestSchema,
  ociLayoutSchema,
  type Descriptor,
  type ImageIndex,
  type Manifest,
  type ImageConfig,
  type ContainerConfig,
  type History,
  type DockerSaveManifest,
  type Compression,
} from './schemas.js';
export {
  unpackLayer,
  unpackLayerBytes,
  entryPath,
  sniffCompression,
  xattrAllowed,
  allowedCharDevices,
  type UnpackOptions,
  type UnpackResult,
} from './layer.js';
export { xattrPaxValue } from './tar-compat.js';
export { buildImage, writeLayerStream, assembleImage, assembleHistoryImage, type NewImage } from './build.js';
export { buildBusyboxImage, ensureBusyboxImage, busyboxLayer, BUSYBOX_TAG } from './busybox.js';
export {
  importArchive,
  importLayoutDirectory,
  exportArchive,
  exportOciArchive,
  exportDockerArchive,
  familiarTag,
  type ArchiveFormat,
  type ImportOptions,
} from './archive.js';
export {
  pullImage,
  pushImage,
  parseChallenge,
  progressWords,
  type RegistryOptions,
  type RegistryCredentials,
  type ProgressEvent,
  type ProgressStatus,
  type PushResult,
} from './registry.js';
export { buildStackImage, ensureStackImage, stackPackages, STACK_TAG, type StackOptions } from './stack.js';
export { commitContainer, diffLayer, mapAclXattr, mapCapabilityXattr, type CommitOptions, type ConfigChanges, type IdMap, type IdMapping } from './commit.js';
