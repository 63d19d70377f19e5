/**
 * Committing a user-namespaced container maps host ids inside xattrs too: POSIX ACL entries
 * and a v3 file capability's root id.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { mapAclXattr, mapCapabilityXattr } from '../../../server/images/idmap.js';

const hostId = 100_000;
const map = (h: number) => (h >= hostId && h < hostId + 65_536 ? h - hostId : undefined);
const fail = (what: string, id: number): never => {
  throw new BerthError('E_IMAGE_LAYER_INVALID', `${what} ${id}`);
};

function acl(entries: [number, number, number][]): Buffer {
  const b = Buffer.alloc(4 + 8 * entries.length);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + 8 * i);
    b.writeUInt16LE(perm, 6 + 8 * i);
    b.writeUInt32LE(id, 8 + 8 * i);
  });
  return b;
}

test('ACL user and group entries are mapped; the others keep their undefined id', (t) => {
  const UNDEF = 0xffff_ffff;
  const before = acl([
    [0x01, 7, UNDEF],
    [0x02, 6, hostId + 1000],
    [0x04, 5, UNDEF],
    [0x08, 4, hostId + 33],
    [0x10, 7, UNDEF],
    [0x20, 0, UNDEF],
  ]);
  const after = mapAclXattr(before, { uid: map, gid: map }, fail);
  t.deepEqual(
    after,
    acl([
      [0x01, 7, UNDEF],
      [0x02, 6, 1000],
      [0x04, 5, UNDEF],
      [0x08, 4, 33],
      [0x10, 7, UNDEF],
      [0x20, 0, UNDEF],
    ]),
  );
  t.throws(() => mapAclXattr(acl([[0x02, 6, 5]]), { uid: map, gid: map }, fail), { message: 'ACL user entry 5' });
  t.throws(() => mapAclXattr(Buffer.from([1, 2, 3]), { uid: map, gid: map }, fail), { message: /not a version 2 POSIX ACL/ });
});

test("a v3 capability for the namespace's root becomes v2; another root id is mapped; v2 is kept", (t) => {
  const v3 = Buffer.alloc(24);
  v3.writeUInt32LE(0x0300_0001, 0); // revision 3, effective
  v3.writeUInt32LE(0x400, 4); // CAP_NET_BIND_SERVICE permitted
  v3.writeUInt32LE(hostId, 20);
  const v2 = mapCapabilityXattr(v3, map, fail);
  t.is(v2.length, 20);
  t.is(v2.readUInt32LE(0), 0x0200_0001);
  t.is(v2.readUInt32LE(4), 0x400);
  t.is(mapCapabilityXattr(v2, map, fail), v2);
  v3.writeUInt32LE(hostId + 1000, 20);
  t.is(mapCapabilityXattr(v3, map, fail).readUInt32LE(20), 1000);
  v3.writeUInt32LE(7, 20);
  t.throws(() => mapCapabilityXattr(v3, map, fail), { message: "file capability's root id 7" });
});
