/**
 * Interactive containers: terminal: true with --console-socket (the runtime spec's way),
 * and `run -t` from a terminal (here a pty made by script(1)), with Ctrl-C reaching the
 * container.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp-dir.js';
import { containerId, leftovers, makeBundle, nativeBuild, runtimeBinary, useRuntime } from '../../helpers/runtime.js';
import { waitFor } from '../../helpers/http.js';

function collect(child: ReturnType<typeof spawn>): { out: () => string; done: Promise<number | null> } {
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  return { out: () => out, done: new Promise((r) => child.once('close', (code) => r(code))) };
}

test('terminal: true hands the pty to the console socket; the shell inside answers', async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-console-');
  const socket = join(dir, 'console.sock');
  const b = await makeBundle(t, ['/bin/sh'], (c) => {
    c.process.terminal = true;
  });
  const receiver = spawn(join(nativeBuild, 'berth-recvtty'), [socket, 'echo answer-$((6*7)); exit 3\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const got = collect(receiver);
  t.teardown(() => receiver.kill('SIGKILL'));
  await waitFor('the console socket', async () => (got.out().includes('ready') ? true : undefined));

  const id = containerId();
  const created = rt.run(['create', '--bundle', b.dir, '--console-socket', socket, id]);
  t.is(created.status, 0, created.stderr);
  t.is(rt.run(['start', id]).status, 0);
  await got.done;
  t.regex(got.out(), /answer-42/);
  const state = await waitFor('the shell to exit', async () => {
    const s = JSON.parse(rt.run(['state', id]).stdout) as { status: string; exitCode?: number };
    return s.status === 'stopped' && s.exitCode !== undefined ? s : undefined;
  });
  t.is(state.exitCode, 3);
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('terminal: true without --console-socket is refused clearly', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/sh'], (c) => {
    c.process.terminal = true;
  });
  const id = containerId();
  const r = rt.run(['create', '--bundle', b.dir, id]);
  t.is(r.status, 1);
  t.regex(r.stderr, /needs --console-socket/);
  t.deepEqual(leftovers(id), []);
});

test('run -t from a terminal: a real pty with the configured size, and Ctrl-C reaches the container', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/sh', '-c', '/probe tty; exec /probe signals'], (c) => {
    c.process.consoleSize = { height: 30, width: 100 };
  });
  const id = containerId();
  const command = [runtimeBinary, '--root', rt.root, 'run', '-t', '--bundle', b.dir, id].join(' ');
  const script = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const got = collect(script);
  t.teardown(() => script.kill('SIGKILL'));
  await waitFor('the probe to report its terminal', async () => (/"stdin"|isatty/.test(got.out()) ? true : undefined));
  await new Promise((r) => setTimeout(r, 300));
  script.stdin.write('\x03'); // Ctrl-C, through the terminal
  await waitFor('SIGINT inside the container', async () => (got.out().includes('SIGINT') ? true : undefined));
  script.stdin.write('\x03');
  rt.run(['kill', id, 'TERM']);
  await got.done;
  t.regex(got.out(), /true/, 'stdin is a terminal inside');
  t.regex(got.out(), /100/, 'the window is 100 columns wide');
  t.regex(got.out(), /30/, 'and 30 rows high');
  t.deepEqual(leftovers(id), []);
});

test('exec -t gives the new process a terminal of its own', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60']);
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const command = [runtimeBinary, '--root', rt.root, 'exec', '-t', id, '/probe', 'tty'].join(' ');
  const script = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const got = collect(script);
  t.teardown(() => script.kill('SIGKILL'));
  t.is(await got.done, 0, got.out());
  t.regex(got.out(), /true/);
  const plain = rt.run(['exec', id, '/probe', 'tty']);
  t.regex(plain.stdout, /false/, 'without -t there is no terminal');
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});
