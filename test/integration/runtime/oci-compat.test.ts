/**
 * berth-runtime as a drop-in OCI runtime (issue 13): bundles made the way a new user makes
 * them, by `crun spec` on a busybox rootfs, each reproduction run under berth-runtime, crun
 * and runc, which must give the same output and exit code. Then what only berth-runtime
 * promises: start reports a failure after setup, an over-mounted cgroup2, and the name of
 * its init.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../helpers/http.js';
import { requireBinary } from '../../helpers/prereq.js';
import { containerId, leftovers, makeRootfs, runtimeBinary, runtimeError, useRuntime, type OciConfig, type Runtime } from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A bundle whose config.json is `crun spec`'s, with `change` applied (terminal off: no console socket here). */
async function crunSpecBundle(t: ExecutionContext, args: string[], change?: (c: OciConfig) => void): Promise<string> {
  const crun = requireBinary('/usr/bin/crun', 'crun');
  const dir = await tempDir(t, 'berth-compat-');
  await makeRootfs(join(dir, 'rootfs'));
  const spec = spawnSync(crun, ['spec'], { cwd: dir, encoding: 'utf8' });
  if (spec.status !== 0) throw new Error(`crun spec failed: ${spec.stderr}`);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as OciConfig;
  config.process.terminal = false;
  config.process.args = args;
  change?.(config);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

interface Outcome {
  status: number | null;
  stdout: string;
}

/** `run` the bundle under one runtime; nothing of the container may be left after. */
function runUnder(t: ExecutionContext, rt: Runtime, bundle: string): Outcome & { stderr: string } {
  const id = containerId();
  const r = rt.run(['run', '--bundle', bundle, id]);
  t.deepEqual(leftovers(id), [], `${rt.name} leaves nothing behind`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The bundle under berth-runtime and each of `others`: the same stdout and exit code as each, and `expected`. */
async function compare(t: ExecutionContext, bundle: string, expected: Outcome, others: readonly Runtime['name'][] = ['crun', 'runc']): Promise<void> {
  for (const name of ['berth-runtime', ...others] as const) {
    const r = runUnder(t, await useRuntime(t, name), bundle);
    t.deepEqual({ status: r.status, stdout: r.stdout }, expected, `${name}: ${r.stderr}`);
  }
}

test('bug 1: a seccomp filter with noNewPrivileges false and no CAP_SYS_ADMIN runs as under crun and runc', async (t) => {
  const bundle = await crunSpecBundle(t, ['sh', '-c', 'echo hello; grep NoNewPrivs /proc/self/status'], (c) => {
    c.process.noNewPrivileges = false;
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['acct'], action: 'SCMP_ACT_ERRNO' }] };
  });
  await compare(t, bundle, { status: 0, stdout: 'hello\nNoNewPrivs:\t0\n' });
});

test('bug 1 and 3: create and start of that bundle succeed and the program runs, with and without the monitor', async (t) => {
  const rt = await useRuntime(t);
  for (const monitor of ['true', 'false']) {
    const bundle = await crunSpecBundle(t, ['sh', '-c', 'echo started > /tmp/out; sleep 30'], (c) => {
      c.process.noNewPrivileges = false;
      c.root.readonly = false;
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['acct'], action: 'SCMP_ACT_ERRNO' }] };
      c.annotations = { 'berth.monitor': monitor };
    });
    const id = containerId();
    // Without the monitor the container keeps create's stdio, as under runc: none is given.
    const run = (args: string[]): number | null => spawnSync(runtimeBinary, ['--root', rt.root, ...args], { stdio: 'ignore', timeout: 30_000 }).status;
    t.is(run(['create', '--bundle', bundle, id]), 0, `create (monitor: ${monitor})`);
    t.is(run(['start', id]), 0, `start (monitor: ${monitor})`);
    const out = join(bundle, 'rootfs', 'tmp', 'out');
    t.is(await waitFor('the program to write', async () => ((await readFile(out, 'utf8')) === 'started\n' ? true : undefined)), true);
    t.is(rt.run(['delete', '--force', id]).status, 0);
    t.deepEqual(leftovers(id), []);
  }
});

