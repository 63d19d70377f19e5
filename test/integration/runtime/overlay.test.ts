/**
 * Layered, copy-on-write roots: read-only layers plus a writable directory per container,
 * mounted as overlayfs by berth-runtime inside the container's own mount namespace.
 */
import test from 'ava';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp-dir.js';
import { containerId, leftovers, makeBundle, makeRootfs, useRuntime } from '../../helpers/runtime.js';

test('two containers on the same layers each write; neither sees the other; the layers stay as they were', async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-layers-');
  const base = await makeRootfs(join(dir, 'base'));
  const top = join(dir, 'top');
  await mkdir(join(top, 'etc'), { recursive: true });
  await writeFile(join(top, 'etc', 'greeting'), 'from the top layer\n');
  await writeFile(join(base, 'etc', 'greeting'), 'from the base layer\n');
  const baseBefore = (await readdir(base)).sort();

  const containers = [containerId(), containerId()];
  const writables = containers.map((id) => join(dir, `writable-${id}`));
  for (const [i, id] of containers.entries()) {
    const b = await makeBundle(t, ['/bin/sh', '-c', `cat /etc/greeting; echo ${id} > /mine; ls /`], (c) => {
      c.root = { path: join(dir, `mnt-${id}`), readonly: false };
      c.annotations = { 'berth.rootfs.lower': `${top}:${base}`, 'berth.rootfs.writable': writables[i]! };
    });
    await mkdir(join(dir, `mnt-${id}`));
    const r = rt.run(['run', '-d', '--bundle', b.dir, id]);
    t.is(r.status, 0, r.stderr);
  }
  for (const [i, id] of containers.entries()) {
    const log = await waitForLog(rt.root, id);
    t.regex(log, /from the top layer/, 'the upper layer shadows the lower one');
    t.notRegex(log, new RegExp(containers[1 - i]!), 'each container sees only its own file');
    t.is((await readFile(join(writables[i]!, 'upper', 'mine'), 'utf8')).trim(), id, 'writes land in the writable layer');
  }
  t.false(existsSync(join(base, 'mine')));
  t.false(existsSync(join(top, 'mine')));
  t.deepEqual((await readdir(base)).sort(), baseBefore, 'the base layer is unchanged');
  t.is(await readFile(join(base, 'etc', 'greeting'), 'utf8'), 'from the base layer\n');

  for (const [i, id] of containers.entries()) {
    t.is(rt.run(['delete', id]).status, 0);
    t.false(existsSync(writables[i]!), 'delete removes the writable layer');
    t.deepEqual(leftovers(id), []);
  }
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  t.false(mounts.includes(dir), 'no overlay mount is left on the host');
});

async function waitForLog(root: string, id: string): Promise<string> {
  const path = join(root, id, 'exit.json');
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  const text = await readFile(join(root, id, 'container.log'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { log: string }).log)
    .join('');
}

test('user-namespaced containers share the same layers through idmapped mounts: root-owned inside, host ids in the writable layer, exec joins the namespace', async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-userns-layers-');
  const base = await makeRootfs(join(dir, 'base'));
  const maps = [
    { id: containerId(), host: 400_000 },
    { id: containerId(), host: 500_000 },
  ];
  for (const { id, host } of maps) {
    const b = await makeBundle(t, ['/probe', 'sleep', '60'], (c) => {
      c.root = { path: join(dir, `mnt-${id}`), readonly: false };
      c.annotations = { 'berth.rootfs.lower': base, 'berth.rootfs.writable': join(dir, `writable-${id}`) };
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: host, size: 65_536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: host, size: 65_536 }];
    });
    await mkdir(join(dir, `mnt-${id}`));
    const r = rt.run(['run', '-d', '--bundle', b.dir, id]);
    t.is(r.status, 0, r.stderr);
  }
  for (const { id, host } of maps) {
    const e = rt.run(['exec', id, '/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; ls -ln /probe; echo hi > /etc/written; ls -ln /etc/written']);
    t.is(e.status, 0, e.stderr);
    t.regex(e.stdout, /^0$/m);
    t.regex(e.stdout, new RegExp(`^\\s*0\\s+${host}\\s+65536$`, 'm'));
    t.regex(e.stdout, /\s0\s+0\s.*\/probe/, "the layer's files are root's inside");
    t.regex(e.stdout, /\s0\s+0\s.*\/etc\/written/);
    const st = statSync(join(dir, `writable-${id}`, 'upper', 'etc', 'written'));
    t.is(st.uid, host, 'the writable layer holds host ids');
  }
  t.is(statSync(join(base, 'probe')).uid, 0, 'the shared layer keeps its own ids');
  t.false(existsSync(join(base, 'etc', 'written')));
  for (const { id } of maps) {
    t.is(rt.run(['delete', '--force', id]).status, 0);
    t.false(existsSync(join(dir, `writable-${id}`)));
    t.deepEqual(leftovers(id), []);
  }
  t.false((await readFile('/proc/self/mountinfo', 'utf8')).includes(dir), 'no mount is left on the host');
});
