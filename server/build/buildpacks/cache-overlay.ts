/**
 * CACHE_DIR for one build (docs/buildpacks.md, "The cache"): the app's cache directory is
 * the lower layer of an overlay the build container mounts at /cache, with a fresh upper
 * directory of the build's own. The buildpacks see and change the cache as usual, but every
 * change lands in the upper directory; the app's cache is never written during the build.
 *
 * Only when the build has succeeded is the upper directory merged into the cache: files,
 * symlinks and new directories are renamed in (cheap: same filesystem), a whiteout (a 0:0
 * character device) removes what it hides, an opaque directory (removed and made again)
 * replaces the old one. A failed or cancelled build merges nothing, so the cache is as it
 * was. Why not a copy of the cache: a copy costs the whole cache (a Node.js binary and a
 * package cache: hundreds of MB) on every build; the overlay costs only what changed.
 * The overlay is mounted with `redirect_dir=off,metacopy=off`, so a renamed directory is
 * copied up whole and every upper entry holds its full content.
 */
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, isErrno, run } from '../../core/index.js';
import { readXattrs } from '../../images/index.js';

/** The upper entries' kinds that matter for a merge. */
async function entries(upper: string, rel: string): Promise<string[]> {
  return (await readdir(join(upper, rel))).sort();
}

async function removeTarget(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

async function moveIn(from: string, to: string): Promise<void> {
  await removeTarget(to);
  try {
    await rename(from, to);
  } catch (e) {
    if (!isErrno(e, 'EXDEV')) throw e;
    // The cache is on another filesystem than BERTH_HOME/images: copy, keeping everything.
    await run('cp', ['-a', '--no-dereference', '--', from, to]);
  }
}

/**
 * Merge the overlay's upper directory into the cache (after a successful build). `fsutil`
 * reads the opaque markers (xattrs Node cannot read).
 */
export async function mergeCache(upper: string, cache: string, fsutil: string): Promise<void> {
  const dirs: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await entries(upper, rel)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if ((await lstat(join(upper, r))).isDirectory()) {
        dirs.push(r);
        await walk(r);
      }
    }
  };
  await walk('');
  const xattrs = dirs.length === 0 ? new Map<string, Map<string, Buffer>>() : await readXattrs(fsutil, upper, dirs);
  const opaque = (r: string): boolean => {
    const a = xattrs.get(r);
    return a?.get('trusted.overlay.opaque')?.toString() === 'y' || a?.get('user.overlay.opaque')?.toString() === 'y';
  };
  const merge = async (rel: string): Promise<void> => {
    for (const name of await entries(upper, rel)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const from = join(upper, r);
      const to = join(cache, r);
      const s = await lstat(from);
      if (s.isCharacterDevice() && s.rdev === 0) {
        await removeTarget(to);
        continue;
      }
      if (!s.isDirectory()) {
        await moveIn(from, to);
        continue;
      }
      const there = await lstat(to).catch((e: unknown) => {
        if (isErrno(e, 'ENOENT')) return undefined;
        throw e;
      });
      if (there === undefined || !there.isDirectory() || opaque(r)) {
        // New, replacing a non-directory, or removed and made again: the upper one is the whole of it.
        // Its subdirectories may still hold whiteouts (of nothing, below an opaque one): they go too.
        await moveIn(from, to);
        await dropWhiteouts(to);
        continue;
      }
      await merge(r);
    }
  };
  try {
    await mkdir(cache, { recursive: true, mode: 0o700 });
    await merge('');
  } catch (e) {
    throw new BerthError('E_BERTH_INTERNAL', `cannot merge the build's cache changes into ${cache}: ${(e as Error).message}`, { cause: e });
  }
}

/** Remove overlay whiteouts left in a directory moved in whole. */
async function dropWhiteouts(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const s = await lstat(p);
    if (s.isCharacterDevice() && s.rdev === 0) await rm(p, { force: true });
    else if (s.isDirectory()) await dropWhiteouts(p);
  }
}
