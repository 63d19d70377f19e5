/**
 * The receive stage: `git archive <commit>` of the app's bare repo, streamed (never buffered)
 * through core's extractTar into a fresh directory. Nothing in the tree is trusted, whatever
 * the git hook checked before: a symlink leading outside the tree, a file larger than the
 * limit, a tree larger than the limit, or an entry that is neither a file, a directory nor a
 * link is E_DEPLOY_SOURCE_INVALID naming it. git archive honours the tree's own
 * `.gitattributes` (`export-ignore`, `export-subst`), as Heroku's and Dokku's checkouts do, and
 * leaves submodules out (docs/deploys.md).
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BerthError, extractTar, type ExtractedTar, type TarRules } from '../core/index.js';

export interface ReceiveOptions {
  git: string;
  /** The app's bare repository. */
  repo: string;
  commit: string;
  /** An empty directory to extract into. */
  dir: string;
  maxBytes: number;
  maxFileBytes: number;
  signal?: AbortSignal;
}

const invalid = (entry: string, why: string): BerthError =>
  new BerthError('E_DEPLOY_SOURCE_INVALID', `the pushed tree's entry ${JSON.stringify(entry)} ${why}`, { details: { entry } });

function rules(o: ReceiveOptions): TarRules {
  return {
    scope: 'the tree',
    maxBytes: o.maxBytes,
    maxFileBytes: o.maxFileBytes,
    invalid,
    tooLarge: (max) =>
      new BerthError('E_DEPLOY_SOURCE_INVALID', `the pushed tree of commit ${o.commit.slice(0, 7)} is larger than ${max} bytes, the most a deploy takes`, {
        details: { max },
        hint: 'Keep large files out of the repository (or raise BERTH_BUILD_CONTEXT_MAX in the daemon configuration), commit, and push again.',
      }),
    fileTooLarge: (entry, size, max) =>
      new BerthError(
        'E_DEPLOY_SOURCE_INVALID',
        `the pushed tree's file ${JSON.stringify(entry)} is ${size} bytes, more than the ${max} bytes a file may have`,
        {
          details: { entry, size, max },
          hint: 'Keep that file out of the repository (git rm --cached, then rewrite the commits that added it), or raise BERTH_GIT_MAX_FILE_BYTES in the daemon configuration; then push again.',
        },
      ),
    unreadable: (cause) => new BerthError('E_DEPLOY_SOURCE_INVALID', `git archive of commit ${o.commit} gave no readable tar: ${cause.message}`, { cause }),
  };
}

/** The child's exit, as a promise made at once (so that no `close` is missed). */
const exited = (child: ChildProcessByStdio<null, Readable, Readable>) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

/** Extract the tree of `commit` into `dir`; on failure `dir` may hold part of it (the caller removes it). */
export async function receiveTree(o: ReceiveOptions): Promise<ExtractedTar> {
  o.signal?.throwIfAborted();
  const child = spawn(o.git, ['--git-dir', o.repo, 'archive', '--format=tar', `${o.commit}^{tree}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' },
  });
  const end = exited(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const kill = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  try {
    const extracted = await extractTar(child.stdout, o.dir, rules(o)).catch(async (err: unknown) => {
      kill();
      const status = await end;
      // git failing (a commit the repo lacks) cuts the tar short: its own words say more.
      if (status.code !== null && status.code !== 0) throw archiveFailed(o, status, stderr);
      throw err;
    });
    const status = await end;
    if (status.code !== 0) throw archiveFailed(o, status, stderr);
    return extracted;
  } finally {
    o.signal?.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null) {
      kill();
      await end;
    }
    o.signal?.throwIfAborted();
  }
}

function archiveFailed(o: ReceiveOptions, status: { code: number | null; signal: NodeJS.Signals | null; error?: Error }, stderr: string): BerthError {
  if (status.error !== undefined) {
    return new BerthError('E_EXEC_NOT_FOUND', `${o.git} could not be started: ${status.error.message}`, {
      cause: status.error,
      hint: 'Install git: apt-get install -y git',
    });
  }
  const said = stderr.trim().split('\n').slice(-5).join('\n');
  return new BerthError('E_DEPLOY_COMMIT_NOT_FOUND', `git archive could not read commit ${o.commit} in ${o.repo}: ${said || `exit code ${status.code}`}`, {
    details: { commit: o.commit, repo: o.repo },
  });
}
