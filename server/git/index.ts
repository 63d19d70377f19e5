/**
 * git's side of Berth (docs/git.md): the smart-HTTP transport at `/<app>.git/…` (mounted by
 * the API behind its token check), the pre-receive hook installed in each app's bare repo,
 * and what happens to a pushed branch before its deploy is queued: the deploy-branch
 * decision, the pushed objects kept out of git's quarantine, the checks of the commit's tree;
 * and git over SSH (docs/ssh.md): the SSH keys, the system user's authorized_keys, and the
 * daemon's end of git-shell's relay.
 */
export { gitHttpRouter } from './http.js';
export { hookScript, installHook } from './repo.js';
export { admitPush, branchOf, checkNotice, checkRefUnmoved, checkTree, pushVerdict } from './push.js';
export type { GitAppRecord, GitApps, GitHttpOptions, HookEnvironment, PushLimits, PushNotice, PushVerdict } from './types.js';
export { SshKeyStore, parsePublicKey, fingerprintOf, type SshKey, type SshKeyView, type SshKeyStoreOptions } from './ssh-keys.js';
export { SshAccess, authorizedKeysText, lookupUser, type ForcedCommand, type SshAccessOptions, type SystemUser } from './ssh-access.js';
export { startGitService, gitSshService, gitSshServices, type GitSshRequest, type GitSshService, type GitProcess } from './ssh-transport.js';
