/**
 * An image's file tree read straight from its unpacked layers (the store's overlay lower
 * directories, top first), with overlayfs' rules and without mounting anything: the topmost
 * layer that has a path wins; a whiteout (a 0/0 character device) deletes it; a
 * non-directory hides everything below it; an opaque directory
 * (`trusted.overlay.opaque=y`, read with berth-fsutil since Node cannot read xattrs) hides
 * the lower layers' content of that directory. Symlinks resolve inside the tree, as in a
 * chroot: `..` stops at the root and absolute targets start from it.
 *
 * The builder reads COPY --from sources, the parents a COPY writes into, the directory a
 * WORKDIR names and the users a --chown names through this.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BerthError, isErrno, run } from '../core/index.js';

export interface TreeEntry {
  /** Where it is on the host (in the layer that has it). */
  host: string;
  stat: Stats;
}

/** `lstat`, or undefined when nothing is there (ENOENT, or a file where a directory was expected). */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
}

const isWhiteout = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0;

/** `a/b/../c` → `a/c`; `..` above the root stays at the root. Relative, '' for the root. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

export class RootfsView {
  private readonly opaque = new Map<string, boolean>();

  /** `lowers`: the image's unpacked layers, top first (ImageStore.unpackImage). */
  constructor(
    private readonly lowers: readonly string[],
    private readonly fsutil: string,
  ) {}

  /** Whether each of `dirs` (host paths of directories inside `layer`) is opaque; one berth-fsutil run for the ones not known yet. */
  private async anyOpaque(layer: string, dirs: string[]): Promise<boolean> {
    const unknown = dirs.filter((d) => !this.opaque.has(d));
    if (unknown.length > 0) {
      const input = Buffer.from(unknown.map((d) => `${relative(layer, d) || '.'}\0`).join(''));
      const r = await run(this.fsutil, ['xattrs', layer], { input, allowFailure: true });
      if (r.code !== 0) throw new BerthError('E_IMAGE_LAYER_INVALID', `cannot read the xattrs of ${layer}: ${r.stderr.trim()}`);
      const f = r.stdout.split('\0');
      const found = new Map<string, boolean>();
      let i = 0;
      while (i < f.length - 1) {
        const path = f[i++] as string;
        const n = Number(f[i++]);
        let opaque = false;
        for (let k = 0; k < n; k++) {
          const name = f[i++] as string;
          const value = Buffer.from(f[i++] as string, 'hex').toString();
          if (name === 'trusted.overlay.opaque' && value === 'y') opaque = true;
        }
        found.set(path === '.' ? layer : join(layer, path), opaque);
      }
      for (const d of unknown) this.opaque.set(d, found.get(d) ?? false);
    }
    return dirs.some((d) => this.opaque.get(d) === true);
  }

  /**
   * The entries that make up `rel` (relative, no `..`), top first: the first is what the
   * tree shows; when it is a directory, the others are the lower layers' directories that
   * merge into it. Empty when the path does not exist.
   */
  private async layersOf(rel: string): Promise<TreeEntry[]> {
    const parts = rel === '' ? [] : rel.split('/');
    const out: TreeEntry[] = [];
    for (const layer of this.lowers) {
      const dirs: string[] = [];
      let depth = 0;
      let entry: TreeEntry | undefined;
      for (; depth <= parts.length; depth++) {
        const host = join(layer, ...parts.slice(0, depth));
        const st = await lstatOrUndefined(host);
        if (st === undefined) break;
        if (isWhiteout(st)) return out;
        if (depth === parts.length) {
          entry = { host, stat: st };
          break;
        }
        if (!st.isDirectory()) return out;
        dirs.push(host);
      }
      if (entry !== undefined) {
        if (!entry.stat.isDirectory()) return out.length === 0 ? [entry] : out;
        out.push(entry);
        if (await this.anyOpaque(layer, [...dirs.slice(1), entry.host])) return out;
        continue;
      }
      if (dirs.length > 1 && (await this.anyOpaque(layer, dirs.slice(1)))) return out;
    }
    return out;
  }

  /** The entry at `rel` (a final symlink is not followed). */
  async lstat(rel: string): Promise<TreeEntry | undefined> {
    return (await this.layersOf(cleanPath(rel)))[0];
  }

  /** The names in directory `rel`, sorted. */
  async readdir(rel: string): Promise<string[]> {
    const clean = cleanPath(rel);
    const layers = await this.layersOf(clean);
    const decided = new Map<string, boolean>();
    for (const l of layers) {
      if (!l.stat.isDirectory()) break;
      for (const name of await readdir(l.host)) {
        if (decided.has(name)) continue;
        const st = await lstat(join(l.host, name));
        decided.set(name, !isWhiteout(st));
      }
    }
    return [...decided]
      .filter(([, present]) => present)
      .map(([n]) => n)
      .sort();
  }

  async readFile(rel: string): Promise<Buffer | undefined> {
    const e = await this.lstat(rel);
    return e?.stat.isFile() ? readFile(e.host) : undefined;
  }

  /**
   * `rel` with every symlink on the way resolved inside the tree (the last one too, when
   * `followLast`). Components that do not exist are kept as they are.
   */
  async resolve(rel: string, followLast = true): Promise<string> {
    let todo = cleanPath(rel)
      .split('/')
      .filter((p) => p !== '');
    let done: string[] = [];
    for (let hops = 0; todo.length > 0;) {
      const part = todo.shift() as string;
      const candidate = [...done, part].join('/');
      const e = await this.lstat(candidate);
      if (e?.stat.isSymbolicLink() && (followLast || todo.length > 0)) {
        if (++hops > 40) throw new BerthError('E_BUILD_COPY_NOT_FOUND', `too many levels of symbolic links at /${candidate}`);
        const target = await readlink(e.host);
        const next = target.startsWith('/') ? target : [...done, target].join('/');
        todo = [
          ...cleanPath(next)
            .split('/')
            .filter((p) => p !== ''),
          ...todo,
        ];
        done = [];
        continue;
      }
      done.push(part);
    }
    return done.join('/');
  }
}
