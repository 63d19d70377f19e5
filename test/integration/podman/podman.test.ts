/**
 * berth-runtime as podman's OCI runtime (docs/runtime.md, "Two modes": podman's bundles
 * carry no berth.* annotation, so they run pass-through, as under runc): output and exit
 * codes through conmon, a detached container's logs, exec, stop and rm, `podman ps` states,
 * an interactive shell, --network none and the default bridge. Every check runs with
 * berth-runtime and, as the control, with runc, against one private podman.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { clientRuntimes } from '../../helpers/oci-clients.js';
import { startPodman, type Podman } from '../../helpers/podman.js';
import { underPty } from '../../helpers/pty.js';
import { waitFor } from '../../helpers/http.js';
import { uniqueName } from '../../helpers/temp-dir.js';

let podman: Podman | undefined;
test.before(async () => {
  podman = await startPodman();
});
test.after.always(async () => {
  await podman?.stop();
});

function pm(): Podman {
  if (podman === undefined) throw new Error('podman did not start');
  return podman;
}

/** podman with `runtime`, required to exit 0; its stdout. */
function ok(t: ExecutionContext, runtime: string, args: string[]): string {
  const r = pm().run(runtime, args);
  t.is(r.status, 0, `podman ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The status column of `podman ps -a` for one container: "Created", "Up ...", "Exited (N) ...". */
function psStatus(runtime: string, name: string): string {
  return pm()
    .run(runtime, ['ps', '--all', '--filter', `name=^${name}$`, '--format', '{{.Status}}'])
    .stdout.trim();
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

for (const { name: rtName, path: runtime } of clientRuntimes) {
  test(`${rtName}: run --rm prints through conmon and passes the exit code`, (t) => {
    const hi = pm().run(runtime, ['run', '--rm', '--network', 'none', pm().image, 'echo', 'hi']);
    t.is(hi.status, 0, hi.stderr);
    t.is(hi.stdout, 'hi\n');
    const three = pm().run(runtime, ['run', '--rm', '--network', 'none', pm().image, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.is(three.status, 3, three.stderr);
    t.is(three.stdout, 'out\n');
    t.regex(three.stderr, /^err$/m);
    const missing = pm().run(runtime, ['run', '--rm', '--network', 'none', pm().image, '/no/such/program']);
    t.not(missing.status, 0, 'a missing program fails the run');
  });

  test(`${rtName}: run -d, ps, logs, exec, stop, rm; conmon is the container's parent`, async (t) => {
    const name = uniqueName('pd');
    t.teardown(() => pm().run(runtime, ['rm', '--force', '--time', '0', name]));
    const script = 'echo started; trap "echo stopping; exit 0" TERM; while true; do sleep 0.1; done';
    ok(t, runtime, ['run', '--detach', '--name', name, '--network', 'none', pm().image, 'sh', '-c', script]);
    t.regex(psStatus(runtime, name), /^Up /);
    await waitFor('the first log line', async () => (pm().run(runtime, ['logs', name]).stdout.includes('started') ? true : undefined));

    const [pid = 0, conmon = 0] = ok(t, runtime, ['inspect', '--format', '{{.State.Pid}} {{.State.ConmonPid}}', name]).trim().split(' ').map(Number);
    t.true(pid > 0 && conmon > 0);
    t.is(parentOf(pid), conmon, "the container process is conmon's child: no process of the runtime in between");

    const exec = pm().run(runtime, ['exec', name, 'sh', '-c', 'echo from-exec; echo exec-err >&2; exit 5']);
    t.is(exec.status, 5, exec.stderr);
    t.is(exec.stdout, 'from-exec\n');
    t.regex(exec.stderr, /^exec-err$/m);
    t.is(ok(t, runtime, ['exec', name, 'cat', '/proc/1/cmdline']).replaceAll('\0', ' ').trim(), `sh -c ${script}`);

    ok(t, runtime, ['stop', '--time', '10', name]);
    t.regex(psStatus(runtime, name), /^Exited \(0\)/);
    t.regex(pm().run(runtime, ['logs', name]).stdout, /started\nstopping\n/);
    ok(t, runtime, ['rm', name]);
    t.is(psStatus(runtime, name), '');
  });

  test(`${rtName}: create, start and kill as podman ps sees them`, async (t) => {
    const name = uniqueName('pk');
    t.teardown(() => pm().run(runtime, ['rm', '--force', '--time', '0', name]));
    ok(t, runtime, ['create', '--name', name, '--network', 'none', pm().image, 'sleep', '60']);
    t.is(psStatus(runtime, name), 'Created');
    ok(t, runtime, ['start', name]);
    t.regex(psStatus(runtime, name), /^Up /);
    ok(t, runtime, ['kill', name]);
    await waitFor('the container to exit', async () => (/^Exited \(137\)/.test(psStatus(runtime, name)) ? true : undefined));
    t.is(ok(t, runtime, ['inspect', '--format', '{{.State.ExitCode}}', name]).trim(), '137');
    ok(t, runtime, ['rm', name]);
  });

  test(`${rtName}: run -it gives a shell on a terminal; its exit code comes back`, async (t) => {
    const r = await underPty(
      ['/usr/bin/podman', ...pm().argv(runtime, ['run', '--rm', '-it', '--network', 'none', pm().image, 'sh'])],
      pm().env,
      [24, 80],
      [{ expect: '# ' }, { send: 'echo answer-$((6*7)); tty\r' }, { expect: 'answer-42\r\n/dev/pts/\\d+\r\n' }, { send: 'exit 4\r' }],
    );
    t.is(r.error, null, r.output);
    t.is(r.status, 4, r.output);
  });

  test(`${rtName}: --network none has only lo; the default bridge gives an address and a route`, (t) => {
    const none = pm().run(runtime, ['run', '--rm', '--network', 'none', pm().image, 'sh', '-c', 'ls /sys/class/net']);
    t.is(none.status, 0, none.stderr);
    t.deepEqual(none.stdout.trim().split(/\s+/), ['lo']);
    const subnet = readFileSync(pm().env.CONTAINERS_CONF!, 'utf8').match(/default_subnet = "(10\.213\.\d+)\.0\/24"/)?.[1];
    t.truthy(subnet);
    const bridge = pm().run(runtime, ['run', '--rm', pm().image, 'sh', '-c', 'ip -4 -o addr show eth0; ip route']);
    t.is(bridge.status, 0, bridge.stderr);
    t.regex(bridge.stdout, new RegExp(`inet ${subnet!.replaceAll('.', '\\.')}\\.\\d+/24`));
    t.regex(bridge.stdout, new RegExp(`default via ${subnet!.replaceAll('.', '\\.')}\\.1 dev eth0`));
  });
}
