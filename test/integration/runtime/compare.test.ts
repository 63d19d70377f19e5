/**
 * The same bundle under berth-runtime, crun and runc (the references): the probe inside
 * must see the same container.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync, statSync } from 'node:fs';
import { containerId, leftovers, makeBundle, useRuntime, type Runtime } from '../../helpers/runtime.js';

interface Report {
  hostname: string;
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
  env: string[];
  mounts: { mount_point?: string; mountPoint?: string; fstype?: string; fs_type?: string; type?: string }[];
  namespaces: Record<string, number>;
}

const hostNs = (name: string): number => statSync(`/proc/self/ns/${name}`).ino;

function mountSet(r: Report): string[] {
  const wanted = ['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys'];
  return r.mounts
    .map((m) => [m.mount_point ?? m.mountPoint ?? '', m.fstype ?? m.fs_type ?? m.type ?? ''] as const)
    .filter(([point]) => wanted.includes(point))
    .map(([point, type]) => `${point} ${point === '/' ? '(root)' : type}`)
    .sort();
}

async function probe(t: ExecutionContext, rt: Runtime): Promise<Report> {
  const b = await makeBundle(t, ['/probe', 'report'], (c) => {
    c.hostname = 'compare';
    c.process.env = ['PATH=/bin', 'HELLO=world'];
    c.process.cwd = '/tmp';
    c.ociVersion = '1.0.2'; // crun 1.8.1 knows the spec up to 1.1
  });
  const id = containerId();
  const r = rt.run(['run', '--bundle', b.dir, id]);
  t.is(r.status, 0, `${rt.name}: ${r.stderr}`);
  t.deepEqual(leftovers(id), [], rt.name);
  return JSON.parse(r.stdout) as Report;
}

test('berth-runtime, crun and runc give the probe the same view', async (t) => {
  const reports = new Map<string, Report>();
  for (const name of ['berth-runtime', 'crun', 'runc'] as const) reports.set(name, await probe(t, await useRuntime(t, name)));
  const berth = reports.get('berth-runtime')!;
  for (const [name, r] of reports) {
    t.is(r.hostname, 'compare', name);
    t.is(r.pid, 1, `${name}: the program is PID 1 of its pid namespace`);
    t.is(r.uid, 0, name);
    t.is(r.cwd, '/tmp', name);
    t.true(r.env.includes('HELLO=world'), name);
    for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net']) t.not(r.namespaces[ns], hostNs(ns), `${name}: own ${ns} namespace`);
  }
  for (const name of ['crun', 'runc']) {
    t.deepEqual(mountSet(berth), mountSet(reports.get(name)!), `the same mounts as ${name}`);
    t.deepEqual(berth.env.sort(), reports.get(name)!.env.sort(), `the same environment as ${name}`);
  }
  t.not(berth.namespaces.cgroup, hostNs('cgroup'), 'berth-runtime: own cgroup namespace');
  t.true(readFileSync('/proc/self/mountinfo', 'utf8').length > 0);
});
