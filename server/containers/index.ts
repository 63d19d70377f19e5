export { ContainerManager, type ContainerManagerOptions } from './manager.js';
export { validateContainerName, generateName, resolveRef } from './names.js';
export { readLog, type ReadLogOptions } from './logs.js';
export { ensureNetwork, inspectNetwork, type NetworkSettings } from './network.js';
export {
  createRequestSchema,
  containerRecordSchema,
  type CreateRequest,
  type ContainerView,
  type ContainerRecord,
  type ContainerState,
  type ExitStatus,
  type LogLine,
  type LogOptions,
  type ExecRequest,
  type CommitRequest,
} from './types.js';