test('bug 2: under the deny-all device rule of crun spec, /dev/null works as under crun and runc', async (t) => {
  const bundle = await crunSpecBundle(t, ['sh', '-c', 'echo x > /dev/null && cat /dev/null && echo ok']);
  await compare(t, bundle, { status: 0, stdout: 'ok\n' });
});

test('bug 2: a linux.devices entry is made under a deny-all rule, as under crun and runc, and may be opened', async (t) => {
  const entry = { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 };
  const made = await crunSpecBundle(t, ['busybox', 'stat', '-c', '%F %t:%T %a', '/dev/fuse'], (c) => {
    c.linux.devices = [entry];
  });
  await compare(t, made, { status: 0, stdout: 'character special file a:e5 600\n' });
  // /dev/fuse (c 10:229) is none of the standard devices: only a rule for the entry lets the
  // program open it. berth-runtime adds one, as the issue asks; crun 1.8.1 and runc 1.1.5
  // add none here (the open fails with EPERM under both), so this part is berth-runtime's.
  const opened = await crunSpecBundle(t, ['sh', '-c', ': < /dev/fuse && echo opened'], (c) => {
    c.linux.devices = [entry];
  });
  const r = runUnder(t, await useRuntime(t), opened);
  t.deepEqual({ status: r.status, stdout: r.stdout }, { status: 0, stdout: 'opened\n' }, r.stderr);
});

test('bug 2: rootfsPropagation unbindable with the standard devices, as under crun', async (t) => {
  // runc 1.1.5 fails this bundle on this host (it bind-mounts the root onto itself, which an
  // unbindable tree refuses); crun runs it.
  const bundle = await crunSpecBundle(t, ['sh', '-c', 'echo x > /dev/null && echo ok'], (c) => {
    c.linux.rootfsPropagation = 'unbindable';
  });
  await compare(t, bundle, { status: 0, stdout: 'ok\n' }, ['crun']);
});

test('bug 4: data options on a bind mount are accepted and ignored, as by crun and runc', async (t) => {
  const host = await tempDir(t, 'berth-compat-src-');
  await writeFile(join(host, 'f'), 'from the host\n');
  const bundle = await crunSpecBundle(t, ['sh', '-c', 'cat /mnt/f; touch /mnt/g 2>/dev/null || echo read-only'], (c) => {
    c.mounts.push({ destination: '/mnt', type: 'bind', source: host, options: ['bind', 'ro', 'mode=755'] });
  });
  await compare(t, bundle, { status: 0, stdout: 'from the host\nread-only\n' });
  const rt = await useRuntime(t);
  const r = runUnder(t, rt, bundle);
  t.regex(r.stderr, /options `mode=755` ignored/, 'berth-runtime says so on stderr');
});

test('bug 5: ambient capabilities outside the inheritable set are left out, as by crun and runc', async (t) => {
  const bundle = await crunSpecBundle(t, ['grep', 'Cap', '/proc/self/status']);
  const caps = [
    'CapInh:\t0000000000000000',
    'CapPrm:\t0000000020000420',
    'CapEff:\t0000000020000420',
    'CapBnd:\t0000000020000420',
    'CapAmb:\t0000000000000000',
  ];
  await compare(t, bundle, { status: 0, stdout: caps.join('\n') + '\n' });
  const r = runUnder(t, await useRuntime(t), bundle);
  t.regex(r.stderr, /CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE left out/, 'with a warning on stderr');
});

test('bug 3: start fails, with the reason, when the program cannot be executed; run ends with 126', async (t) => {
  const rt = await useRuntime(t);
  const notAProgram = async (annotations: Record<string, string>): Promise<string> => {
    const b = await crunSpecBundle(t, ['/not-a-program'], (c) => {
      c.annotations = annotations;
    });
    await writeFile(join(b, 'rootfs', 'not-a-program'), '\u0001\u0002 not an executable format\n', { mode: 0o755 });
    return b;
  };
  // crun and runc start this container with status 0 and leave the failure to their logs.
  for (const monitor of ['true', 'false']) {
    for (const init of ['true', 'false']) {
      const id = containerId();
      const bundle = await notAProgram({ 'berth.monitor': monitor, 'berth.init': init });
      // Without the monitor the container keeps create's stdio, as under runc: none is given.
      const created = spawnSync(runtimeBinary, ['--root', rt.root, 'create', '--bundle', bundle, id], { stdio: 'ignore', timeout: 30_000 });
      t.is(created.status, 0);
      const started = rt.run(['start', id]);
      t.is(started.status, 1, `start fails (monitor: ${monitor}, init: ${init})`);
      t.regex(runtimeError(started.stderr)?.msg ?? '', /failed to start: exec \/not-a-program: Exec format error/);
      t.is(rt.run(['delete', '--force', id]).status, 0);
      t.deepEqual(leftovers(id), []);
    }
  }
  const run = runUnder(t, rt, await notAProgram({}));
  t.is(run.status, 126, 'a program that cannot be executed: 126, not 127 (docs/runtime.md)');
});

