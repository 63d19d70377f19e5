/**
 * Unpacking one OCI layer (image-spec layer.md) into its own empty directory, in the form
 * overlayfs reads as a lower directory: OCI whiteouts (`.wh.name`) become 0/0 character
 * devices, opaque markers (`.wh..wh..opq`) become the `trusted.overlay.opaque=y` xattr of
 * their directory. Everything else is kept as the layer says: modes with setuid/setgid/
 * sticky bits, numeric uid/gid (names are ignored; user-namespaced containers get their ids
 * mapped at mount time), mtimes, symlink targets verbatim (absolute or relative, never
 * followed), hard links, FIFOs, the standard character devices, and extended attributes.
 *
 * A hostile layer never writes outside the directory. Every entry name is checked before
 * anything is written (no absolute path, no `..`), the unpacker knows the kind of every
 * path it has created (the directory starts empty and nobody else writes in it), and a
 * write below a symlink, a hard link leaving the layer or to something not in it, a device
 * other than the standard ones, and an xattr outside the allowed namespaces are each
 * rejected with E_IMAGE_LAYER_UNSAFE naming the entry. Final components are created with
 * O_EXCL|O_NOFOLLOW, mkdir, symlink or link, which never follow a symlink. Device nodes,
 * FIFOs and xattrs go to berth-fsutil, which resolves parents with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) itself.
 *
 * File system calls are synchronous on purpose: each is a few microseconds, while an async
 * call costs a round trip through libuv's thread pool, and a layer is thousands of small
 * entries (that made unpacking ~2x slower). The event loop still turns between entries
 * and between the chunks of a file, as tar-stream hands them over.
 */
import './tar-compat.js';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { extract, type Header as Headers } from 'tar-stream';
import { BerthError, isErrno, run } from '../core/index.js';
import { HashingStream } from './digest.js';
import type { Compression } from './schemas.js';
import { XATTR_PREFIX, xattrBytes } from './tar-compat.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Character devices a layer may carry (Docker's /dev defaults, as debootstrap trees have them). */
export const allowedCharDevices: readonly (readonly [number, number, string])[] = [
  [1, 3, 'null'],
  [1, 5, 'zero'],
  [1, 7, 'full'],
  [1, 8, 'random'],
  [1, 9, 'urandom'],
  [5, 0, 'tty'],
  [5, 2, 'ptmx'],
];

/** Extended attribute namespaces a layer may set. `trusted.*` (overlayfs' own metadata among them) never. */
export function xattrAllowed(name: string): boolean {
  return (
    (name.startsWith('user.') && name.length > 5) ||
    (name.startsWith('security.') && name.length > 9) ||
    name === 'system.posix_acl_access' ||
    name === 'system.posix_acl_default'
  );
}

export interface UnpackOptions {
  /** Names the layer in errors: "layer sha256:… of busybox:latest". */
  what: string;
  /** berth-fsutil's path. */
  fsutil: string;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream: the layer's diff_id. */
  diffId: string;
  /** Bytes of the uncompressed tar stream. */
  size: number;
  entries: number;
}

type Kind = 'dir' | 'file' | 'symlink' | 'node' | 'whiteout';

interface PendingNode {
  kind: 'c' | 'b' | 'p';
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  mtime: Date;
}

interface DirMeta {
  path: string;
  mtime: Date;
}

function unsafe(what: string, entry: string, why: string): BerthError {
  return new BerthError('E_IMAGE_LAYER_UNSAFE', `${what}: entry ${JSON.stringify(entry)} ${why}; nothing was written outside the layer`, {
    details: { entry },
  });
}

function invalid(what: string, why: string, cause?: unknown): BerthError {
  return new BerthError('E_IMAGE_LAYER_INVALID', `${what}: ${why}`, cause === undefined ? {} : { cause });
}

/**
 * The entry name as a path relative to the layer root, or '' for the root itself. Leading
 * "./" and a trailing "/" are the only forms accepted besides plain names; absolute paths,
 * ".." and empty or "." components inside the name are rejected, never cleaned up.
 */
