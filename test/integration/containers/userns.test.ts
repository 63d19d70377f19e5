/**
 * A container created with a `userns` map (what the release room gives an app's containers):
 * its processes run in a user namespace whose uid_map is that map, root inside is an
 * unprivileged host uid, the image's files keep their owners inside (idmapped layers), exec
 * joins the namespace, and a commit maps the host ids of its writable layer back. Real
 * containers on the real runtime and a bridge of the test's own.
 */
import test from 'ava';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../../server/core/index.js';
import { until, useContainers } from '../../helpers/containers.js';
import { topLayerHeaders } from '../../helpers/tarball.js';

/** A range no other test of this file takes (host ids are host-wide; ranges of 65536 as Podman's). */
const range = (k: number) => ({ hostId: 400_000 + 65_536 * (k + 8 * Math.floor(Math.random() * 16)), size: 65_536 });

test('a container with a userns map runs as that map: uid_map, owners inside, exec, commit', async (t) => {
  const c = await useContainers(t);
  const userns = range(0);
  const made = await c.manager.create({ image: 'busybox', cmd: ['sh', '-c', 'echo hi > /made-here && exec sleep 60'], userns });
  t.deepEqual(made.userns, userns);
  const view = await c.manager.start(made.id);
  t.truthy(view.pid);
  const uidMap = (await readFile(`/proc/${view.pid}/uid_map`, 'utf8')).trim().split(/\s+/).map(Number);
  t.deepEqual(uidMap, [0, userns.hostId, userns.size], 'the container is root of a namespace mapped onto its range');
  t.deepEqual((await readFile(`/proc/${view.pid}/gid_map`, 'utf8')).trim().split(/\s+/).map(Number), [0, userns.hostId, userns.size]);
  t.is((await stat(`/proc/${view.pid}`)).uid, userns.hostId, 'root inside is the range’s first host uid');

  const upper = join(c.home, 'containers', made.id, 'rw', 'upper');
  await until('the container to write its file', async () => (await stat(join(upper, 'made-here')).catch(() => undefined)) !== undefined);
  t.is((await stat(join(upper, 'made-here'))).uid, userns.hostId, 'the writable layer holds host ids');

  const exec = await c.manager.exec(made.id, { cmd: ['sh', '-c', 'id -u; stat -c %u:%g /bin/busybox /made-here'], stdin: false });
  let out = '';
  exec.stdout.on('data', (b: Buffer) => (out += b.toString()));
  t.is((await exec.exit).exitCode, 0);
  t.is(out, '0\n0:0\n0:0\n', 'exec joins the namespace; the image and the new file are root-owned inside');

  const image = await c.manager.commit(made.id, { reference: 'userns-app:v1' });
  const written = (await topLayerHeaders(c.store, image)).find((h) => h.name === 'made-here');
  t.deepEqual([written?.uid, written?.gid], [0, 0], 'commit maps the host ids back');
  await c.manager.remove(made.id, true);
  t.deepEqual(c.leftovers(), []);
});

test('a bad userns map is refused at create, naming it', async (t) => {
  const c = await useContainers(t);
  for (const userns of [
    { hostId: 0, size: 65_536 },
    { hostId: 100_000, size: 0 },
    { hostId: 0xffff_fff0, size: 65_536 },
    { hostId: 1.5, size: 10 },
  ]) {
    const err = await t.throwsAsync(c.manager.create({ image: 'busybox', cmd: ['true'], userns }), { instanceOf: BerthError });
    t.is(err?.code, 'E_CONTAINER_INVALID');
    t.true(err?.message.startsWith(`user namespace map ${JSON.stringify(userns)} is not allowed`), err?.message);
  }
  t.deepEqual(c.manager.list({ all: true }), []);
});
