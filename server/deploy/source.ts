/**
 * Reading the few files the pipeline itself looks at in a received tree (Procfile,
 * app.json), and in the app's repo for a job without a build. A tree's symlinks all point
 * inside it one by one (receive.ts), but a chain of them can still lead out, so a file is
 * read only if its real path lies inside the tree, is a regular file and is small.
 */
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { BerthError, isErrno, run } from '../core/index.js';

/** The largest Procfile or app.json read. */
export const SOURCE_FILE_MAX_BYTES = 1024 * 1024;

/** The text of `name` at the top of the tree `dir`, or undefined when there is none. */
export async function readSourceFile(dir: string, name: string): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    await lstat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const refuse = (why: string) =>
    new BerthError('E_DEPLOY_SOURCE_INVALID', `the pushed tree's ${name} ${why}`, {
      details: { entry: name },
    });
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ELOOP')) throw refuse('is a symlink that leads nowhere');
    throw err;
  }
  const root = await realpath(dir);
  if (!real.startsWith(root + sep)) throw refuse('is a symlink that leads outside the tree');
  const info = await lstat(real);
  if (!info.isFile()) throw refuse('is not a regular file');
  if (info.size > SOURCE_FILE_MAX_BYTES) throw refuse(`is ${info.size} bytes, more than the ${SOURCE_FILE_MAX_BYTES} Berth reads`);
  return readFile(real, 'utf8');
}

/**
 * The text of `name` at the top of `commit`'s tree in the bare repo (following symlinks that
 * stay inside the tree, as readSourceFile does), or undefined when the tree has no such file
 * or the commit is gone (a force-push and a gc can drop it).
 */
export async function readCommitFile(git: string, repo: string, commit: string, name: string): Promise<string | undefined> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };
  const gitRun = (args: string[]) => run(git, ['--git-dir', repo, ...args], { allowFailure: true, env, installHint: 'git' });
  let path = name;
  for (let hop = 0; hop < 8; hop++) {
    // "<mode> <type> <object>\t<path>", or nothing when the tree has no such path.
    const entry = /^(\d+) (\w+) ([0-9a-f]+)\t/.exec((await gitRun(['ls-tree', '--full-tree', commit, '--', path])).stdout);
    if (entry === null || entry[2] !== 'blob') return undefined;
    const object = entry[3] as string;
    const size = Number((await gitRun(['cat-file', '-s', object])).stdout.trim());
    if (!(size <= SOURCE_FILE_MAX_BYTES)) {
      throw new BerthError(
        'E_DEPLOY_SOURCE_INVALID',
        `${name} of commit ${commit.slice(0, 7)} is ${size} bytes, more than the ${SOURCE_FILE_MAX_BYTES} Berth reads`,
        {
          details: { entry: name, commit },
        },
      );
    }
    const text = (await gitRun(['cat-file', 'blob', object])).stdout;
    if (entry[1] !== '120000') return text;
    const target = posix.normalize(posix.join(posix.dirname(path), text));
    if (target.startsWith('/') || target === '..' || target.startsWith('../')) return undefined;
    path = target;
  }
  return undefined;
}
