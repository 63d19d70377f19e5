/**
 * Commit: a container's writable layer (its overlay upper directory) becomes a new OCI
 * layer on top of the container's image, with the image's config changed as asked (cmd,
 * entrypoint, env, working dir, user, exposed ports, labels) and a history entry.
 *
 * The upper directory is read as overlayfs wrote it and turned into OCI's form: a 0:0
 * character device (a deletion) becomes a `.wh.<name>` file; a directory with
 * `trusted.overlay.opaque=y` (removed and made again) gets a `.wh..wh..opq` entry. Hard links
 * within the layer stay hard links; modes, numeric owners, times, symlink targets, FIFOs and
 * devices are kept; xattrs too, except overlayfs' own. An upper directory overlayfs marked
 * with a redirect (a renamed directory) or a metacopy (metadata-only copy-up) is refused: its
 * content is not all there. xattrs are read by berth-fsutil (xattr-reader.ts), which Node cannot do.
 *
 * A user-namespaced container's upper directory holds HOST ids (overlayfs cannot idmap its
 * upper layer; docs/isolation.md): given the container's id map, every owner (and the ids
 * inside POSIX ACLs and a v3 file capability's root id) is mapped back to the container's
 * ids. An id outside the map is refused, naming the file: it was not written by the
 * container, and writing it as is would give the image a host id.
 *
 * Given the container's mount destinations, the mount points its runtime made in the upper
 * directory (empty /etc/hosts on an image without one, /proc on a scratch image) are left
 * out, as Docker leaves them out (mount-points.ts).
 */
import './tar-compat.js';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { BerthError, mergeEnv } from '../core/index.js';
import { assembleHistoryImage, writeLayerStream } from './build.js';
import { mapIds, type IdMap } from './idmap.js';
import { runtimeMountPoints } from './mount-points.js';
import type { Compression, ContainerConfig, Descriptor } from './schemas.js';
import type { Image, ImageStore, Lease } from './store.js';
import { packEntry, xattrPaxValue } from './tar-compat.js';
import { readXattrs } from './xattr-reader.js';

export interface ConfigChanges {
  Cmd?: string[];
  Entrypoint?: string[];
  /** `KEY=VALUE` entries: a key already in the image is replaced, others are added. */
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  /** `8080/tcp`, `53/udp`. */
  ExposedPorts?: string[];
  /** Added to (or replacing) the image's labels. */
  Labels?: Record<string, string>;
}

export interface CommitOptions {
  /** The image the container runs (a reference or a manifest digest). */
  image: string;
  /** The container's overlay upper directory. */
  upper: string;
  tag?: string;
  changes?: ConfigChanges;
  /** The history entry's `created_by` and `comment`. */
  createdBy?: string;
  comment?: string;
  author?: string;
  /** @defaultValue 'gzip' */
  compression?: Compression;
  fsutil: string;
  /**
   * The container's user namespace, when it has one: the upper directory's host ids are
   * written to the layer as the container's ids. @defaultValue no user namespace (ids as they are)
   */
  idMap?: IdMap;
  /**
   * The container paths its runtime mounted over (runtime's `mountDestinations` of its
   * bundle): what the runtime made there only to mount on, still empty, is left out of the
   * layer, as Docker leaves its mount points out (mount-points.ts).
   * @defaultValue none (every entry of the upper directory is kept)
   */
  mountPoints?: readonly string[];
}

interface Node {
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'fifo' | 'char' | 'block' | 'whiteout';
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  size: number;
  dev: number;
  ino: number;
  rdev: number;
  nlink: number;
}

async function walk(root: string): Promise<Node[]> {
  const out: Node[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? root : join(root, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path), { bigint: false });
      const kind: Node['kind'] = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isSymbolicLink()
            ? 'symlink'
            : st.isFIFO()
              ? 'fifo'
              : st.isCharacterDevice()
                ? st.rdev === 0
                  ? 'whiteout'
                  : 'char'
                : st.isBlockDevice()
                  ? 'block'
                  : 'file';
      if (!st.isDirectory() && !st.isFile() && !st.isSymbolicLink() && !st.isFIFO() && !st.isCharacterDevice() && !st.isBlockDevice()) {
        throw new BerthError('E_IMAGE_LAYER_INVALID', `cannot commit ${path}: a socket is not something a layer can carry`);
      }
      out.push({
        path,
        kind,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: st.mtime,
        size: st.size,
        dev: st.dev,
        ino: st.ino,
        rdev: st.rdev,
        nlink: st.nlink,
      });
      if (kind === 'dir') await visit(path);
    }
  };
  await visit('');
  return out;
}

