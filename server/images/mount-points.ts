/**
 * The mount points berth-runtime left in a container's writable layer. To mount on a path
 * the root lacks, the runtime creates it (the directories on the way, then an empty file or
 * directory: native/src/rootfs.c, `resolve_in_root`), and that lands in the overlay upper
 * directory: /etc/hosts, /etc/resolv.conf and /etc/hostname on an image without them, /proc,
 * /dev and /sys on a scratch image. Docker makes its mount points in a layer of their own
 * under the container's ("-init"), so its commit never sees them; Berth finds them in the
 * upper directory instead and commit leaves them out.
 *
 * A path is a mount point's when it is a mount's destination (resolved in the container's
 * root, symlinks followed as the runtime follows them) or a directory on the way to one. It is
 * left out when it is still as the runtime made it, and the image lacks it: an empty regular
 * file or a directory whose every entry is left out too, owned by root, without setuid,
 * setgid or sticky bits and without xattrs of its own. What a program writes to a
 * bind-mounted file goes to the mount's source, not here, so a mount point stays empty. A
 * directory the image has, copied up only because the runtime made a mount point in it, is
 * left out too when its mode and owner are still the image's: the image's own shows through
 * unchanged (only its time would differ). Anything else (a path the image has with a mode,
 * owner or content of the container's, a file the program wrote, an entry beside the mount
 * points) is kept.
 */
import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readXattrs } from './xattr-reader.js';

/** An entry of the upper directory, its owner already in the container's ids. */
export interface UpperEntry {
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'fifo' | 'char' | 'block' | 'whiteout';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
}

export interface MountPointScan {
  upper: string;
  /** Every entry of the upper directory, parents before children. */
  entries: readonly UpperEntry[];
  /** The upper directory's xattrs, by path. */
  xattrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>>;
  /** The image's unpacked layers, top first. */
  lowers: readonly string[];
  /** The container paths the runtime mounted over (the bundle's mounts, the network's files). */
  destinations: readonly string[];
  fsutil: string;
}

const OPAQUE = ['trusted.overlay.opaque', 'user.overlay.opaque'];
const isOverlayXattr = (name: string): boolean => name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
const MAX_SYMLINKS = 40;

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** One directory of an overlay stack in overlayfs' own form (whiteouts as 0/0 devices, opaque xattrs). */
interface Layer {
  dir: string;
  /** Whether one of `paths` (directories of this layer) is opaque. */
  anyOpaque(paths: readonly string[]): Promise<boolean>;
}

function upperLayer(upper: string, xattrs: MountPointScan['xattrs']): Layer {
  return { dir: upper, anyOpaque: async (paths) => paths.some((p) => OPAQUE.some((n) => xattrs.get(p)?.get(n)?.toString() === 'y')) };
}

/**
 * A layer of the image. Its opaque directories are read with berth-fsutil (xattr-reader.ts),
 * once per layer where it can be: the first question also asks about the `likely`
 * directories this layer has (the ones on the way to the mount destinations).
 */
function lowerLayer(dir: string, fsutil: string, likely: readonly string[]): Layer {
  const known = new Map<string, boolean>();
  let first = true;
  return {
    dir,
    async anyOpaque(paths) {
      let ask = paths.filter((p) => !known.has(p));
      if (first && ask.length > 0) {
        first = false;
        const present = await Promise.all(likely.map(async (p) => ((await lstatOrUndefined(join(dir, p)))?.isDirectory() ? p : undefined)));
        ask = [...new Set([...ask, ...present.filter((p): p is string => p !== undefined)])];
      }
      if (ask.length > 0) {
        const found = await readXattrs(fsutil, dir, ask);
        for (const p of ask)
          known.set(
            p,
            OPAQUE.some((n) => found.get(p)?.get(n)?.toString() === 'y'),
          );
      }
      return paths.some((p) => known.get(p) === true);
    },
  };
}

/**
 * What a stack of layers (top first) shows at `rel` (relative, clean), with overlayfs'
 * rules: the topmost layer that has it wins; a whiteout or a non-directory on the way hides
 * it; an opaque directory on the way hides the layers below.
 */
