/**
 * The app's bare repo as git's side of Berth sets it up: the pre-receive hook (a small
 * script that runs Berth's hook command by absolute path), and the settings a deploy target
 * needs. Installed through the apps store's `created` hook (daemon.ts), so every app's repo
 * has it from its first push.
 */
import { join } from 'node:path';
import { BerthError, run, writeFileAtomic } from '../core/index.js';

/** git's environment without the variables a parent git (a hook's) would have set. */
export function cleanGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  return { ...env, ...extra };
}

/** Run git on `repo`; E_GIT_FAILED with its stderr when it fails. */
export async function git(repo: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean } = {}) {
  const result = await run('git', ['-C', repo, ...args], {
    env: options.env ?? cleanGitEnv(),
    installHint: 'git',
    allowFailure: true,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  if (result.code !== 0 && options.allowFailure !== true) {
    throw new BerthError(
      'E_GIT_FAILED',
      `git ${args.join(' ')} in ${repo} ended with ${result.code ?? result.signal}: ${result.stderr.trim() || '(no output)'}`,
      {
        details: { repo, args },
      },
    );
  }
  return result;
}

/** A word the POSIX shell reads back as exactly `s`. */
const shellQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** The text of the pre-receive hook that runs `command` (program first, absolute paths). */
export function hookScript(command: readonly string[]): string {
  return [
    '#!/bin/sh',
    "# Berth's pre-receive hook (docs/git.md): hands each pushed branch to the Berth daemon, which",
    '# deploys the deploy branch and streams the output back here; a failed deploy rejects the push.',
    '# Written when the app was created; edits are lost when Berth installs it again.',
    `exec ${command.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

/**
 * Install the pre-receive hook into `repo` and set what a deploy target needs: hooks read from
 * the repo's own `hooks/` whatever a global `core.hooksPath` says, and pushes from shallow
 * clones accepted (`receive.shallowUpdate`). Force pushes are allowed (a bare repo's default).
 */
export async function installHook(repo: string, command: readonly string[]): Promise<void> {
  if (command.length === 0 || !command[0]!.startsWith('/')) {
    throw new BerthError('E_BERTH_INTERNAL', `the git hook's command must start with an absolute path, not ${JSON.stringify(command[0] ?? '')}`);
  }
  await writeFileAtomic(join(repo, 'hooks', 'pre-receive'), hookScript(command), { mode: 0o755 });
  await git(repo, ['config', 'core.hooksPath', 'hooks']);
  await git(repo, ['config', 'receive.shallowUpdate', 'true']);
}
