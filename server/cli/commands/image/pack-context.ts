/**
 * The build context as a tar stream, the way Docker's client sends it: the directory's
 * files, directories and symlinks (never followed), less what its `.dockerignore` excludes
 * (core's matcher, the builder's too, for Docker's exact rules), with the
 * Dockerfile and `.dockerignore` always included. Files are read one at a time as the
 * request takes them: the context is never held in memory. Sockets, FIFOs and devices are
 * left out with a warning (a build cannot use them).
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { BerthError, dockerignoreMatcher, ignorePatterns } from '../../../core/index.js';

export interface PackedContext {
  /** The tar stream; it fails (is destroyed) when reading the context fails. */
  stream: Pack;
  /** The Dockerfile's path inside the context, as the API takes it; undefined for a context without one (a buildpack build). */
  dockerfile: string | undefined;
  /** Why reading the context failed, once it did: the request then fails for that reason. */
  failure(): BerthError | undefined;
}

/**
 * Pack `dir` with the Dockerfile `file` (a path from the current directory; `DIR/Dockerfile`
 * by default). A Dockerfile outside the context is added to it under a name of its own, as
 * Docker's client does. With `optional`, a context without DIR/Dockerfile (and no `file`)
 * is packed as it is: the daemon builds it with buildpacks.
 */
export async function packContext(dir: string, file: string | undefined, warn: (message: string) => void, optional = false): Promise<PackedContext> {
  const root = resolve(dir);
  const st = await lstat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new BerthError('E_BUILD_CONTEXT_INVALID', `the build context ${dir} is not a directory`);
  const dockerfilePath = resolve(file ?? join(root, 'Dockerfile'));
  const dfStat = await lstat(dockerfilePath).catch(() => undefined);
  const none = optional && file === undefined && dfStat === undefined;
  if (!none && !dfStat?.isFile()) throw new BerthError('E_BUILD_CONTEXT_INVALID', `the Dockerfile ${file ?? join(dir, 'Dockerfile')} is not a file`);
  const inside = relative(root, dockerfilePath);
  const outside = inside.startsWith(`..${sep}`) || inside === '..';
  const dockerfile = none ? undefined : outside ? `.dockerfile.${process.pid}` : inside.split(sep).join('/');
  const patterns = ignorePatterns(await readFile(join(root, '.dockerignore'), 'utf8').catch(() => ''));
  const matcher = dockerignoreMatcher(patterns);
  const always = new Set([...(dockerfile === undefined ? [] : [dockerfile]), '.dockerignore']);
  const stream = pack();

  const entry = (header: Parameters<Pack['entry']>[0], body?: string): Promise<void> =>
    new Promise((done, fail) => {
      const cb = (err?: Error | null) => (err ? fail(err) : done());
      if (body === undefined) stream.entry(header, cb);
      else stream.entry(header, body, cb);
    });
  const addFile = async (path: string, name: string, mode: number, size: number, mtime: Date): Promise<void> => {
    const sink = stream.entry({ name, type: 'file', mode, size, mtime });
    await pipeline(createReadStream(path), sink);
  };
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const path = join(root, r);
      const s = await lstat(path);
      const excluded = !always.has(r) && matcher.ignores(r);
      if (s.isDirectory()) {
        if (excluded && !matcher.reincludesBelow(r)) continue; // nothing below can come back
        if (!excluded) await entry({ name: r, type: 'directory', mode: s.mode & 0o7777, mtime: s.mtime });
        await walk(r);
      } else if (excluded) {
        continue;
      } else if (s.isFile()) {
        await addFile(path, r, s.mode & 0o7777, s.size, s.mtime);
      } else if (s.isSymbolicLink()) {
        await entry({ name: r, type: 'symlink', linkname: await readlink(path), mode: s.mode & 0o7777, mtime: s.mtime });
      } else {
        warn(`${r} is not a file, a directory or a symlink: left out of the build context`);
      }
    }
  };
  let failure: BerthError | undefined;
  void (async () => {
    await walk('');
    if (outside && dfStat && dockerfile !== undefined) await addFile(dockerfilePath, dockerfile, 0o644, dfStat.size, dfStat.mtime);
    stream.finalize();
  })().catch((err: unknown) => {
    failure = new BerthError('E_BUILD_CONTEXT_INVALID', `cannot read the build context ${dir}: ${(err as Error).message}`, { cause: err });
    stream.destroy(failure);
  });
  return { stream, dockerfile, failure: () => failure };
}
