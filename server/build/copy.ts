/**
 * COPY and ADD without a container: the files a step selects are planned as layer entries
 * (Docker's destination rules), hashed for the cache (path, type, mode, owner, link target,
 * bytes: never times), and written as a layer tar straight into the image store.
 *
 * Destination rules (Docker's): a relative destination is under WORKDIR; it is a directory
 * when it ends with `/`, when there are several sources, or when the image already has a
 * directory there (symlinks on the way are followed inside the image); a source directory
 * contributes its content, not itself. Parents that do not exist are made (0755, owned by
 * the --chown user or root); parents that exist are written with the image's own mode, owner
 * and time, so that the new layer does not change them. Context files are owned by root
 * unless --chown; files from a stage or an image keep their owners. ADD extracts a local tar
 * archive (plain, gzip or zstd) into the destination.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { extract, pack, type Header, type Pack } from 'tar-stream';

type Headers = Parameters<Pack['entry']>[0];
import { BerthError } from '../core/index.js';
import type { SourceTree } from './context.js';
import { cleanPath, type RootfsView } from './rootfs.js';

export interface Owner {
  uid: number;
  gid: number;
}

export interface PlannedEntry {
  /** Path in the image, relative to its root. */
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'archive';
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** file, archive: where the bytes are on the host. */
  host?: string;
  size?: number;
  linkname?: string;
}

export interface CopySource {
  tree: SourceTree;
  /** Resolved path in the tree. */
  rel: string;
  /** The source as written (for errors and the hash's name). */
  written: string;
}

export interface CopyPlan {
  entries: PlannedEntry[];
  /** Docker's `file:<hex>`, `dir:<hex>` or `multi:<hex>`: the history's name for what was copied. */
  summary: string;
  /** sha256 of what is copied (see the file comment): part of the cache key. */
  contentHash: string;
}

export interface CopyRequest {
  sources: CopySource[];
  /** Absolute destination in the image (WORKDIR applied), as written: a trailing `/` matters. */
  dest: string;
  chown?: Owner;
  chmod?: number;
  /** ADD: extract local archives. */
  extract: boolean;
  /** Owners of context files (root) vs. files from an image (kept). */
  keepOwners: boolean;
  view: RootfsView | undefined;
  now: Date;
  keyword: 'COPY' | 'ADD';
}

const ARCHIVE_MAGIC: { name: string; bytes: number[]; offset?: number; supported: boolean }[] = [
  { name: 'gzip', bytes: [0x1f, 0x8b], supported: true },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd], supported: true },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68], supported: false },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], supported: false },
];

/** The archive kind of a file (by its first bytes), or undefined when it is not an archive ADD extracts. */
async function archiveKind(host: string): Promise<'tar' | 'gzip' | 'zstd' | undefined> {
  const handle = await open(host, 'r');
  const head = Buffer.alloc(512);
  try {
    await handle.read(head, 0, 512, 0);
  } finally {
    await handle.close();
  }
  for (const m of ARCHIVE_MAGIC) {
    if (m.bytes.every((b, i) => head[i] === b)) {
      if (!m.supported)
        throw new BerthError(
          'E_BUILD_UNSUPPORTED',
          `${host.split('/').at(-1) ?? host} is a ${m.name} archive, which ADD cannot extract in Berth yet (tar, tar.gz and tar.zst are)`,
        );
      return m.name as 'gzip' | 'zstd';
    }
  }
  return head.subarray(257, 262).toString() === 'ustar' ? 'tar' : undefined;
}

function kindOf(mode: number, path: string, written: string): 'dir' | 'file' | 'symlink' {
  const type = mode & 0o170000;
  if (type === 0o040000) return 'dir';
  if (type === 0o100000) return 'file';
  if (type === 0o120000) return 'symlink';
  throw new BerthError('E_BUILD_UNSUPPORTED', `cannot copy ${path} (from ${written}): only files, directories and symlinks can be copied`);
}

async function addTree(req: CopyRequest, src: CopySource, rel: string, destPath: string, out: PlannedEntry[]): Promise<void> {
  const e = await src.tree.lstat(rel);
  if (e === undefined) return;
  const kind = kindOf(e.stat.mode, rel, src.written);
  const owner = req.chown ?? (req.keepOwners ? { uid: e.stat.uid, gid: e.stat.gid } : { uid: 0, gid: 0 });
  const mode = kind === 'symlink' ? 0o777 : (req.chmod ?? e.stat.mode & 0o7777);
  const base = { path: destPath, mode, ...owner, mtime: e.stat.mtime };
  if (kind === 'dir') {
    if (destPath !== '') out.push({ ...base, kind: 'dir' });
    for (const name of await src.tree.readdir(rel))
      await addTree(req, src, rel === '' ? name : `${rel}/${name}`, destPath === '' ? name : `${destPath}/${name}`, out);
  } else if (kind === 'symlink') {
    out.push({ ...base, kind: 'symlink', linkname: await readlink(e.host) });
  } else {
    out.push({ ...base, kind: 'file', host: e.host, size: e.stat.size });
  }
}

