/**
 * Atomic file writes: temp file in the same directory, write, fsync, rename over the
 * target, fsync the directory. A crash at any point leaves either the old file or the
 * new one, never a half-written file. Temp files a crash leaves behind carry a fixed
 * marker so `removeStaleTempFiles` can clear them at start.
 */
import { open, rename, unlink, readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { BerthError } from './errors.js';

const TEMP_MARKER = '.berth-tmp-';

export interface AtomicWriteOptions {
  /** File mode for the new file (default 0o644); applied before any byte is written. */
  mode?: number;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replace `path` with `data` atomically and durably. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
  const mode = options.mode ?? 0o644;
  try {
    // 'wx': never follow or reuse something already at the temp name.
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.chmod(mode); // the umask must not widen or narrow what the caller asked for
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncDir(dir);
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
