/**
 * What the deploy tests share: commits made from file maps and pushed into an app's bare
 * repo (as a push leaves it), and a job whose lines and stages are recorded.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { run } from '../../../server/core/index.js';
import type { DeployJob } from '../../../server/deploy/ports.js';
import { requireBinary } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';

export const git = requireBinary('/usr/bin/git', 'git');

/** A file of a commit: its text, or `{ symlink: target }`, or `{ bytes: n }` (n zero bytes). */
export type RepoFile = string | { symlink: string } | { bytes: number };

export interface Repo {
  /** The bare repo. */
  bare: string;
  /** Commit `files` (the whole tree) on main and push it to the bare repo; the commit's id. */
  commit(files: Record<string, RepoFile>): Promise<string>;
}

const gitEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1' };
const identity = ['-c', 'user.name=Berth Test', '-c', 'user.email=test@berth.invalid', '-c', 'init.defaultBranch=main'];

/** A work tree of the test's own that pushes to the bare repo `bare` (created if it is not there). */
export async function makeRepo(t: ExecutionContext, bare: string): Promise<Repo> {
  const work = join(await tempDir(t, 'deploy-work-'), 'work');
  await mkdir(dirname(bare), { recursive: true });
  const g = (args: string[], cwd?: string) => run(git, [...identity, ...args], { env: gitEnv, ...(cwd === undefined ? {} : { cwd }) });
  await g(['init', '-q', '--bare', bare]);
  await g(['init', '-q', work]);
  let n = 0;
  return {
    bare,
    async commit(files) {
      await g(['rm', '-rq', '--ignore-unmatch', '.'], work);
      for (const [name, f] of Object.entries(files)) {
        const path = join(work, name);
        await mkdir(dirname(path), { recursive: true });
        if (typeof f === 'string') await writeFile(path, f);
        else if ('symlink' in f) await symlink(f.symlink, path);
        else await writeFile(path, Buffer.alloc(f.bytes));
      }
      await g(['add', '-A', '.'], work);
      await g(['commit', '-q', '--allow-empty', '-m', `commit ${++n}`], work);
      await g(['push', '-q', bare, 'HEAD:refs/heads/main'], work);
      return (await g(['rev-parse', 'HEAD'], work)).stdout.trim();
    },
  };
}

export interface RecordedJob extends DeployJob {
  lines: string[];
  stages: string[];
  abort: AbortController;
}

let jobs = 0;

/** A job for `app`, its lines and stages recorded. */
export function makeJob(app: string, request: DeployJob['request']): RecordedJob {
  const abort = new AbortController();
  const lines: string[] = [];
  const stages: string[] = [];
  const number = ++jobs;
  return { id: `${app}.${number}`, app, number, request, signal: abort.signal, abort, lines, stages, line: (l) => lines.push(l), stage: (s) => stages.push(s) };
}

export const push = (commit: string) => ({ kind: 'push' as const, commit, ref: 'refs/heads/main', requestedAt: new Date().toISOString() });
