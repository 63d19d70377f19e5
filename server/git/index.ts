/**
 * git: bare repositories, pushes and the pre-receive hook (docs/git.md); git over SSH
 * (docs/ssh.md): the SSH keys, the system user's authorized_keys, and the daemon's end of
 * git-shell's relay.
 */
export { SshKeyStore, parsePublicKey, fingerprintOf, type SshKey, type SshKeyView, type SshKeyStoreOptions } from './ssh-keys.js';
export { SshAccess, authorizedKeysText, lookupUser, type ForcedCommand, type SshAccessOptions, type SystemUser } from './ssh-access.js';
export {
  startGitService,
  gitSshService,
  gitSshServices,
  type GitSshApps,
  type GitSshOptions,
  type GitSshRequest,
  type GitSshService,
  type GitProcess,
} from './ssh-transport.js';
