/**
 * A tar stream extracted into a fresh directory with nothing trusted: an entry with an
 * absolute path or `..`, a symlink or hard link leading outside the directory, an entry
 * below a symlink, a device or a FIFO is refused naming the entry; more bytes than the
 * maximum, or a file larger than the per-file maximum, is refused too. Files are created
 * with O_EXCL (an existing symlink is never followed) and owned by the daemon. The API's
 * build contexts (`berth image:build`) and the deploy's received tree (`git archive` of a
 * pushed commit) both come through here; each names its own errors.
 */
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { BerthError } from './errors.js';

/** What a caller refuses, and how it says so. */
export interface TarRules {
  /** The whole, as messages name it: "the context" in "leads outside the context". */
  scope: string;
  /** Bytes of the tar stream at most. */
  maxBytes: number;
  /** Bytes of one regular file at most. @defaultValue no limit but `maxBytes` */
  maxFileBytes?: number;
  /** The error for an entry that may not be there: `why` ends the sentence "entry X …". */
  invalid(entry: string, why: string): BerthError;
  /** The error for a stream longer than `maxBytes`. */
  tooLarge(max: number): BerthError;
  /** The error for a file larger than `maxFileBytes`. @defaultValue `invalid` saying the sizes */
  fileTooLarge?(entry: string, size: number, max: number): BerthError;
  /** The error for a stream that is not a tar. */
  unreadable(cause: Error): BerthError;
}

/**
 * The entry's path relative to the root (`./a/b/` → `a/b`), or the rules' error: absolute,
 * `..` anywhere, a NUL byte. `''` is the root itself.
 */
export function tarEntryPath(name: string, rules: Pick<TarRules, 'scope' | 'invalid'>): string {
  if (name.includes('\0')) throw rules.invalid(name, 'has a NUL byte in its name');
  if (name.startsWith('/')) throw rules.invalid(name, `is an absolute path; ${rules.scope} holds relative paths only`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw rules.invalid(name, `has ".." in its path, which leads outside ${rules.scope}`);
  return parts.join('/');
}

/** Whether a symlink at `path` pointing at `target` stays inside the root. */
function linkStaysInside(path: string, target: string): boolean {
  if (target === '' || target.startsWith('/')) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved !== '..' && !resolved.startsWith('../');
}

/** Counts the bytes that pass and fails once there are more than `max`. */
function limitBytes(max: number, tooLarge: (max: number) => BerthError): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(tooLarge(max));
      else done(null, chunk);
    },
  });
}

export interface ExtractedTar {
  files: number;
  bytes: number;
}

/**
 * Extract the tar `body` into `dir` (which must exist and be empty), reading at most
 * `rules.maxBytes` of it. On failure `dir` may hold part of the tree (the caller removes it)
 * and `body` is left unread (the caller drains or closes it).
 */
export async function extractTar(body: Readable, dir: string, rules: TarRules): Promise<ExtractedTar> {
  const symlinks = new Set<string>();
  const seen = new Map<string, 'file' | 'directory'>();
  const invalid = rules.invalid;
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
    // When the whole extraction fails mid-file (too many bytes), tar-stream destroys the
    // entry's stream with that error too; the extraction reports it once, through its pipeline.
    stream.on('error', () => undefined);
    entry(header, stream).then(
      () => next(),
      (err: unknown) => {
        stream.resume();
        next(err as Error);
      },
    );
  });
  const entry = async (h: Header, stream: Readable): Promise<void> => {
    const rel = tarEntryPath(h.name, rules);
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
      case 'contiguous-file': {
        const size = h.size ?? 0;
        const maxFile = rules.maxFileBytes;
        if (maxFile !== undefined && size > maxFile) {
          throw rules.fileTooLarge?.(h.name, size, maxFile) ?? invalid(h.name, `is ${size} bytes, more than the ${maxFile} bytes a file may have`);
        }
        await pipeline(stream, createWriteStream(path, { flags: 'wx', mode }));
        files++;
        bytes += size;
        seen.set(rel, 'file');
        return;
      }
      case 'symlink': {
        stream.resume();
        const target = h.linkname ?? '';
        if (!linkStaysInside(rel, target)) throw invalid(h.name, `is a symlink to ${JSON.stringify(target)}, which leads outside ${rules.scope}`);
        await symlink(target, path);
        symlinks.add(rel);
        seen.set(rel, 'file');
        return;
      }
      case 'link': {
        stream.resume();
        const target = tarEntryPath(h.linkname ?? '', rules);
        if (seen.get(target) !== 'file' || symlinks.has(target) || (await lstat(join(dir, target))).isFile() !== true)
          throw invalid(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which is not a file earlier in ${rules.scope}`);
        await link(join(dir, target), path);
        seen.set(rel, 'file');
        return;
      }
      default:
        throw invalid(h.name, `is a ${h.type ?? 'special file'}; ${rules.scope} holds files, directories and links only`);
    }
  };
  // body is piped, not part of the pipeline: a failure leaves it open (paused), so that the
  // caller can drain it and still answer with the error.
  const limiter = limitBytes(rules.maxBytes, rules.tooLarge);
  const onClose = (): void =>
    void (body.readableEnded ? undefined : limiter.destroy(new Error('the stream closed before the tar ended (its sender went away)')));
  body.once('error', (err) => limiter.destroy(err)).once('close', onClose);
  body.pipe(limiter);
  try {
    await pipeline(limiter, ex);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw rules.unreadable(err as Error);
  } finally {
    body.off('close', onClose);
    body.unpipe(limiter);
  }
  return { files, bytes };
}
