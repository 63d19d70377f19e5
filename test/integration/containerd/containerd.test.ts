/**
 * berth-runtime under containerd's runc shim (`ctr --runc-binary`, docs/runtime.md "Two
 * modes": containerd's bundles carry no berth.* annotation, so they run pass-through, as
 * under runc): output and exit codes of `ctr run`, a detached task's exec, ps, kill and
 * delete with the shim as the container's parent, and a terminal. Every check runs with
 * berth-runtime and, as the control, with runc, against one private containerd.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startContainerd, type Containerd } from '../../helpers/containerd.js';
import { waitFor } from '../../helpers/http.js';
import { clientRuntimes } from '../../helpers/oci-clients.js';
import { underPty } from '../../helpers/pty.js';
import { uniqueName } from '../../helpers/temp-dir.js';

let containerd: Containerd | undefined;
test.before(async () => {
  containerd = await startContainerd();
});
test.after.always(async () => {
  await containerd?.stop();
});

function cd(): Containerd {
  if (containerd === undefined) throw new Error('containerd did not start');
  return containerd;
}

/** ctr run's options choosing the runtime binary and its state root. */
function runtimeFlags(name: string, path: string): string[] {
  return ['--runc-binary', path, '--runc-root', join(cd().dir, `root-${name}`)];
}

function ok(t: ExecutionContext, args: string[]): string {
  const r = cd().ctr(args);
  t.is(r.status, 0, `ctr ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The task's pid and status from `ctr task ls`. */
function task(id: string): { pid: number; status: string } | undefined {
  const line = cd()
    .ctr(['task', 'ls'])
    .stdout.split('\n')
    .find((l) => l.split(/\s+/)[0] === id);
  if (line === undefined) return undefined;
  const [, pid, status] = line.trim().split(/\s+/);
  return { pid: Number(pid), status: status ?? '' };
}

function stat(pid: number): { ppid: number; cmdline: string } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  return { ppid, cmdline: readFileSync(`/proc/${ppid}/cmdline`, 'utf8').replaceAll('\0', ' ') };
}

for (const { name, path } of clientRuntimes) {
  test(`${name}: ctr run --rm prints and passes the exit code`, (t) => {
    const hi = cd().ctr(['run', '--rm', ...runtimeFlags(name, path), cd().image, uniqueName('cr'), 'echo', 'hi']);
    t.is(hi.status, 0, hi.stderr);
    t.is(hi.stdout, 'hi\n');
    const three = cd().ctr(['run', '--rm', ...runtimeFlags(name, path), cd().image, uniqueName('cr'), 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.is(three.status, 3, three.stderr);
    t.is(three.stdout, 'out\n');
    t.regex(three.stderr, /^err$/m);
  });

  test(`${name}: a detached task: the shim is its parent; task exec, ps, kill, delete`, async (t) => {
    const id = uniqueName('cd');
    t.teardown(() => {
      cd().ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
      cd().ctr(['task', 'delete', '--force', id]);
      cd().ctr(['container', 'delete', id]);
    });
    const script = 'trap "echo got-term; exit 7" TERM; while true; do sleep 0.1; done';
    ok(t, ['run', '--detach', ...runtimeFlags(name, path), cd().image, id, 'sh', '-c', script]);
    const running = await waitFor('the task to run', async () => (task(id)?.status === 'RUNNING' ? task(id) : undefined));
    const parent = stat(running!.pid);
    t.regex(parent.cmdline, /containerd-shim-runc-v2 .*-id \S+/, "the container process is the shim's child: no process of the runtime in between");

    const exec = cd().ctr(['task', 'exec', '--exec-id', uniqueName('e'), id, 'sh', '-c', 'echo from-exec; exit 9']);
    t.is(exec.status, 9, exec.stderr);
    t.is(exec.stdout, 'from-exec\n');
    const ps = ok(t, ['task', 'ps', id]);
    t.regex(ps, new RegExp(`^${running!.pid}\\s`, 'm'), 'task ps lists the init');

    ok(t, ['task', 'kill', id]);
    await waitFor('the task to stop', async () => (task(id)?.status === 'STOPPED' ? true : undefined));
    const deleted = cd().ctr(['task', 'delete', id]);
    t.is(deleted.status, 0, deleted.stderr);
    t.regex(deleted.stderr, /exit code 7/, 'the exit status the trap chose');
    ok(t, ['container', 'delete', id]);
    t.is(task(id), undefined);
  });

  test(`${name}: ctr run -t gives a shell on a terminal; its exit code comes back`, async (t) => {
    const r = await underPty(
      ['/usr/bin/ctr', ...cd().argv(['run', '--rm', '-t', ...runtimeFlags(name, path), cd().image, uniqueName('ct'), 'sh'])],
      process.env,
      [24, 80],
      [{ expect: '# ' }, { send: 'echo answer-$((6*7)); tty\r' }, { expect: 'answer-42\r\r?\n/dev/pts/\\d+\r\r?\n' }, { send: 'exit 4\r' }],
    );
    t.is(r.error, null, r.output);
    t.is(r.status, 4, r.output);
  });
}
