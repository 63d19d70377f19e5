export {
  ociSpecSchema,
  ociStateSchema,
  ociProcessSchema,
  ociMountSchema,
  ociNamespaceSchema,
  ociLinuxSchema,
  ociHookSchema,
  ociHooksSchema,
  ociRlimitSchema,
  ociResourcesSchema,
  ociIdMappingSchema,
  containerStatsSchema,
  namespaceTypes,
  containerStatuses,
  type OciSpec,
  type OciState,
  type OciProcess,
  type OciMount,
  type OciNamespace,
  type OciLinux,
  type OciHook,
  type OciHooks,
  type OciRlimit,
  type OciResources,
  type ContainerStats,
  type NamespaceType,
  type ContainerStatus,
} from './oci-spec.js';
export {
  defaultSpec,
  dockerCapabilities,
  dockerSeccompProfile,
  defaultDeviceRules,
  resourcesFor,
  writeBundle,
  validateSpec,
  describeIssues,
  annotations,
  OCI_VERSION,
  DEFAULT_PATH,
  type DefaultSpecOptions,
  type RootfsLayers,
  type ContainerLimits,
  type NetworkAttachment,
} from './bundle.js';
export { defaultRuntimeBinary } from './binary.js';
export {
  RuntimeClient,
  type RuntimeClientOptions,
  type CreateContainerOptions,
  type RunContainerOptions,
  type ExecOptions,
  type ProcessResult,
  type RuntimeExit,
} from './client.js';
export { runtimeArgv, type RuntimeCall, type RuntimeGlobals, type RuntimeSignal } from './argv.js';
export { type ExecStreamOptions, type ExecStream } from './exec-stream.js';
export { networkInfoSchema, type NetworkInfo, type NetworkLease, type NetworkCreateOptions, type ContainerAddress } from './network.js';
export { attachContainer, attachSocketPath, AttachSession, type AttachOutput, type AttachEnd, type AttachExit } from './attach.js';
export {
  RuntimeError,
  parseRuntimeError,
  parseRuntimeLogLine,
  lastRuntimeError,
  type RuntimeErrorOptions,
  type RuntimeLogLine,
  type RuntimeCallContext,
} from './errors.js';
