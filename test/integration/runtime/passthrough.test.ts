/**
 * The two modes of create (docs/runtime.md, "Two modes"): a bundle with no berth.*
 * annotation runs pass-through, as under runc (the caller's stdio, no monitor, no process
 * of the runtime left as the container's parent); berth.monitor chooses; the flags podman,
 * conmon and containerd's shim pass are accepted or refused clearly.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../helpers/http.js';
import { containerId, leftovers, makeBundle, runtimeBinary, runtimeError, useRuntime, type Runtime } from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';

interface State {
  status: string;
  pid: number;
  exitCode?: number;
}

const state = (rt: Runtime, id: string): State => JSON.parse(rt.run(['state', id]).stdout) as State;

/** berth-runtime with stdout and stderr on `file` (not pipes: a pass-through container keeps them). */
function runToFile(rt: Runtime, args: string[], file: string): number | null {
  const fd = openSync(file, 'a');
  try {
    return spawnSync(runtimeBinary, ['--root', rt.root, '--log-format=json', ...args], { stdio: ['ignore', fd, fd], timeout: 30_000 }).status;
  } finally {
    closeSync(fd);
  }
}

function parentCmdline(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  return readFileSync(`/proc/${ppid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

test("a bundle without berth.* annotations: the caller's stdio, no monitor, exec -d and its pid file as runc's", async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-passthrough-');
  const wait = 'i=0; while ! test -e /tmp/go && test $i -lt 200; do sleep 0.05; i=$((i+1)); done; cat /tmp/go';
  const b = await makeBundle(t, ['sh', '-c', `echo out; echo err >&2; ${wait}`], (c) => {
    delete c.annotations;
  });
  const id = containerId();
  const output = join(dir, 'output');

  t.is(runToFile(rt, ['create', '--bundle', b.dir, '--no-new-keyring', id], output), 0, readFileSync(output, 'utf8'));
  const created = state(rt, id);
  t.is(created.status, 'created');
  t.notRegex(parentCmdline(created.pid), /berth-runtime/, 'no monitor or create process is left as the parent');
  t.is(runToFile(rt, ['start', id], output), 0, readFileSync(output, 'utf8'));

  // exec -d keeps the caller's stdio too, and writes the pid file on the host.
  const pidFile = join(dir, 'exec.pid');
  t.is(
    runToFile(
      rt,
      ['exec', '--detach', '--pid-file', pidFile, id, 'sh', '-c', 'echo from-exec; echo go > /tmp/go.new && busybox mv /tmp/go.new /tmp/go'],
      output,
    ),
    0,
    readFileSync(output, 'utf8'),
  );
  t.regex(readFileSync(pidFile, 'utf8'), /^[1-9]\d*$/);

  const stopped = await waitFor('the container to stop', async () => (state(rt, id).status === 'stopped' ? state(rt, id) : undefined));
  t.is(stopped.exitCode, undefined, 'no monitor: nothing records the exit status, the caller reaps it');
  const text = readFileSync(output, 'utf8');
  for (const line of ['out', 'err', 'from-exec', 'go']) t.regex(text, new RegExp(`^${line}$`, 'm'));
  t.false(existsSync(join(rt.root, id, 'container.log')), 'no log: the output went to the caller');
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('berth.monitor: "true" keeps the monitor for a bundle without other berth.* annotations; a bad value or a clash is refused', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['echo', 'logged'], (c) => {
    c.annotations = { 'berth.monitor': 'true' };
  });
  const id = containerId();
  t.is(rt.run(['run', '--detach', '--bundle', b.dir, id]).status, 0);
  const s = await waitFor('the container to stop', async () => (state(rt, id).exitCode !== undefined ? state(rt, id) : undefined));
  t.is(s.exitCode, 0, 'the monitor recorded the exit status');
  t.regex(readFileSync(join(rt.root, id, 'container.log'), 'utf8'), /"log":"logged\\n","stream":"stdout"/);
  t.is(rt.run(['delete', id]).status, 0);

  const cases: [Record<string, string>, RegExp][] = [
    [{ 'berth.monitor': 'maybe' }, /annotations\["berth\.monitor"\] "maybe" must be "true" or "false"/],
    [
      { 'berth.monitor': 'false', 'berth.attach': 'true' },
      /annotations\["berth\.attach"\] needs Berth's monitor, which annotations\["berth\.monitor"\] = "false" turns off/,
    ],
  ];
  for (const [annotations, message] of cases) {
    const bad = await makeBundle(t, ['true'], (c) => {
      c.annotations = annotations;
    });
    const other = containerId();
    const r = rt.run(['create', '--bundle', bad.dir, other]);
    t.is(r.status, 1, JSON.stringify(annotations));
    t.regex(runtimeError(r.stderr)?.msg ?? r.stderr, message);
    t.false(existsSync(join(rt.root, other)));
  }
  t.deepEqual(leftovers(id), []);
});

test('--systemd-cgroup is refused as a usage error naming what to configure; --preserve-fds beyond 0 too', async (t) => {
  const rt = await useRuntime(t);
  const r = rt.run(['--systemd-cgroup', 'list']);
  t.is(r.status, 2);
  t.regex(runtimeError(r.stderr)?.msg ?? r.stderr, /--systemd-cgroup` is not supported: .*cgroup_manager = "cgroupfs".*SystemdCgroup = false/);
  const b = await makeBundle(t, ['true']);
  const p = rt.run(['create', '--preserve-fds', '2', '--bundle', b.dir, containerId()]);
  t.is(p.status, 2);
  t.regex(runtimeError(p.stderr)?.msg ?? p.stderr, /--preserve-fds 2 is not supported/);
});
