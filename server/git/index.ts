/**
 * git's side of Berth (docs/git.md): the smart-HTTP transport at `/<app>.git/…` (mounted by
 * the API behind its token check), the pre-receive hook installed in each app's bare repo,
 * and what happens to a pushed branch before its deploy is queued: the deploy-branch
 * decision, the pushed objects kept out of git's quarantine, the checks of the commit's tree.
 */
export { gitHttpRouter } from './http.js';
export { hookScript, installHook } from './repo.js';
export { admitPush, branchOf, checkNotice, checkTree, pushVerdict } from './push.js';
export type { GitAppRecord, GitApps, GitHttpOptions, HookEnvironment, PushLimits, PushNotice, PushVerdict } from './types.js';
