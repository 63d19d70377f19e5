/**
 * The HTTP API (docs/api.md): the daemon mounts `createApi` and `containerUpgradeHandler`;
 * clients import the wire types (types only: `import type`).
 */
export { createApi } from './app.js';
export { containerUpgradeHandler } from './streams.js';
export { sshUpgradeHandler, type GitSshStreams } from './ssh-git.js';
export type { SshKeyService } from './ssh-keys.js';
export type * from './wire.js';