async function lookup(stack: readonly Layer[], rel: string): Promise<{ host: string; stat: Stats } | undefined> {
  const parts = rel.split('/');
  for (const layer of stack) {
    const dirs: string[] = [];
    for (let depth = 1; depth <= parts.length; depth++) {
      const sub = parts.slice(0, depth).join('/');
      const st = await lstatOrUndefined(join(layer.dir, sub));
      if (st === undefined) break;
      if (st.isCharacterDevice() && st.rdev === 0) return undefined;
      if (depth === parts.length) return { host: join(layer.dir, sub), stat: st };
      if (!st.isDirectory()) return undefined;
      dirs.push(sub);
    }
    // Opaque hides the layers below: the last layer has none.
    if (layer !== stack.at(-1) && (await layer.anyOpaque(dirs))) return undefined;
  }
  return undefined;
}

/**
 * `path` (a container path) resolved in the stack as the runtime resolves a mount's
 * destination: symlinks followed inside the root (absolute targets from the root, `..`
 * stops there), missing components kept. Relative, '' for the root; undefined past
 * MAX_SYMLINKS links (the runtime refuses those: nothing was made).
 */
async function resolve(stack: readonly Layer[], path: string): Promise<string | undefined> {
  let todo = path.split('/');
  const done: string[] = [];
  for (let links = 0; todo.length > 0;) {
    const part = todo.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const found = await lookup(stack, [...done, part].join('/'));
    if (found?.stat.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return undefined;
      const target = await readlink(found.host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/'), ...todo];
      continue;
    }
    done.push(part);
  }
  return done.join('/');
}

/** A file or directory as the runtime makes a mount point: root's, no special mode bits, a file empty. */
function asMade(e: UpperEntry): boolean {
  if (e.uid !== 0 || e.gid !== 0) return false;
  if (e.kind === 'dir') return (e.mode & ~0o777) === 0;
  return e.kind === 'file' && e.size === 0 && e.nlink === 1 && (e.mode & ~0o666) === 0;
}

/** The paths of `scan.entries` that are mount points as the runtime made them, to be left out of the layer. */
export async function runtimeMountPoints(scan: MountPointScan): Promise<Set<string>> {
  const omit = new Set<string>();
  if (scan.destinations.length === 0) return omit;
  const likely = new Set<string>();
  for (const d of scan.destinations) {
    const parts = d.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) continue;
    for (let depth = 1; depth <= parts.length; depth++) likely.add(parts.slice(0, depth).join('/'));
  }
  const image = scan.lowers.map((dir) => lowerLayer(dir, scan.fsutil, [...likely]));
  const upper = upperLayer(scan.upper, scan.xattrs);
  const candidates = new Set<string>();
  for (const destination of scan.destinations) {
    const rel = await resolve([upper, ...image], destination);
    if (rel === undefined || rel === '') continue;
    const parts = rel.split('/');
    for (let depth = 1; depth <= parts.length; depth++) candidates.add(parts.slice(0, depth).join('/'));
  }
  const byPath = new Map(scan.entries.map((e) => [e.path, e]));
  // Deepest first: a directory goes only when everything in it went.
  const ordered = [...candidates].filter((p) => byPath.has(p)).sort((a, b) => b.split('/').length - a.split('/').length);
  for (const path of ordered) {
    const e = byPath.get(path) as UpperEntry;
    if ([...(scan.xattrs.get(path)?.keys() ?? [])].some((name) => !isOverlayXattr(name))) continue;
    if (e.kind === 'dir' && scan.entries.some((x) => x.path.startsWith(`${path}/`) && !omit.has(x.path))) continue;
    const had = await lookup(image, path);
    const unchanged =
      had === undefined
        ? asMade(e)
        : // A copy-up the runtime caused: the image's own directory shows through as it was.
          e.kind === 'dir' &&
          had.stat.isDirectory() &&
          (had.stat.mode & 0o7777) === e.mode &&
          had.stat.uid === e.uid &&
          had.stat.gid === e.gid &&
          !(await upper.anyOpaque([path]));
    if (unchanged) omit.add(path);
  }
  return omit;
}
