/**
 * Small file-system steps Berth's durable writes and its state files share.
 */
import { open, readFile } from 'node:fs/promises';
import { isErrno } from './errors.js';

/**
 * fsync `path`, a file or a directory: a file so its bytes are on disk before it is renamed
 * into place; a directory so the rename (or a new entry) in it survives a crash.
 */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Create `path` (it must not exist: never follows or reuses what is there) with `mode`
 * exactly (the umask does not change it), write `data` and fsync it (unless `sync: false`).
 * The caller renames it into place and removes it on failure.
 */
export async function writeNewFile(path: string, data: string | Uint8Array, mode: number, options: { sync?: boolean } = {}): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
    if (options.sync ?? true) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A state file's text, or undefined when it does not exist (yet); any other failure is thrown. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}
