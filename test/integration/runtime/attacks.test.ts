/**
 * The attack suite (issue 5): real attempts from inside containers with Berth's defaults,
 * each failure asserted as the kernel reports it, each paired where it matters with a
 * control that shows the same attempt succeeds without the protection (so the test can fail).
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, copyFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp-dir.js';
import { containerId, leftovers, makeBundle, useRuntime, type OciConfig, type Runtime } from '../../helpers/runtime.js';

interface Stats {
  memory: { usage: number | null; limit: number | null };
  cpu: { usageNanoseconds: number | null };
  pids: { current: number | null; limit: number | null };
  oomKills: number | null;
}

function resources(c: OciConfig): Record<string, unknown> {
  const linux = c.linux as { resources?: Record<string, unknown> };
  linux.resources ??= {};
  return linux.resources;
}

/** Run `script` under /bin/sh in a default container; stdout and stderr together. */
function shell(rt: Runtime, bundleDir: string, id: string): { status: number | null; out: string } {
  const r = rt.run(['run', '--bundle', bundleDir, id]);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function state(rt: Runtime, id: string): { status: string; exitCode?: number; oomKilled?: boolean } {
  const r = rt.run(['state', id]);
  if (r.status !== 0) throw new Error(`state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: string; exitCode?: number; oomKilled?: boolean };
}

async function waitStopped(rt: Runtime, id: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (state(rt, id).status !== 'stopped') {
    if (Date.now() > end) throw new Error(`${id} still running after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stats(rt: Runtime, id: string): Stats {
  const r = rt.run(['stats', id]);
  if (r.status !== 0) throw new Error(`stats ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Stats;
}

test("no host process is visible: ps and /proc show the container's own, ptrace cannot name a host pid", async (t) => {
  const rt = await useRuntime(t);
  const hostPid = process.pid;
  const b = await makeBundle(t, [
    '/bin/sh',
    '-c',
    `ps -o pid,args; echo "procs: $(ls -d /proc/[0-9]* | wc -l)"; echo "host pid: $(test -e /proc/${hostPid} && echo visible || echo absent)"; /probe ptrace ${hostPid}`,
  ]);
  const id = containerId();
  const { status, out } = shell(rt, b.dir, id);
  t.is(status, 0, out);
  t.regex(out, /^\s*1 \/bin\/sh -c/m, "pid 1 is the container's program");
  const procs = Number(/procs: (\d+)/.exec(out)?.[1]);
  t.true(procs >= 1 && procs <= 4, `only the container's processes in /proc: ${out}`);
  if (hostPid > 10) t.regex(out, /host pid: absent/);
  t.regex(out, /"ptrace":"No such process"/);
  t.deepEqual(leftovers(id), []);
});

test('reboot, module loading, hostname and clock changes are refused with EPERM; the host is unchanged', async (t) => {
  const rt = await useRuntime(t);
  const before = hostname();
  const attempts = ['reboot -f', 'insmod /bin/busybox', 'hostname evil.example', 'date -s 2001-01-01', 'nsenter -t 1 -m true'];
  const b = await makeBundle(t, ['/bin/sh', '-c', attempts.map((a) => `echo "== ${a}"; ${a} 2>&1; echo "rc=$?"`).join('; ')]);
  const id = containerId();
  const { status, out } = shell(rt, b.dir, id);
  t.is(status, 0, out);
  const sections = out.split('== ').slice(1);
  t.is(sections.length, attempts.length, out);
  for (const [i, what] of attempts.entries()) {
    const s = sections[i] ?? '';
    // busybox date reports the failure but exits 0: its message is what counts.
    if (!what.startsWith('date')) t.notRegex(s, /rc=0/, `${what} succeeded: ${s}`);
    if (what !== 'nsenter -t 1 -m true') t.regex(s, /Operation not permitted|not permitted/i, `${what}: ${s}`);
  }
  t.is(hostname(), before);
  t.true(new Date().getFullYear() >= 2026, 'the host clock was not set back');
  t.deepEqual(leftovers(id), []);
});

test('a raw block device the container makes cannot be opened: the device cgroup (v1 list and v2 program) refuses it', async (t) => {
  const rt = await useRuntime(t);
  // /dev/loop0 (b 7:0) opens for the host's root with no capability beyond root's; the
  // control container, whose rules allow it, shows the attempt works when permitted.
  execFileSync('dd', ['if=/dev/loop0', 'of=/dev/null', 'bs=512', 'count=1'], { stdio: 'ignore' });
  const script = 'mknod /dev/b b 7 0 && dd if=/dev/b of=/dev/null bs=512 count=1 2>&1; echo "rc=$?"';
  const denied = await makeBundle(t, ['/bin/sh', '-c', script]);
  const allowed = await makeBundle(t, ['/bin/sh', '-c', script], (c) => {
    (resources(c).devices as unknown[]).push({ allow: true, type: 'b', major: 7, minor: 0, access: 'r' });
  });
  const a = shell(rt, denied.dir, containerId());
  t.regex(a.out, /can't open '\/dev\/b': Operation not permitted/, a.out);
  t.regex(a.out, /rc=1/);
  const b = shell(rt, allowed.dir, containerId());
  t.regex(b.out, /rc=0/, `the control container could not read /dev/loop0: ${b.out}`);
});

test('a fork bomb stops at the pids limit and the host stays responsive', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'forkbomb', '1000', '60'], (c) => {
    resources(c).pids = { limit: 40 };
  });
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  let s = stats(rt, id);
  const end = Date.now() + 10_000;
  while (s.pids.current !== null && s.pids.current < 40 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    s = stats(rt, id);
  }
  t.is(s.pids.limit, 40);
  t.is(s.pids.current, 40, 'the bomb filled its limit and no more');
  const log = readFileSync(join(rt.root, id, 'container.log'), 'utf8');
  t.regex(log, /\\"forked\\":39,\\"error\\":\\"Resource temporarily unavailable\\"/, log);
  const started = Date.now();
  const r = spawnSync('/bin/true');
  t.is(r.status, 0);
  t.true(Date.now() - started < 2000, 'the host can still start processes');
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('a memory hog is killed at its limit, and state and stats say OOMKilled', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'memhog', '512'], (c) => {
    resources(c).memory = { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 };
  });
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await waitStopped(rt, id, 20_000);
  const st = state(rt, id);
  t.is(st.exitCode, 137, 'killed by SIGKILL');
  t.true(st.oomKilled);
  const s = stats(rt, id);
  t.is(s.memory.limit, 32 * 1024 * 1024);
  t.true((s.oomKills ?? 0) >= 1);
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('a container under the limit is not reported OOMKilled', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'memhog', '8'], (c) => {
    resources(c).memory = { limit: 64 * 1024 * 1024 };
  });
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await waitStopped(rt, id, 20_000);
  const st = state(rt, id);
  t.is(st.exitCode, 0);
  t.false(st.oomKilled);
  t.is(rt.run(['delete', id]).status, 0);
});