/** What diffLayer needs besides the upper directory. */
export interface DiffOptions {
  fsutil: string;
  /** @defaultValue no user namespace (ids as they are) */
  idMap?: IdMap;
  /** The mount points to leave out: the container's mount destinations and its image's unpacked layers (top first). @defaultValue none */
  mountPoints?: { destinations: readonly string[]; lowers: readonly string[] };
}

/**
 * The OCI layer (an uncompressed tar stream) for an overlay upper directory. The stream
 * errors when the directory holds what a layer cannot express.
 */
export async function diffLayer(upper: string, options: DiffOptions): Promise<Readable> {
  const { nodes, xattrs } = await diffEntries(upper, options);
  return packLayer(upper, nodes, xattrs);
}

/** What goes into the layer of an upper directory: its entries (mount points left out, ids mapped) and their xattrs. */
async function diffEntries(upper: string, options: DiffOptions): Promise<{ nodes: Node[]; xattrs: Map<string, Map<string, Buffer>> }> {
  const { fsutil, idMap } = options;
  const walked = await walk(upper);
  const xattrs = await readXattrs(fsutil, upper, ['.', ...walked.filter((n) => n.kind !== 'whiteout').map((n) => n.path)]);
  for (const [path, attrs] of xattrs) {
    for (const name of ['trusted.overlay.redirect', 'trusted.overlay.metacopy', 'user.overlay.redirect', 'user.overlay.metacopy']) {
      if (attrs.has(name)) {
        throw new BerthError(
          'E_IMAGE_LAYER_INVALID',
          `cannot commit ${path === '.' ? upper : path}: overlayfs marked it with ${name} (a renamed directory or a metadata-only copy), so its content is not all in the writable layer`,
        );
      }
    }
  }
  if (idMap !== undefined) mapIds(upper, walked, xattrs, idMap);
  const omit =
    options.mountPoints === undefined ? new Set<string>() : await runtimeMountPoints({ upper, entries: walked, xattrs, fsutil, ...options.mountPoints });
  return { nodes: walked.filter((n) => !omit.has(n.path)), xattrs };
}

function packLayer(upper: string, nodes: Node[], xattrs: Map<string, Map<string, Buffer>>): Readable {
  const p = pack();
  void (async () => {
    try {
      const links = new Map<string, string>();
      for (const n of nodes) {
        const slash = n.path.lastIndexOf('/');
        const dir = slash < 0 ? '' : n.path.slice(0, slash + 1);
        const base = n.path.slice(slash + 1);
        if (n.kind === 'whiteout') {
          await packEntry(p, { name: `${dir}.wh.${base}`, type: 'file', mode: 0o644, mtime: n.mtime, uid: 0, gid: 0 }, Buffer.alloc(0));
          continue;
        }
        const attrs = xattrs.get(n.path) ?? new Map<string, Buffer>();
        const pax: Record<string, string> = {};
        for (const [name, value] of attrs) {
          if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue;
          pax[`SCHILY.xattr.${name}`] = xattrPaxValue(value);
        }
        const common = { mode: n.mode, uid: n.uid, gid: n.gid, mtime: n.mtime, ...(Object.keys(pax).length > 0 ? { pax } : {}) };
        switch (n.kind) {
          case 'dir':
            await packEntry(p, { name: `${n.path}/`, type: 'directory', ...common });
            if (attrs.get('trusted.overlay.opaque')?.toString() === 'y' || attrs.get('user.overlay.opaque')?.toString() === 'y') {
              await packEntry(p, { name: `${n.path}/.wh..wh..opq`, type: 'file', mode: 0o644, mtime: n.mtime, uid: 0, gid: 0 }, Buffer.alloc(0));
            }
            break;
          case 'file': {
            const key = `${n.dev}:${n.ino}`;
            const first = n.nlink > 1 ? links.get(key) : undefined;
            if (first !== undefined) {
              await packEntry(p, { name: n.path, type: 'link', linkname: first, ...common });
              break;
            }
            if (n.nlink > 1) links.set(key, n.path);
            await packEntry(p, { name: n.path, type: 'file', size: n.size, ...common }, createReadStream(join(upper, n.path)));
            break;
          }
          case 'symlink':
            await packEntry(p, { name: n.path, type: 'symlink', linkname: await readlink(join(upper, n.path)), ...common });
            break;
          case 'fifo':
            await packEntry(p, { name: n.path, type: 'fifo', ...common });
            break;
          case 'char':
          case 'block':
            await packEntry(p, {
              name: n.path,
              type: n.kind === 'char' ? 'character-device' : 'block-device',
              devmajor: Math.floor(n.rdev / 256) & 0xfff,
              devminor: (n.rdev & 0xff) | ((n.rdev >> 12) & 0xfff00),
              ...common,
            });
            break;
        }
      }
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
    }
  })();
  return p as unknown as Readable;
}

