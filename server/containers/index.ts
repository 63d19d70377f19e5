/**
 * Docker-like containers (docs/containers.md): what other folders of server/ use. Tests
 * import the inner files directly.
 */
export { ContainerManager } from './manager.js';
export { createRequestSchema } from './types.js';
export type { CommitRequest, ContainerState, ContainerView, CreateRequest, ExecRequest, ExitStatus, HostMount, LogLine } from './types.js';
