/**
 * The daemon's end of git over SSH (docs/ssh.md): git-shell, run by sshd as the SSH user,
 * relays `git-receive-pack` or `git-upload-pack` through the API, and here the daemon runs
 * that git service on the app's bare repository, as root, with the environment the
 * smart-HTTP path gives git, so the same pre-receive hook deploys the push. A push to an
 * app that does not exist creates it when auto-create is on, as over HTTP.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BerthError, start, validateAppName, type Logger } from '../core/index.js';

/** The two git services git over SSH runs; anything else is refused before it gets here. */
export const gitSshServices = ['git-receive-pack', 'git-upload-pack'] as const;
export type GitSshService = (typeof gitSshServices)[number];

/** What the transport uses of the apps store (server/apps' AppStore fits). */
export interface GitSshApps {
  /** E_APP_NOT_FOUND (with the store's hint) when there is no such app. */
  get(name: string): Promise<unknown>;
  find(name: string): Promise<unknown>;
  create(name: string): Promise<unknown>;
  paths(name: string): { repo: string };
}

export interface GitSshOptions {
  apps: GitSshApps;
  /** Create the app on its first push (BERTH_APPS_AUTOCREATE), as the smart-HTTP path does. */
  autoCreate: boolean;
  /** The environment git (and so the pre-receive hook) runs with. @defaultValue the daemon's */
  env?: (app: string) => NodeJS.ProcessEnv;
  /** @defaultValue 'git' on PATH */
  git?: string;
  log: Logger;
}

export interface GitSshRequest {
  app: string;
  service: GitSshService;
  /** The SSH key's name, for the log and for the hook (BERTH_PUSHER=ssh:<name>). */
  key: string;
  /** The client's GIT_PROTOCOL (`version=2`), when sshd passed it on. */
  protocol?: string;
}

export type GitProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** The service a command names, or undefined: `git-receive-pack` or `git-upload-pack`. */
export function gitSshService(name: string): GitSshService | undefined {
  return (gitSshServices as readonly string[]).includes(name) ? (name as GitSshService) : undefined;
}

/** GIT_PROTOCOL's value as git sends it: `version=2`, colon-separated `key[=value]` items. */
const protocolValue = /^[a-z0-9-]+(=[a-z0-9.-]+)?(:[a-z0-9-]+(=[a-z0-9.-]+)?)*$/;

/**
 * Start the git service for `r` on the app's bare repository. The app must exist, except
 * for a push with auto-create on, which creates it (the store's E_APP_NOT_FOUND otherwise).
 */
export async function startGitService(o: GitSshOptions, r: GitSshRequest): Promise<GitProcess> {
  validateAppName(r.app);
  if (r.protocol !== undefined && !protocolValue.test(r.protocol)) {
    throw new BerthError('E_API_BAD_REQUEST', `GIT_PROTOCOL ${JSON.stringify(r.protocol.slice(0, 100))} is not what git sends (such as version=2)`);
  }
  if ((await o.apps.find(r.app)) === undefined) {
    if (r.service !== 'git-receive-pack' || !o.autoCreate) await o.apps.get(r.app);
    await o.apps.create(r.app);
    o.log.info({ app: r.app, key: r.key }, `app ${r.app} created by its first push over SSH`);
  }
  const repo = o.apps.paths(r.app).repo;
  const env = {
    ...(o.env ? o.env(r.app) : process.env),
    BERTH_PUSHER: `ssh:${r.key}`,
    ...(r.protocol ? { GIT_PROTOCOL: r.protocol } : {}),
  };
  o.log.info({ app: r.app, key: r.key, service: r.service }, `git over SSH: ${r.service} ${r.app} (key ${r.key})`);
  const child = await start(o.git ?? 'git', [r.service.slice('git-'.length), repo], { env, stdio: ['pipe', 'pipe', 'pipe'], installHint: 'git' });
  return child as GitProcess;
}
