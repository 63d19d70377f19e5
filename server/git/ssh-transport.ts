/**
 * The daemon's end of git over SSH (docs/ssh.md): git-shell, run by sshd as the SSH user,
 * relays `git-receive-pack` or `git-upload-pack` through the API, and here the daemon runs
 * that git service on the app's bare repository, as root, with the smart-HTTP path's
 * options and hook environment (http.ts), so the same pre-receive hook deploys the push and
 * a push to an app that does not exist creates it when auto-create is on.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BerthError, start, validateAppName, type Logger } from '../core/index.js';
import { repoOf } from './http.js';
import { acquirePush, pushRunning, waitingMessage } from './push-lock.js';
import type { GitHttpOptions } from './types.js';

/** The two git services git over SSH runs; anything else is refused before it gets here. */
export const gitSshServices = ['git-receive-pack', 'git-upload-pack'] as const;
export type GitSshService = (typeof gitSshServices)[number];

export interface GitSshRequest {
  app: string;
  service: GitSshService;
  /** The SSH key's name, for the log and for the hook (BERTH_PUSHER=ssh:<name>). */
  key: string;
  /** The client's GIT_PROTOCOL (`version=2`), when sshd passed it on. */
  protocol?: string;
  /** Told, once, when a push waits for another push to the same app to end (push-lock.ts). */
  waiting?: (message: string) => void;
}

export type GitProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** The service a command names, or undefined: `git-receive-pack` or `git-upload-pack`. */
export function gitSshService(name: string): GitSshService | undefined {
  return (gitSshServices as readonly string[]).includes(name) ? (name as GitSshService) : undefined;
}

/** GIT_PROTOCOL's value as git sends it: `version=2`, colon-separated `key[=value]` items. */
const protocolValue = /^[a-z0-9-]+(=[a-z0-9.-]+)?(:[a-z0-9-]+(=[a-z0-9.-]+)?)*$/;

/**
 * Start the git service for `r` on the app's bare repository, with the options the
 * smart-HTTP router has. The app must exist, except for a push with auto-create on.
 */
export async function startGitService(o: GitHttpOptions, log: Logger, r: GitSshRequest): Promise<GitProcess> {
  validateAppName(r.app);
  if (r.protocol !== undefined && !protocolValue.test(r.protocol)) {
    throw new BerthError('E_API_BAD_REQUEST', `GIT_PROTOCOL ${JSON.stringify(r.protocol.slice(0, 100))} is not what git sends (such as version=2)`);
  }
  const push = r.service === 'git-receive-pack';
  const repo = await repoOf(o.apps, r.app, push && (o.autoCreate ?? true));
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_PUSHER: `ssh:${r.key}`, ...(r.protocol ? { GIT_PROTOCOL: r.protocol } : {}) };
  if (push) {
    const hook = o.hookEnvironment();
    Object.assign(env, { BERTH_APP: r.app, BERTH_API_URL: hook.url, BERTH_TOKEN: hook.token });
  }
  log.info({ app: r.app, key: r.key, service: r.service }, `git over SSH: ${r.service} ${r.app} (key ${r.key})`);
  const spawnGit = async () =>
    (await start(o.git ?? 'git', [r.service.slice('git-'.length), repo], { env, stdio: ['pipe', 'pipe', 'pipe'], installHint: 'git' })) as GitProcess;
  if (!push) return spawnGit();
  // A push holds the app's push lock from before git starts until it has exited: the next
  // push's git (and its advertisement of the refs) starts after this one's refs are written.
  if (pushRunning(repo)) r.waiting?.(waitingMessage(r.app));
  const release = await acquirePush(repo);
  try {
    const ps = await spawnGit();
    ps.once('close', release);
    return ps;
  } catch (err) {
    release();
    throw err;
  }
}
