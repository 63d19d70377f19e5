/**
 * The berth-runtime client (docs/runtime.md): what other folders of server/ use. Tests
 * import the inner files directly.
 */
export { RuntimeClient } from './client.js';
export { RuntimeError, isRuntimeMissing } from './errors.js';
export { annotations, defaultSpec, writeBundle } from './bundle.js';
export { mountDestinations, readBundle } from './mounts.js';
export type { ContainerStats, OciSpec } from './oci-spec.js';
export type { RuntimeSignal } from './argv.js';
export type { ExecStream } from './exec-stream.js';
export type { AttachExit, AttachSession } from './attach.js';