export function entryPath(name: string, what: string): string {
  if (name.includes('\0')) throw unsafe(what, name, 'contains a NUL byte');
  if (name.startsWith('/')) throw unsafe(what, name, 'is an absolute path (layer entries are relative to the layer root)');
  let rest = name;
  while (rest.startsWith('./')) rest = rest.slice(2);
  if (rest === '.' || rest === '') return '';
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const parts = rest.split('/');
  for (const p of parts) {
    if (p === '..') throw unsafe(what, name, 'has a ".." component, which would leave the layer');
    if (p === '' || p === '.') throw unsafe(what, name, 'has an empty or "." component');
  }
  return parts.join('/');
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function decompressor(compression: Compression): Transform | undefined {
  if (compression === 'gzip') return createGunzip();
  if (compression === 'zstd') return createZstdDecompress();
  return undefined;
}

/** The compression of a layer from its first bytes: gzip (1f 8b), zstd (28 b5 2f fd), else none. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

function numeric(pax: Record<string, string> | null | undefined, key: string, fallback: number): number {
  const v = pax?.[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

class Unpacker {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly nodes = new Map<string, PendingNode>();
  private readonly xattrs = new Map<string, Map<string, Buffer>>();
  private readonly dirs = new Map<string, DirMeta>();
  entries = 0;

  constructor(
    private readonly dest: string,
    private readonly options: UnpackOptions,
  ) {}

  private abs(path: string): string {
    return path === '' ? this.dest : join(this.dest, path);
  }

  private setXattr(path: string, name: string, value: Buffer): void {
    let m = this.xattrs.get(path);
    if (m === undefined) this.xattrs.set(path, (m = new Map()));
    m.set(name, value);
  }

  /** Make sure every ancestor of `path` is a directory this layer made, creating missing ones. */
  private async parents(path: string, entry: string): Promise<void> {
    const parts = path.split('/');
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      prefix = prefix === '' ? (parts[i] as string) : `${prefix}/${parts[i] as string}`;
      const kind = this.kinds.get(prefix);
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw unsafe(this.options.what, entry, `would be written through the symlink ${JSON.stringify(prefix)}`);
      if (kind === 'whiteout') {
        // ".wh.a" then "a/b": "a" is recreated as a directory that hides the lower "a".
        this.nodes.delete(prefix);
        await this.mkdir(prefix, 0o755, 0, 0);
        this.setXattr(prefix, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
        continue;
      }
      if (kind !== undefined) throw invalid(this.options.what, `entry ${JSON.stringify(entry)} is below ${JSON.stringify(prefix)}, which is not a directory`);
      await this.mkdir(prefix, 0o755, 0, 0); // implied by the entry; merges with a lower directory
    }
  }

  private async mkdir(path: string, mode: number, uid: number, gid: number): Promise<void> {
    const p = this.abs(path);
    mkdirSync(p, { mode: 0o700 });
    lchownSync(p, uid, gid);
    chmodNoFollow(p, mode);
    this.kinds.set(path, 'dir');
  }

  /** Remove what an earlier entry of this layer put at `path` (a later entry replaces it). */
  private async replace(path: string): Promise<Kind | undefined> {
    const kind = this.kinds.get(path);
    if (kind === undefined) return undefined;
    if (kind === 'dir') {
      await rm(this.abs(path), { recursive: true, force: true });
      const prefix = `${path}/`;
      for (const map of [this.kinds, this.nodes, this.xattrs, this.dirs] as Map<string, unknown>[]) {
        for (const k of [...map.keys()]) if (k === path || k.startsWith(prefix)) map.delete(k);
      }
    } else if (kind === 'node' || kind === 'whiteout') {
      this.nodes.delete(path);
      this.xattrs.delete(path);
    } else {
      unlinkSync(this.abs(path));
      this.xattrs.delete(path);
    }
    this.kinds.delete(path);
    return kind;
  }

  async entry(header: Headers, body: Readable): Promise<void> {
    const what = this.options.what;
    this.entries++;
    const name = header.name;
    const path = entryPath(name, what);
    const uid = numeric(header.pax as Record<string, string> | null, 'uid', header.uid);
    const gid = numeric(header.pax as Record<string, string> | null, 'gid', header.gid);
    const mode = header.mode & 0o7777;
    const mtime = header.mtime;
    const base = baseOf(path);

    if (header.type !== 'file' && header.type !== 'contiguous-file') for await (const _ of body) void _; // drain

    if (path === '') {
      if (header.type !== 'directory') throw invalid(what, `entry ${JSON.stringify(name)} is the layer root but not a directory`);
      lchownSync(this.dest, uid, gid);
      chmodNoFollow(this.dest, mode);
      this.dirs.set('', { path: this.dest, mtime });
      this.xattrsOf(header, '', name);
      return;
    }

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.parents(path, name);
      const dir = parentOf(path);
      if (base === OPAQUE_WHITEOUT) {
        this.setXattr(dir, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
        return;
      }
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden.startsWith(WHITEOUT_PREFIX) || hidden === '' || hidden === '.' || hidden === '..') {
        throw invalid(what, `entry ${JSON.stringify(name)} is not a whiteout OCI knows (only ".wh.<name>" and ".wh..wh..opq")`);
      }
      const target = dir === '' ? hidden : `${dir}/${hidden}`;
      const existing = this.kinds.get(target);
      if (existing === 'dir') this.setXattr(target, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
      else if (existing === undefined) {
        this.nodes.set(target, { kind: 'c', mode: 0, major: 0, minor: 0, uid: 0, gid: 0, mtime });
        this.kinds.set(target, 'whiteout');
      }
      // a file this layer already put there hides the lower one by itself
      return;
    }

    await this.parents(path, name);
    const existing = this.kinds.get(path);
    if (existing === 'dir' && header.type === 'directory') {
      // The same directory again: its metadata is updated, its content kept.
      lchownSync(this.abs(path), uid, gid);
      chmodNoFollow(this.abs(path), mode);
      this.dirs.set(path, { path: this.abs(path), mtime });
      this.xattrsOf(header, path, name);
      return;
    }
    const replaced = header.type === 'link' ? undefined : await this.replace(path);
    const p = this.abs(path);

    switch (header.type) {
      case 'directory':
        await this.mkdir(path, mode, uid, gid);
        this.dirs.set(path, { path: p, mtime });
        if (replaced === 'whiteout') this.setXattr(path, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
        break;
      case 'file':
      case 'contiguous-file': {
        const fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          // tar-stream's entry streams are streamx streams: read them by async iteration
          // (node's pipeline does not see their end).
          for await (const chunk of body) writeAll(fd, chunk as Buffer);
          fchownSync(fd, uid, gid); // before chmod: chown clears setuid/setgid
          fchmodSync(fd, mode);
          futimesSync(fd, mtime, mtime);
        } finally {
          closeSync(fd);
        }
        this.kinds.set(path, 'file');
        break;
      }
      case 'symlink':
        if (header.linkname === null || header.linkname === '' || header.linkname.includes('\0')) {
          throw invalid(what, `symlink ${JSON.stringify(name)} has an empty target`);
        }
        symlinkSync(header.linkname, p);
        lchownSync(p, uid, gid);
        lutimesSync(p, mtime, mtime);
        this.kinds.set(path, 'symlink');
        break;
      case 'link': {
        const linkname = header.linkname ?? '';
        let target: string;
        try {
          target = entryPath(linkname, what);
        } catch {
          throw unsafe(what, name, `is a hard link to ${JSON.stringify(linkname)}, which is outside the layer`);
        }
        const kind = this.kinds.get(target);
        if (kind === undefined || kind === 'whiteout') {
          throw unsafe(what, name, `is a hard link to ${JSON.stringify(linkname)}, which is not a file of this layer`);
        }
        if (kind === 'dir' || target === '') throw unsafe(what, name, `is a hard link to the directory ${JSON.stringify(linkname)}`);
        if (kind === 'node')
          throw invalid(what, `entry ${JSON.stringify(name)} is a hard link to the device or FIFO ${JSON.stringify(linkname)}, which Berth cannot link`);
        for (let dir = parentOf(target); dir !== ''; dir = parentOf(dir)) {
          if (this.kinds.get(dir) !== 'dir') throw unsafe(what, name, `is a hard link through ${JSON.stringify(dir)}, which is not a directory of this layer`);
        }
        if (target === path) break;
        await this.replace(path);
        linkSync(this.abs(target), p); // linkat without AT_SYMLINK_FOLLOW: a symlink is linked, not followed
        this.kinds.set(path, kind);
        break;
      }
      case 'character-device':
      case 'block-device': {
        const major = header.devmajor ?? 0;
        const minor = header.devminor ?? 0;
        const known = header.type === 'character-device' ? allowedCharDevices.find(([a, b]) => a === major && b === minor) : undefined;
        if (known === undefined) {
          const kindName = header.type === 'block-device' ? 'block device' : 'character device';
          throw unsafe(
            what,
            name,
            `is a ${kindName} ${major}:${minor}; layers may carry only the character devices ${allowedCharDevices.map(([a, b, n]) => `${n} (${a}:${b})`).join(', ')}`,
          );
        }
        this.nodes.set(path, { kind: 'c', mode, major, minor, uid, gid, mtime });
        this.kinds.set(path, 'node');
        break;
      }
      case 'fifo':
        this.nodes.set(path, { kind: 'p', mode, major: 0, minor: 0, uid, gid, mtime });
        this.kinds.set(path, 'node');
        break;
      default:
        throw invalid(what, `entry ${JSON.stringify(name)} has type ${String(header.type)}, which layers cannot carry`);
    }
    this.xattrsOf(header, path, name);
  }

  private xattrsOf(header: Headers, path: string, entry: string): void {
    const pax = header.pax as Record<string, string> | null | undefined;
    if (!pax) return;
    for (const [key, value] of Object.entries(pax)) {
      if (!key.startsWith(XATTR_PREFIX)) continue;
      const xname = key.slice(XATTR_PREFIX.length);
      if (!xattrAllowed(xname)) {
        throw unsafe(this.options.what, entry, `sets the extended attribute ${JSON.stringify(xname)}; layers may set only user.*, security.* and POSIX ACLs`);
      }
      this.setXattr(path, xname, xattrBytes(value));
    }
  }

  /** Device nodes, FIFOs, whiteouts and xattrs, in one berth-fsutil run; then directory times. */
  async finish(): Promise<void> {
    const fields: string[] = [];
    for (const [path, n] of this.nodes) {
      const t = n.mtime.getTime();
      const sec = Math.floor(t / 1000);
      fields.push(
        'mknod',
        path,
        n.kind,
        n.mode.toString(8),
        String(n.major),
        String(n.minor),
        String(n.uid),
        String(n.gid),
        String(sec),
        String((t - sec * 1000) * 1e6),
      );
    }
    for (const [path, attrs] of this.xattrs) {
      for (const [name, value] of attrs) fields.push('xattr', path === '' ? '.' : path, name, value.toString('hex'));
    }
    if (fields.length > 0) {
      const input = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
      const result = await run(this.options.fsutil, ['apply', this.dest], { input, allowFailure: true });
      if (result.code !== 0) throw invalid(this.options.what, result.stderr.trim() || `berth-fsutil exited with ${String(result.code)}`);
    }
    const byDepth = [...this.dirs.entries()].sort(([a], [b]) => b.split('/').length - a.split('/').length || b.length - a.length);
    for (const [, d] of byDepth) lutimesSync(d.path, d.mtime, d.mtime);
  }
}