test('a CPU hog gets its quota and no more', async (t) => {
  const rt = await useRuntime(t);
  const seconds = 2;
  const b = await makeBundle(t, ['/probe', 'spin', String(seconds)], (c) => {
    resources(c).cpu = { quota: 25_000, period: 100_000 };
  });
  const id = containerId();
  const started = Date.now();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await waitStopped(rt, id, 20_000);
  const wall = (Date.now() - started) / 1000;
  const cpu = (stats(rt, id).cpu.usageNanoseconds ?? 0) / 1e9;
  t.log(`CPU ${cpu.toFixed(3)} s in ${wall.toFixed(2)} s wall at a quota of 0.25 CPU`);
  t.true(wall >= seconds);
  // 0.25 of the 2 s it ran, with a period (0.1 s) of tolerance each way.
  t.true(cpu <= 0.25 * wall + 0.1, `used ${cpu} s of CPU, more than its quota allows`);
  t.true(cpu >= 0.25 * seconds - 0.15, `used ${cpu} s of CPU: the hog did not get its share`);
  t.is(rt.run(['delete', id]).status, 0);
});

test("a setuid-root binary does not raise a user's privileges under no_new_privs (and does without it)", async (t) => {
  const rt = await useRuntime(t);
  const run = async (nnp: boolean): Promise<{ euid: number; capabilities: Record<string, string> }> => {
    const b = await makeBundle(t, ['/suid-probe', 'report'], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.noNewPrivileges = nnp;
      // Loading a seccomp filter needs no_new_privs (or CAP_SYS_ADMIN) as uid 1000.
      if (!nnp) delete c.linux.seccomp;
    });
    await copyFile(join(b.rootfs, 'probe'), join(b.rootfs, 'suid-probe'));
    await chown(join(b.rootfs, 'suid-probe'), 0, 0);
    await chmod(join(b.rootfs, 'suid-probe'), 0o4755);
    const r = rt.run(['run', '--bundle', b.dir, containerId()]);
    t.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { euid: number; capabilities: Record<string, string> };
  };
  const guarded = await run(true);
  t.is(guarded.euid, 1000);
  t.is(guarded.capabilities.CapEff, '0000000000000000');
  const open = await run(false);
  t.is(open.euid, 0, 'the control: without no_new_privs the setuid bit works');
  t.not(open.capabilities.CapEff, '0000000000000000');
});

