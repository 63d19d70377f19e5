/**
 * Berth's default isolation, checked from inside a container running as root with the
 * defaults of `berth-runtime spec`: Docker's capabilities, no_new_privs, Docker's seccomp
 * profile, masked and read-only kernel paths. Each check is a real attempt.
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { containerId, leftovers, makeBundle, useRuntime } from '../../helpers/runtime.js';

interface Report {
  capabilities: Record<string, string>;
  no_new_privs: boolean;
  seccomp: number;
  uid: number;
}

test("root in a default container has Docker's capabilities, no_new_privs and a seccomp filter", async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'report']);
  const id = containerId();
  const r = rt.run(['run', '--bundle', b.dir, id]);
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.is(report.uid, 0);
  for (const set of ['CapEff', 'CapPrm', 'CapBnd']) t.is(report.capabilities[set], '00000000a80425fb', set);
  t.is(report.capabilities.CapInh, '0000000000000000');
  t.is(report.capabilities.CapAmb, '0000000000000000');
  t.true(report.no_new_privs);
  t.is(report.seccomp, 2, 'a seccomp filter is loaded');
  t.deepEqual(leftovers(id), []);
});

test('what a default container cannot do, even as root', async (t) => {
  const rt = await useRuntime(t);
  const attempts = [
    ['mount a filesystem', 'mount -t tmpfs none /tmp'],
    ['make new namespaces', 'unshare -m true'],
    ["read the host's memory through /proc/kcore or its keys", 'test -s /proc/keys && cat /proc/keys | grep -q .'],
    ['change a kernel tunable', 'echo 1 > /proc/sys/kernel/sysrq'],
    ['write to /sys', 'echo x > /sys/kernel/uevent_helper'],
    // Opening a device node the container makes itself: attacks.test.ts, with a control.
  ] as const;
  const b = await makeBundle(t, ['/bin/sh', '-c', attempts.map(([, cmd]) => `if ( ${cmd} ) 2>/dev/null; then echo ALLOWED; else echo denied; fi`).join('; ')]);
  const id = containerId();
  const r = rt.run(['run', '--bundle', b.dir, id]);
  t.is(r.status, 0, r.stderr);
  const answers = r.stdout.trim().split('\n');
  t.is(answers.length, attempts.length, r.stdout);
  for (const [i, [what]] of attempts.entries()) t.is(answers[i], 'denied', what);
  t.deepEqual(leftovers(id), []);
});

test("a process exec'd into a container gets the same filter and capabilities; the compiled filter is cached", async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60']);
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const r = rt.run(['exec', id, '/probe', 'report']);
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.is(report.seccomp, 2);
  t.is(report.capabilities.CapEff, '00000000a80425fb');
  t.true(report.no_new_privs);
  const cached = readdirSync(join(rt.root, '.seccomp-cache')).filter((f) => f.endsWith('.bpf'));
  t.is(cached.length, 1, 'one program for the one profile');
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});
