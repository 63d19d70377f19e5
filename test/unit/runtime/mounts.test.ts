/**
 * The paths berth-runtime mounts over, read back from a written bundle: every mount's
 * destination, and the network's /etc files only when the bundle asks for a network.
 */
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../server/core/index.js';
import { defaultSpec, mountDestinations, readBundle, writeBundle } from '../../../server/runtime/index.js';

const standard = ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'];

test("a bundle's mount destinations, plus /etc/hosts, /etc/resolv.conf and /etc/hostname with a network", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mounts-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const spec = defaultSpec({ args: ['true'], network: { name: 'berth0' } });
  spec.mounts?.push({ destination: '/data/cache', type: 'bind', source: dir, options: ['rbind'] });
  await writeBundle(join(dir, 'net'), spec);
  t.deepEqual(mountDestinations(await readBundle(join(dir, 'net'))), [...standard, '/data/cache', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname']);
  await writeBundle(join(dir, 'plain'), defaultSpec({ args: ['true'] }));
  t.deepEqual(mountDestinations(await readBundle(join(dir, 'plain'))), standard, 'no network: the runtime mounts no /etc files');
});

test('a config.json that is not JSON is refused naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mounts-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'config.json'), '{"ociVersion":');
  const e = await t.throwsAsync(readBundle(dir), { instanceOf: BerthError });
  t.is(e?.code, 'E_BERTH_INTERNAL');
  t.true(e?.message.startsWith(`${join(dir, 'config.json')} is not JSON`), e?.message);
});