/** The entries of one COPY or ADD, its summary and its content hash. */
export async function planCopy(req: CopyRequest): Promise<CopyPlan> {
  const entries: PlannedEntry[] = [];
  const destWritten = req.dest;
  const wantsDir = destWritten.endsWith('/') || req.sources.length > 1;
  let dest = cleanPath(destWritten);
  if (req.view !== undefined) dest = await req.view.resolve(dest, true);
  const existing = req.view === undefined ? undefined : await req.view.lstat(dest);
  const destIsDir = wantsDir || existing?.stat.isDirectory() === true;
  let kinds = 0;
  for (const src of req.sources) {
    const e = await src.tree.lstat(src.rel);
    if (e === undefined) continue;
    if (e.stat.isDirectory()) {
      kinds |= 2;
      // The destination directory is a parent, not something copied: --chmod does not apply
      // to it (buildah's behaviour), --chown does when it is made.
      if (dest !== '') {
        const made = { path: dest, kind: 'dir' as const, mode: 0o755, ...(req.chown ?? { uid: 0, gid: 0 }), mtime: req.now };
        entries.push(
          existing?.stat.isDirectory()
            ? { ...made, mode: existing.stat.mode & 0o7777, uid: existing.stat.uid, gid: existing.stat.gid, mtime: existing.stat.mtime, ...(req.chown ?? {}) }
            : made,
        );
      }
      for (const name of await src.tree.readdir(src.rel))
        await addTree(req, src, src.rel === '' ? name : `${src.rel}/${name}`, dest === '' ? name : `${dest}/${name}`, entries);
      continue;
    }
    kinds |= 1;
    if (req.extract && e.stat.isFile() && (await archiveKind(e.host)) !== undefined) {
      entries.push({ path: dest, kind: 'archive', mode: 0, uid: 0, gid: 0, mtime: req.now, host: e.host, size: e.stat.size });
      continue;
    }
    const target = destIsDir ? posix.join(dest, posix.basename(src.rel)) : dest;
    if (target === '')
      throw new BerthError('E_BUILD_DOCKERFILE_INVALID', `cannot copy the file ${src.written} to / itself: give a directory ending with / or a file name`);
    await addTree(req, src, src.rel, target, entries);
  }
  const parents = await parentEntries(req, entries);
  const all = dedupe([...parents, ...entries]);
  const summaryKind = req.sources.length > 1 ? 'multi' : kinds === 2 ? 'dir' : 'file';
  const contentHash = await hashEntries(all);
  return { entries: all, summary: `${summaryKind}:${contentHash}`, contentHash };
}

/** The last entry for each path wins; parents first. */
function dedupe(entries: PlannedEntry[]): PlannedEntry[] {
  const byPath = new Map<string, PlannedEntry>();
  for (const e of entries) byPath.set(e.path, e);
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every ancestor of the entries that the plan does not write itself: as the image has it, or new. */
async function parentEntries(req: CopyRequest, entries: PlannedEntry[]): Promise<PlannedEntry[]> {
  const planned = new Set(entries.map((e) => e.path));
  const needed = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split('/');
    const upto = e.kind === 'archive' ? parts.length : parts.length - 1;
    for (let i = 1; i <= upto; i++) {
      const p = parts.slice(0, i).join('/');
      if (p !== '' && !planned.has(p)) needed.add(p);
    }
  }
  const out: PlannedEntry[] = [];
  for (const p of [...needed].sort()) {
    const e = req.view === undefined ? undefined : await req.view.lstat(p);
    if (e !== undefined && !e.stat.isDirectory()) {
      throw new BerthError('E_BUILD_DOCKERFILE_INVALID', `cannot copy into /${p}: it is not a directory in the image`);
    }
    out.push(
      e === undefined
        ? { path: p, kind: 'dir', mode: 0o755, ...(req.chown ?? { uid: 0, gid: 0 }), mtime: req.now }
        : { path: p, kind: 'dir', mode: e.stat.mode & 0o7777, uid: e.stat.uid, gid: e.stat.gid, mtime: e.stat.mtime },
    );
  }
  return out;
}

