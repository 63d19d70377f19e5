/**
 * Atomic file writes: temp file in the same directory, write, fsync, rename over the
 * target, fsync the directory. A crash at any point leaves either the old file or the
 * new one, never a half-written file. Temp files a crash leaves behind carry a fixed
 * marker so `removeStaleTempFiles` can clear them at start.
 */
import { chown, rename, unlink, readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { BerthError } from './errors.js';
import { fsyncPath, writeNewFile } from './fs.js';

const TEMP_MARKER = '.berth-tmp-';

export interface AtomicWriteOptions {
  /** File mode for the new file (default 0o644); applied before any byte is written. */
  mode?: number;
  /**
   * false: no fsync of the file nor of its directory, for a file whose loss in a power
   * failure costs nothing (a cache entry, the record of a build step's container): readers
   * still see the old file or the new one, never a half-written one; after a power failure
   * it may be the old one, or empty. @defaultValue true
   */
  durable?: boolean;
  /**
   * The new file's owner, set before the rename, so that the file is never in place with
   * another owner (files the daemon, as root, writes for a system user). @defaultValue the writer's
   */
  owner?: { uid: number; gid: number };
}

/** Replace `path` with `data` atomically and (unless `durable: false`) durably. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
  const mode = options.mode ?? 0o644;
  const durable = options.durable ?? true;
  try {
    await writeNewFile(temp, data, mode, { sync: durable });
    if (options.owner) await chown(temp, options.owner.uid, options.owner.gid);
    await rename(temp, path);
    if (durable) await fsyncPath(dir);
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    const e = cause as NodeJS.ErrnoException;
    throw new BerthError('E_FILE_WRITE_FAILED', `cannot write ${path}: ${e.message}`, {
      cause,
      details: { path },
    });
  }
}

/** Remove temp files an interrupted `writeFileAtomic` left in `dir`. Returns their names. */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.includes(TEMP_MARKER));
  await Promise.all(names.map((n) => unlink(join(dir, n)).catch(() => undefined)));
  return names;
}
