/**
 * A build context received as a tar stream (what `berth image:build` and Docker's client
 * send), extracted into a fresh directory with nothing trusted: an entry with an absolute
 * path or `..`, a symlink or hard link leading outside the directory, an entry below a
 * symlink, a device or a FIFO is E_BUILD_CONTEXT_INVALID naming the entry; more bytes than
 * the configured maximum is E_BUILD_CONTEXT_TOO_LARGE. Files are created with O_EXCL (an
 * existing symlink is never followed) and owned by the daemon; `.dockerignore` is applied
 * by the builder when it reads the context (server/build, context.ts).
 */
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { BerthError } from '../core/index.js';

function invalid(entry: string, why: string): BerthError {
  return new BerthError('E_BUILD_CONTEXT_INVALID', `the build context's entry ${JSON.stringify(entry)} ${why}`, { details: { entry } });
}

/**
 * The entry's path relative to the context root (`./a/b/` → `a/b`), or an error: absolute,
 * `..` anywhere, a NUL byte. `''` is the root itself.
 */
export function contextPath(name: string): string {
  if (name.includes('\0')) throw invalid(name, 'has a NUL byte in its name');
  if (name.startsWith('/')) throw invalid(name, 'is an absolute path; a context holds relative paths only');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(name, 'has ".." in its path, which leads outside the context');
  return parts.join('/');
}

/** Whether a symlink at `path` pointing at `target` stays inside the context. */
function linkStaysInside(path: string, target: string): boolean {
  if (target === '' || target.startsWith('/')) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved !== '..' && !resolved.startsWith('../');
}

/** Counts the bytes that pass and fails once there are more than `max`. */
function limitBytes(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max)
        done(
          new BerthError('E_BUILD_CONTEXT_TOO_LARGE', `the build context is larger than ${max} bytes, the most this daemon accepts (BERTH_BUILD_CONTEXT_MAX)`, {
            details: { max },
          }),
        );
      else done(null, chunk);
    },
  });
}

export interface ExtractedContext {
  files: number;
  bytes: number;
}

/**
 * Extract the tar `body` into `dir` (which must exist and be empty), reading at most
 * `maxBytes` of it. On failure `dir` may hold part of the context (the caller removes it)
 * and `body` is left unread (the caller drains or closes it).
 */
export async function extractContext(body: Readable, dir: string, maxBytes: number): Promise<ExtractedContext> {
  const symlinks = new Set<string>();
  const seen = new Map<string, 'file' | 'directory'>();
  let files = 0;
  let bytes = 0;
  const under = (path: string): string | undefined => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (symlinks.has(parent) || seen.get(parent) === 'file') return parent;
    }
    return undefined;
  };
  const ex = extract();
  ex.on('entry', (header, source, next) => {
    const stream = source as unknown as Readable;
    entry(header, stream).then(
      () => next(),
      (err: unknown) => {
        stream.resume();
        next(err as Error);
      },
    );
  });
  const entry = async (h: Header, stream: Readable): Promise<void> => {
    const rel = contextPath(h.name);
    if (rel === '') {
      stream.resume();
      return;
    }
    const parent = under(rel);
    if (parent !== undefined) throw invalid(h.name, `lies below ${JSON.stringify(parent)}, which is not a directory`);
    const path = join(dir, rel);
    const mode = (h.mode ?? 0o644) & 0o7777;
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const before = seen.get(rel);
    if (before === 'directory' && h.type !== 'directory') throw invalid(h.name, 'is given twice, once as a directory');
    if (before === 'file' || symlinks.has(rel)) await rm(path, { force: true });
    switch (h.type) {
      case 'directory':
        stream.resume();
        if (before !== 'directory') await mkdir(path, { mode });
        seen.set(rel, 'directory');
        return;
      case 'file':
      case 'contiguous-file':
        await pipeline(stream, createWriteStream(path, { flags: 'wx', mode }));
        files++;
        bytes += h.size ?? 0;
        seen.set(rel, 'file');
        return;
      case 'symlink': {
        stream.resume();
        const target = h.linkname ?? '';
        if (!linkStaysInside(rel, target)) throw invalid(h.name, `is a symlink to ${JSON.stringify(target)}, which leads outside the context`);
        await symlink(target, path);
        symlinks.add(rel);
        seen.set(rel, 'file');
        return;
      }
      case 'link': {
        stream.resume();
        const target = contextPath(h.linkname ?? '');
        if (seen.get(target) !== 'file' || symlinks.has(target) || (await lstat(join(dir, target))).isFile() !== true)
          throw invalid(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which is not a file earlier in the context`);
        await link(join(dir, target), path);
        seen.set(rel, 'file');
        return;
      }
      default:
        throw invalid(h.name, `is a ${h.type ?? 'special file'}; a context holds files, directories and links only`);
    }
  };
  // body is piped, not part of the pipeline: a failure leaves it open (paused), so that the
  // caller can drain it and still answer with the error.
  const limiter = limitBytes(maxBytes);
  const onClose = (): void => void (body.readableEnded ? undefined : limiter.destroy(new Error('the client went away before the context ended')));
  body.once('error', (err) => limiter.destroy(err)).once('close', onClose);
  body.pipe(limiter);
  try {
    await pipeline(limiter, ex);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError('E_BUILD_CONTEXT_INVALID', `the build context is not a readable tar stream: ${(err as Error).message}`, { cause: err });
  } finally {
    body.off('close', onClose);
    body.unpipe(limiter);
  }
  return { files, bytes };
}