async function fileHash(host: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(host)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function hashEntries(entries: PlannedEntry[]): Promise<string> {
  const h = createHash('sha256');
  for (const e of entries) {
    const content = e.kind === 'file' || e.kind === 'archive' ? await fileHash(e.host as string) : (e.linkname ?? '');
    h.update(`${JSON.stringify([e.path, e.kind, e.mode, e.uid, e.gid, content])}\n`);
  }
  return h.digest('hex');
}

/** Something whose bytes can be piped into an entry: a file stream, or an archive member (a streamx stream). */
interface Body {
  pipe(sink: NodeJS.WritableStream | Readable | object): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
}

function entry(p: Pack, header: Headers, body?: Body | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (body === undefined) {
      p.entry(header, cb);
      return;
    }
    if (Buffer.isBuffer(body)) {
      p.entry(header, body, cb);
      return;
    }
    const sink = p.entry(header, cb);
    body.on('error', (e: Error) => sink.destroy(e));
    body.pipe(sink);
  });
}

/** The entries of an archive, moved under `dest`, written to `p`. */
async function extractInto(p: Pack, plan: PlannedEntry, chown: Owner | undefined): Promise<void> {
  const host = plan.host as string;
  const kind = await archiveKind(host);
  const file = createReadStream(host);
  const input: Readable = kind === 'gzip' ? file.pipe(createGunzip()) : kind === 'zstd' ? file.pipe(createZstdDecompress()) : file;
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h: Header, stream, next) => {
      const rel = cleanPath(h.name);
      const path = plan.path === '' ? rel : rel === '' ? plan.path : `${plan.path}/${rel}`;
      const owner = chown ?? { uid: h.uid ?? 0, gid: h.gid ?? 0 };
      const header: Headers = { name: h.type === 'directory' ? `${path}/` : path, type: h.type, mode: h.mode ?? 0o644, mtime: h.mtime ?? plan.mtime, ...owner };
      const write = async (): Promise<void> => {
        if (path === '') {
          stream.resume();
          return;
        }
        if (h.type === 'file' || h.type === 'contiguous-file') await entry(p, { ...header, type: 'file', size: h.size ?? 0 }, stream);
        else if (h.type === 'directory') await entry(p, header);
        else if (h.type === 'symlink') await entry(p, { ...header, linkname: h.linkname ?? '' });
        else if (h.type === 'link') {
          const target = cleanPath(h.linkname ?? '');
          await entry(p, { ...header, linkname: plan.path === '' ? target : `${plan.path}/${target}` });
        } else
          throw new BerthError(
            'E_BUILD_UNSUPPORTED',
            `the archive ${host.split('/').at(-1) ?? host} has ${h.name}, a ${h.type}: ADD extracts files, directories and links only`,
          );
        stream.resume();
      };
      write().then(() => next(), reject);
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  input.on('error', (e: Error) => ex.destroy(e));
  input.pipe(ex);
  await done;
}

/** The plan as an uncompressed layer tar stream. */
export function copyLayer(plan: CopyPlan, chown: Owner | undefined): Readable {
  const p = pack();
  void (async () => {
    try {
      for (const e of plan.entries) {
        const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
        if (e.kind === 'dir') await entry(p, { name: `${e.path}/`, type: 'directory', ...common });
        else if (e.kind === 'symlink') await entry(p, { name: e.path, type: 'symlink', linkname: e.linkname ?? '', ...common });
        else if (e.kind === 'file') await entry(p, { name: e.path, type: 'file', size: e.size ?? 0, ...common }, createReadStream(e.host as string));
        else await extractInto(p, e, chown);
      }
      p.finalize();
    } catch (err) {
      p.destroy(err as Error);
    }
  })();
  return p as unknown as Readable;
}

/** WORKDIR's layer: the directory (0755, root) and the parents it needs, when the image does not have it. */
export async function mkdirPlan(view: RootfsView | undefined, path: string, now: Date): Promise<CopyPlan | undefined> {
  const rel = view === undefined ? cleanPath(path) : await view.resolve(cleanPath(path), true);
  if (rel === '') return undefined;
  const existing = view === undefined ? undefined : await view.lstat(rel);
  if (existing?.stat.isDirectory()) return undefined;
  if (existing !== undefined) throw new BerthError('E_BUILD_DOCKERFILE_INVALID', `/${rel} exists in the image and is not a directory`);
  const dir: PlannedEntry = { path: rel, kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: now };
  const req = { sources: [], dest: path, extract: false, keepOwners: false, view, now, keyword: 'COPY' } as CopyRequest;
  const entries = dedupe([...(await parentEntries(req, [dir])), dir]);
  return { entries, summary: `dir:${rel}`, contentHash: '' };
}