/** chmod that refuses to follow a symlink (the path is always a directory the unpacker just made). */
function chmodNoFollow(path: string, mode: number): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
}

/**
 * Read the tar archive that `stages` (a source, then transforms such as a decompressor)
 * produce, handing each entry to `onEntry` in order; the entry's body must be consumed
 * before the next one comes. On any failure the whole pipeline is torn down (its source
 * destroyed) before the first error is thrown, so no stream is left flowing.
 */
export async function readTarEntries(stages: readonly [Readable, ...Transform[]], onEntry: (header: Headers, body: Readable) => Promise<void>): Promise<void> {
  const ex = extract();
  const flowing = pipeline(...([...stages, ex] as unknown as [Readable, Transform])).then(
    () => undefined,
    (e: unknown) => e,
  );
  try {
    for await (const entry of ex) {
      const e = entry as unknown as Readable & { header: Headers };
      await onEntry(e.header, e);
    }
    const failed = await flowing;
    if (failed !== undefined) throw failed;
  } catch (e) {
    stages[0].destroy();
    ex.destroy();
    await flowing;
    throw e;
  }
}

/**
 * Unpack the layer read from `source` (compressed as `compression` says) into `dest`, an
 * empty directory. On any failure the caller removes `dest`; nothing was written elsewhere.
 */