test('root in a user-namespaced container is an unprivileged host uid: a host root file stays unreadable through a bind mount', async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-userns-');
  const secret = join(dir, 'secret');
  await writeFile(secret, 'host secret\n', { mode: 0o600 });
  const script = 'id -u; cat /proc/self/uid_map; cat /secret 2>&1; echo "cat=$?"; touch /made-here; ls -ln /made-here /probe';
  const bind = { destination: '/secret', type: 'bind', source: secret, options: ['bind', 'ro'] };
  const mapped = await makeBundle(t, ['/bin/sh', '-c', script], (c) => {
    c.mounts.push(bind);
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 300_000, size: 65_536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 300_000, size: 65_536 }];
  });
  const id = containerId();
  const r = shell(rt, mapped.dir, id);
  t.is(r.status, 0, r.out);
  t.regex(r.out, /^0$/m, 'root inside');
  t.regex(r.out, /^\s*0\s+300000\s+65536$/m);
  t.regex(r.out, /Permission denied/);
  t.regex(r.out, /cat=1/);
  t.notRegex(r.out, /host secret/);
  t.regex(r.out, /\s0\s+0\s.*\/probe/, "the image's root-owned files are root's inside (idmapped)");
  t.regex(r.out, /\s0\s+0\s.*\/made-here/);
  // The control: the same bind in a container without a user namespace is readable.
  const plain = await makeBundle(t, ['/bin/sh', '-c', 'cat /secret'], (c) => c.mounts.push(bind));
  const p = shell(rt, plain.dir, containerId());
  t.regex(p.out, /host secret/);
  t.deepEqual(leftovers(id), []);
});

test('a limit the kernel refuses fails create naming the setting, and leaves no cgroup, mount or process', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60'], (c) => {
    resources(c).cpu = { cpus: '63' }; // a CPU this 2-core machine does not have
  });
  const id = containerId();
  const r = rt.run(['create', '--bundle', b.dir, id]);
  t.is(r.status, 1);
  t.regex(
    r.stderr,
    /set linux\.resources\.cpu\.cpus to 63: write \/sys\/fs\/cgroup\/[^ ]*cpuset[^ ]*\/cpuset\.cpus: (Invalid argument|Numerical result out of range)/,
  );
  t.deepEqual(leftovers(id), []);
  t.is(rt.run(['state', id]).status, 1, 'no container was recorded');
});

test('a second container cannot join a cgroup another container holds (it would reach the first through ps, limits and delete)', async (t) => {
  const rt = await useRuntime(t);
  const path = `/berth-shared-${containerId()}`;
  const first = await makeBundle(t, ['/probe', 'sleep', '60'], (c) => {
    c.linux.cgroupsPath = path;
  });
  const a = containerId();
  t.is(rt.run(['run', '-d', '--bundle', first.dir, a]).status, 0);
  const b = containerId();
  const r = rt.run(['create', '--bundle', first.dir, b]);
  t.is(r.status, 1);
  t.regex(
    r.stderr,
    /cgroup \/berth-shared-\S+ already holds 1 process \(pid \d+, in \/sys\/fs\/cgroup\/\S+\): another container uses it; give this one a linux\.cgroupsPath of its own/,
  );
  t.is(state(rt, a).status, 'running', 'the first container is untouched');
  t.deepEqual(leftovers(b), []);
  t.is(rt.run(['delete', '--force', a]).status, 0);
  t.deepEqual(leftovers(a), []);
});