function applyChanges(config: ContainerConfig, changes: ConfigChanges): ContainerConfig {
  const out: ContainerConfig = { ...config };
  if (changes.Cmd) out.Cmd = [...changes.Cmd];
  if (changes.Entrypoint) out.Entrypoint = [...changes.Entrypoint];
  if (changes.Env) out.Env = mergeEnv(config.Env ?? [], changes.Env);
  if (changes.WorkingDir !== undefined) out.WorkingDir = changes.WorkingDir;
  if (changes.User !== undefined) out.User = changes.User;
  if (changes.ExposedPorts) {
    const ports = { ...(config.ExposedPorts ?? {}) };
    for (const port of changes.ExposedPorts) {
      if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(port) || Number(port.split('/')[0]) > 65535) {
        throw new BerthError('E_CONTAINER_INVALID', `exposed port ${JSON.stringify(port)} is not PORT[/tcp|udp|sctp]`);
      }
      ports[port.includes('/') ? port : `${port}/tcp`] = {};
    }
    out.ExposedPorts = ports;
  }
  if (changes.Labels) out.Labels = { ...(config.Labels ?? {}), ...changes.Labels };
  return out;
}

/** What commitLayer needs: the commit's options less those of the new image's config and history. */
export type LayerCommitOptions = Pick<CommitOptions, 'image' | 'upper' | 'compression' | 'fsutil' | 'idMap' | 'mountPoints'>;

/**
 * Only the layer of a commit: the upper directory of a container running `options.image`,
 * stored as a layer blob held by `lease` (a build makes its step's image itself). Undefined
 * when there is nothing to store: the upper directory holds no entry (once the runtime's
 * mount points are left out), so its layer would be the empty tar. Docker's commit adds no
 * layer then (moby's `layer.IsEmpty` of the diff id: a history entry with `empty_layer`).
 */
export async function commitLayer(
  store: ImageStore,
  options: LayerCommitOptions,
  lease: Lease,
): Promise<{ descriptor: Descriptor; diffId: string } | undefined> {
  const base = await store.resolve(options.image);
  lease.add(base.digest);
  return storeDiff(store, base, options, lease, false);
}

/** The diff of `options.upper` over `base` as a layer blob; an empty one only with `keepEmpty`. */
async function storeDiff(
  store: ImageStore,
  base: Image,
  options: LayerCommitOptions,
  lease: Lease,
  keepEmpty: boolean,
): Promise<{ descriptor: Descriptor; diffId: string } | undefined> {
  const mountPoints = options.mountPoints?.length ? { destinations: options.mountPoints, lowers: await store.unpackImage(base) } : undefined;
  const { nodes, xattrs } = await diffEntries(options.upper, { fsutil: options.fsutil, idMap: options.idMap, mountPoints });
  if (nodes.length === 0 && !keepEmpty) return undefined;
  return writeLayerStream(store, packLayer(options.upper, nodes, xattrs), options.compression ?? 'gzip', lease);
}

/** Commit the upper directory of a container running `options.image` as a new image (with a layer, even an empty one). */
export async function commitContainer(store: ImageStore, options: CommitOptions): Promise<Image> {
  const base = await store.resolve(options.image);
  const lease = store.lease([base.digest, base.configDigest, ...base.manifest.layers.map((l) => l.digest)]);
  try {
    const layer = (await storeDiff(store, base, options, lease, true)) as { descriptor: Descriptor; diffId: string };
    return await assembleHistoryImage(
      store,
      {
        base,
        layer,
        config: applyChanges(base.config.config ?? {}, options.changes ?? {}),
        history: {
          created_by: options.createdBy ?? 'berth commit',
          ...(options.comment === undefined ? {} : { comment: options.comment }),
          ...(options.author === undefined ? {} : { author: options.author }),
        },
        ...(options.author === undefined ? {} : { author: options.author }),
        tags: options.tag === undefined ? [] : [options.tag],
      },
      lease,
    );
  } finally {
    lease.release();
  }
}