export async function unpackLayer(source: Readable, compression: Compression, dest: string, options: UnpackOptions): Promise<UnpackResult> {
  const hash = new HashingStream();
  const decompress = decompressor(compression);
  const unpacker = new Unpacker(dest, options);
  try {
    await readTarEntries([source, ...(decompress ? [decompress] : []), hash], (header, body) => unpacker.entry(header, body));
    await unpacker.finish();
  } catch (e) {
    if (e instanceof BerthError) throw e;
    if (isErrno(e, 'ENOSPC', 'EDQUOT')) {
      throw new BerthError('E_IMAGE_DISK_FULL', `no space left while unpacking ${options.what}; what was half-written was removed`, { cause: e });
    }
    const code = (e as NodeJS.ErrnoException).code;
    const what = code?.startsWith('Z_') || code === 'ERR_ZSTD_INVALID' ? `it is not valid ${compression} data` : (e as Error).message;
    throw invalid(options.what, `cannot unpack: ${what}`, e);
  }
  return { diffId: hash.digest(), size: hash.bytes, entries: unpacker.entries };
}

/** Unpack from bytes (tests, small layers). */
export function unpackLayerBytes(bytes: Uint8Array, compression: Compression, dest: string, options: UnpackOptions): Promise<UnpackResult> {
  return unpackLayer(Readable.from([Buffer.from(bytes)]), compression, dest, options);
}
