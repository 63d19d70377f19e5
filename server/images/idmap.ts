/**
 * A user-namespaced container's ids (docs/images.md, "Commit"): its upper directory holds
 * HOST ids (overlayfs cannot idmap its upper layer; docs/isolation.md), mapped back here to
 * the container's ids, owners and the ids inside POSIX ACLs and a v3 file capability's root
 * id alike. An id outside the map is refused, naming the file.
 */
import { join } from 'node:path';
import { BerthError } from '../core/index.js';

/** One runtime-spec id mapping: container ids containerID.. are host ids hostID.. (size of them). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/**
 * A user-namespaced container's ids: the shape of `defaultSpec({ userns })` (container 0 is
 * host `hostId`, for `size` ids, uids and gids alike), or the spec's own mapping lists.
 */
export type IdMap = { hostId: number; size: number } | { uidMappings: readonly IdMapping[]; gidMappings: readonly IdMapping[] };

/** An entry of the upper directory whose owner mapIds rewrites. */
export interface OwnedEntry {
  path: string;
  kind: string;
  uid: number;
  gid: number;
}

/** Host id → container id, or undefined when the map does not cover it. */
type IdMapper = (hostId: number) => number | undefined;

function mapperOf(list: readonly IdMapping[], which: string): IdMapper {
  for (const m of list) {
    for (const v of [m.containerID, m.hostID, m.size]) {
      if (!Number.isSafeInteger(v) || v < 0 || v > 0xffff_ffff) {
        throw new BerthError('E_IMAGE_LAYER_INVALID', `the ${which} mapping ${JSON.stringify(m)} is not three whole numbers below 2^32`);
      }
    }
    if (m.size < 1) throw new BerthError('E_IMAGE_LAYER_INVALID', `the ${which} mapping ${JSON.stringify(m)} maps no id`);
  }
  return (h) => {
    const m = list.find((x) => h >= x.hostID && h < x.hostID + x.size);
    return m === undefined ? undefined : m.containerID + (h - m.hostID);
  };
}

function describeMap(list: readonly IdMapping[]): string {
  return list.map((m) => `host ${m.hostID}-${m.hostID + m.size - 1} as ${m.containerID}-${m.containerID + m.size - 1}`).join(', ');
}

interface Mappers {
  uid: IdMapper;
  gid: IdMapper;
  uids: readonly IdMapping[];
  gids: readonly IdMapping[];
}

function mappersOf(idMap: IdMap): Mappers {
  const uids = 'hostId' in idMap ? [{ containerID: 0, hostID: idMap.hostId, size: idMap.size }] : idMap.uidMappings;
  const gids = 'hostId' in idMap ? [{ containerID: 0, hostID: idMap.hostId, size: idMap.size }] : idMap.gidMappings;
  if (uids.length === 0 || gids.length === 0) throw new BerthError('E_IMAGE_LAYER_INVALID', 'a user namespace map needs at least one uid and one gid mapping');
  return { uid: mapperOf(uids, 'uid'), gid: mapperOf(gids, 'gid'), uids, gids };
}

function outsideMap(upper: string, path: string, what: string, id: number, list: readonly IdMapping[]): BerthError {
  return new BerthError(
    'E_IMAGE_LAYER_INVALID',
    `cannot commit ${path}: its ${what} is host id ${id}, outside the container's user namespace (${describeMap(list)}), so the container did not write it that way`,
    { hint: `Something outside the container changed ${join(upper, path)}; fix its owner (or remove it) and commit again.`, details: { path, id } },
  );
}

const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

/** A POSIX ACL xattr (version 2: 4-byte header, then 8-byte entries tag/perm/id) with its ids mapped. */
export function mapAclXattr(value: Buffer, map: { uid: IdMapper; gid: IdMapper }, onOutside: (what: string, id: number) => never): Buffer {
  if (value.length < 4 || (value.length - 4) % 8 !== 0 || value.readUInt32LE(0) !== 2) return onOutside('ACL (not a version 2 POSIX ACL)', -1);
  const out = Buffer.from(value);
  for (let o = 4; o < out.length; o += 8) {
    const tag = out.readUInt16LE(o);
    if (tag !== ACL_USER && tag !== ACL_GROUP) continue;
    const id = out.readUInt32LE(o + 4);
    const mapped = (tag === ACL_USER ? map.uid : map.gid)(id);
    if (mapped === undefined) onOutside(`ACL ${tag === ACL_USER ? 'user' : 'group'} entry`, id);
    out.writeUInt32LE(mapped as number, o + 4);
  }
  return out;
}

/**
 * security.capability with its root id mapped: a v3 capability (24 bytes, for the root of
 * one user namespace) whose root id maps to 0 becomes a v2 one (20 bytes), as the container
 * set it; v2 is kept.
 */
export function mapCapabilityXattr(value: Buffer, uid: IdMapper, onOutside: (what: string, id: number) => never): Buffer {
  const revision = value.length >= 4 ? value.readUInt32LE(0) & 0xff00_0000 : 0;
  if (revision === 0x0200_0000 && value.length === 20) return value;
  if (revision !== 0x0300_0000 || value.length !== 24) return onOutside('file capability (not a v2 or v3 capability)', -1);
  const root = value.readUInt32LE(20);
  const mapped = uid(root);
  if (mapped === undefined) return onOutside("file capability's root id", root);
  if (mapped !== 0) {
    const out = Buffer.from(value);
    out.writeUInt32LE(mapped, 20);
    return out;
  }
  const out = Buffer.from(value.subarray(0, 20));
  out.writeUInt32LE((value.readUInt32LE(0) & 0x00ff_ffff) | 0x0200_0000, 0);
  return out;
}

/** The nodes' owners and xattrs with host ids turned into the container's; an id outside the map is refused. */
export function mapIds(upper: string, nodes: OwnedEntry[], xattrs: Map<string, Map<string, Buffer>>, idMap: IdMap): void {
  const m = mappersOf(idMap);
  for (const n of nodes) {
    if (n.kind === 'whiteout') continue; // made by overlayfs itself; written as 0:0 in any case
    const uid = m.uid(n.uid);
    if (uid === undefined) throw outsideMap(upper, n.path, 'owner', n.uid, m.uids);
    const gid = m.gid(n.gid);
    if (gid === undefined) throw outsideMap(upper, n.path, 'group', n.gid, m.gids);
    n.uid = uid;
    n.gid = gid;
    const attrs = xattrs.get(n.path);
    if (attrs === undefined) continue;
    for (const [name, value] of attrs) {
      const onOutside = (what: string, id: number): never => {
        if (id < 0)
          throw new BerthError('E_IMAGE_LAYER_INVALID', `cannot commit ${n.path}: its ${name} xattr is not a ${what.replace(/^.*\(not a (.*)\)$/, '$1')}`);
        throw outsideMap(upper, n.path, `${name} ${what}`, id, what.includes('group') ? m.gids : m.uids);
      };
      if (name === 'system.posix_acl_access' || name === 'system.posix_acl_default') attrs.set(name, mapAclXattr(value, m, onOutside));
      else if (name === 'security.capability') attrs.set(name, mapCapabilityXattr(value, m.uid, onOutside));
    }
  }
}