test("a namespace type left out is the runtime's, as under crun and runc; the mount namespace cannot be left out", async (t) => {
  // crun spec lists no cgroup namespace: the program is in the host's.
  const hostCgroupNs = spawnSync('readlink', ['/proc/self/ns/cgroup'], { encoding: 'utf8' }).stdout;
  const bundle = await crunSpecBundle(t, ['busybox', 'readlink', '/proc/self/ns/cgroup']);
  await compare(t, bundle, { status: 0, stdout: hostCgroupNs });
  const noMount = await crunSpecBundle(t, ['true'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
  });
  const r = runUnder(t, await useRuntime(t), noMount);
  t.is(r.status, 1);
  t.regex(runtimeError(r.stderr)?.msg ?? '', /linux\.namespaces needs a new mount namespace/, "refused: it would rearrange the host's mounts");
});

/** berth-runtime `args` with a tmpfs over the host's cgroup2 in a private mount namespace (how crun runs on hybrid hosts). */
function overMounted(rt: Runtime, args: string[]): SpawnSyncReturns<string> {
  const script = 'mount -t tmpfs none /sys/fs/cgroup/unified && exec "$0" "$@"';
  return spawnSync('unshare', ['-m', 'sh', '-c', script, runtimeBinary, '--root', rt.root, '--log-format=json', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('bug 7: a tmpfs over the cgroup2 mount hides it: berth-runtime uses the v1 hierarchies, as crun does', async (t) => {
  const bundle = await crunSpecBundle(t, ['sh', '-c', 'echo x > /dev/null && cat /sys/fs/cgroup/pids/pids.max'], (c) => {
    c.linux.resources = { ...(c.linux.resources as object), pids: { limit: 42 } };
    c.linux.namespaces.push({ type: 'cgroup' });
  });
  const rt = await useRuntime(t);
  const id = containerId();
  const r = overMounted(rt, ['run', '--bundle', bundle, id]);
  t.deepEqual({ status: r.status, stdout: r.stdout }, { status: 0, stdout: '42\n' }, r.stderr);
  t.deepEqual(leftovers(id), []);
  // crun runs only this way on this host (the helper mounts the same tmpfs for it).
  const crun = runUnder(t, await useRuntime(t, 'crun'), bundle);
  t.deepEqual({ status: crun.status, stdout: crun.stdout }, { status: 0, stdout: '42\n' }, crun.stderr);
});

test('bug 8: the init is PID 1 as berth-init, with nothing of the host in its command line or environment', async (t) => {
  const rt = await useRuntime(t);
  const bundle = await crunSpecBundle(
    t,
    ['sh', '-c', 'cat /proc/1/comm; tr "\\0" "|" < /proc/1/cmdline; echo; tr -d "\\0" < /proc/1/environ | wc -c; ps -o pid,args'],
    (c) => {
      c.annotations = { 'berth.init': 'true' };
    },
  );
  const r = runUnder(t, rt, bundle);
  t.is(r.status, 0, r.stderr);
  const [comm, cmdline, environ, , init] = r.stdout.split('\n');
  t.is(comm, 'berth-init');
  t.is(cmdline, 'berth-init|');
  t.is(environ?.trim(), '0');
  t.regex(init ?? '', /^\s*1 berth-init$/, `ps shows the init as berth-init alone: ${r.stdout}`);
  t.false(r.stdout.includes(runtimeBinary.replace(/\/berth-runtime$/, '')), 'no host path of berth-runtime');
});
