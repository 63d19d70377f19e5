/**
 * The monitor's attach socket (berth.attach, berth.stdin), where the log goes
 * (berth.log.path), a kept writable layer (berth.rootfs.keep), and exec with a terminal
 * over pipes: real containers on a busybox root, driven through server/runtime's API.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { attachContainer, attachSocketPath } from '../../../server/runtime/attach.js';
import { RuntimeClient, type AttachSession } from '../../../server/runtime/index.js';
import { waitFor } from '../../helpers/http.js';
import {
  containerId,
  leftovers,
  makeBundle,
  readJsonLines,
  runtimeBinary,
  runtimeError,
  useRuntime,
  type OciConfig,
  type Runtime,
} from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function addApplets(rootfs: string, applets: string[]): Promise<void> {
  for (const a of applets) await symlink('busybox', join(rootfs, 'bin', a));
}

function attachAnnotations(c: OciConfig, extra: Record<string, string> = {}): void {
  c.annotations = { ...c.annotations, 'berth.attach': 'true', ...extra };
}

interface Collected {
  stdout: () => string;
  stderr: () => string;
  bytes: () => number;
}

function collect(s: AttachSession): Collected {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let bytes = 0;
  s.on('data', ({ stream, data }) => {
    (stream === 'stdout' ? out : err).push(data);
    bytes += data.length;
  });
  return { stdout: () => Buffer.concat(out).toString(), stderr: () => Buffer.concat(err).toString(), bytes: () => bytes };
}

function state(rt: Runtime, id: string): { status: string; exitCode?: number } {
  const r = rt.run(['state', id]);
  if (r.status !== 0) throw new Error(`state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: string; exitCode?: number };
}

function create(t: ExecutionContext, rt: Runtime, bundle: string, id: string): void {
  const r = rt.run(['create', '--bundle', bundle, id]);
  t.is(r.status, 0, r.stderr);
}

async function logText(path: string, stream?: string): Promise<string> {
  const lines = await readJsonLines(path);
  return lines
    .filter((l) => stream === undefined || l.stream === stream)
    .map((l) => String(l.log))
    .join('');
}

test('output reaches every client connected between create and start, and the log; EOF comes after exit.json', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/sh', '-c', 'echo first; echo oops >&2; echo second; exit 7'], (c) => attachAnnotations(c));
  const id = containerId();
  create(t, rt, b.dir, id);
  t.true(existsSync(attachSocketPath(rt.root, id)), 'the socket exists once create has returned');

  const one = await attachContainer(rt.root, id);
  const two = await attachContainer(rt.root, id);
  const got = [collect(one), collect(two)];
  const statusAtEof: ({ status: string; exitCode?: number } | undefined)[] = [];
  for (const s of [one, two]) s.on('end', () => statusAtEof.push(state(rt, id)));
  t.is(rt.run(['start', id]).status, 0);
  const ends = await Promise.all([one.ended, two.ended]);

  for (const g of got) {
    t.is(g.stdout(), 'first\nsecond\n', 'nothing is missed by a client connected before start');
    t.is(g.stderr(), 'oops\n');
  }
  for (const end of ends) t.like(end, { exited: true, exit: { exitCode: 7, oomKilled: false } }, 'the exit frame came before EOF');
  for (const s of statusAtEof) t.like(s, { status: 'stopped', exitCode: 7 }, 'the status is readable at EOF');
  t.false(existsSync(attachSocketPath(rt.root, id)), 'the socket is removed');
  const log = join(rt.root, id, 'container.log');
  t.is(await logText(log, 'stdout'), 'first\nsecond\n');
  t.is(await logText(log, 'stderr'), 'oops\n');
  await t.throwsAsync(attachContainer(rt.root, id), { message: /has no attach socket/ });
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

/**
 * The monitor (a fork of `create`, with its command line) sends the exit frame and then
 * exits: a moment after the frame it may still be there (a CI run saw it). Bounded.
 */
async function monitorGone(id: string): Promise<void> {
  await waitFor(`the monitor of ${id} to exit`, async () => (leftovers(id).some((l) => l.startsWith('process ')) ? undefined : true), 5000).catch(
    () => undefined,
  );
}

test('a start frame starts the created container with no `start` run; berth.delete-on-exit: the monitor deletes it, and its exit frame says so', async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-doe-');
  const writable = join(dir, 'rw');
  const b = await makeBundle(t, ['/bin/sh', '-c', 'echo first; echo > /made; echo oops >&2; exit 3'], (c) => {
    c.root = { path: 'merged', readonly: false };
    attachAnnotations(c, { 'berth.rootfs.writable': writable, 'berth.rootfs.keep': 'true', 'berth.delete-on-exit': 'true' });
  });
  b.config.annotations!['berth.rootfs.lower'] = b.rootfs;
  await mkdir(join(b.dir, 'merged'));
  await b.save();
  const id = containerId();
  create(t, rt, b.dir, id);
  const watch = await attachContainer(rt.root, id);
  const one = await attachContainer(rt.root, id);
  const got = collect(one);
  t.is(state(rt, id).status, 'created', 'attaching alone starts nothing');
  t.true(one.start());
  t.true(watch.start(), 'a second start frame is ignored');
  const [end, watchEnd] = await Promise.all([one.ended, watch.ended]);
  t.is(got.stdout(), 'first\n', 'nothing is missed by the client that started it');
  t.is(got.stderr(), 'oops\n');
  t.like(end, { exited: true, exit: { exitCode: 3, oomKilled: false, deleted: true } });
  t.like(watchEnd, { exited: true, exit: { exitCode: 3, deleted: true } });
  t.false(existsSync(join(rt.root, id)), 'the state directory is gone before the exit frame');
  await monitorGone(id);
  t.deepEqual(leftovers(id), []);
  t.is(await readFile(join(writable, 'upper', 'made'), 'utf8'), '\n', 'berth.rootfs.keep still keeps the writable layer');
  const del = rt.run(['delete', id]);
  t.not(del.status, 0, 'there is nothing left to delete');
  t.is(runtimeError(del.stderr)?.errno, 2);

  // Killed while running: delete waits for the monitor's own delete instead of racing it.
  b.config.process.args = ['/bin/sleep', '600'];
  await b.save();
  const id2 = containerId();
  create(t, rt, b.dir, id2);
  const two = await attachContainer(rt.root, id2);
  t.true(two.start());
  await waitFor(`${id2} to run`, async () => (state(rt, id2).status === 'running' ? true : undefined));
  const forced = rt.run(['delete', '--force', id2]);
  t.is(forced.status, 0, forced.stderr);
  t.like(await two.ended, { exited: true, exit: { exitCode: 137, deleted: true } });
  t.false(existsSync(join(rt.root, id2)));
  await monitorGone(id2);
  t.deepEqual(leftovers(id2), []);
});

test('berth.stdin: bytes sent before start wait in the pipe, close-stdin ends it, and a program that closed stdin does not kill the monitor', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/cat'], (c) => attachAnnotations(c, { 'berth.stdin': 'true' }));
  const id = containerId();
  create(t, rt, b.dir, id);
  const s = await attachContainer(rt.root, id);
  const got = collect(s);
  s.write('before start\n');
  t.is(rt.run(['start', id]).status, 0);
  await waitFor('cat to echo', async () => (got.stdout().includes('before start\n') ? true : undefined));
  s.write('after\n');
  await waitFor('the second line', async () => (got.stdout().includes('after\n') ? true : undefined));
  t.like(state(rt, id), { status: 'running' }, 'stdin stays open until closed');
  s.closeStdin();
  t.like(await s.ended, { exited: true, exit: { exitCode: 0 } });
  t.is(got.stdout(), 'before start\nafter\n');
  t.like(state(rt, id), { status: 'stopped', exitCode: 0 });
  t.is(await logText(join(rt.root, id, 'container.log')), 'before start\nafter\n');
  t.is(rt.run(['delete', id]).status, 0);

  // The program closes its stdin, then a client writes: EPIPE for the monitor, which goes on.
  const b2 = await makeBundle(t, ['/bin/sh', '-c', 'exec 0<&-; sleep 1; echo alive'], (c) => attachAnnotations(c, { 'berth.stdin': 'true' }));
  const id2 = containerId();
  create(t, rt, b2.dir, id2);
  const s2 = await attachContainer(rt.root, id2);
  const got2 = collect(s2);
  t.is(rt.run(['start', id2]).status, 0);
  await new Promise((r) => setTimeout(r, 300));
  s2.write('x'.repeat(200_000));
  s2.closeStdin();
  t.like(await s2.ended, { exited: true, exit: { exitCode: 0 } });
  t.is(got2.stdout(), 'alive\n');
  t.like(state(rt, id2), { status: 'stopped', exitCode: 0 });
  t.is(rt.run(['delete', id2]).status, 0);
  t.deepEqual([...leftovers(id), ...leftovers(id2)], []);
});

test('a terminal kept by the monitor: a real pty, resize frames, ^D from close-stdin, output logged as stdout', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/sh'], (c) => {
    c.process.terminal = true;
    c.process.consoleSize = { height: 24, width: 80 };
    attachAnnotations(c, { 'berth.stdin': 'true' });
  });
  await addApplets(b.rootfs, ['tty', 'stty']);
  const id = containerId();
  create(t, rt, b.dir, id);
  const s = await attachContainer(rt.root, id);
  const got = collect(s);
  t.is(rt.run(['start', id]).status, 0);
  s.write('tty; stty size\n');
  await waitFor('tty and its size', async () => (/\/dev\/pts\/\d+\r?\n24 80/.test(got.stdout()) ? true : undefined));
  s.resize(30, 100);
  s.write('stty size\n');
  await waitFor('the new size', async () => (/30 100/.test(got.stdout()) ? true : undefined));
  s.write('echo to-stderr >&2; exit 5\n');
  t.like(await s.ended, { exited: true, exit: { exitCode: 5 } });
  t.is(got.stderr(), '', 'with a terminal everything is stdout');
  t.regex(got.stdout(), /to-stderr/);
  t.like(state(rt, id), { status: 'stopped', exitCode: 5 });
  const log = await readJsonLines(join(rt.root, id, 'container.log'));
  t.true(log.every((l) => l.stream === 'stdout'));
  t.regex(log.map((l) => String(l.log)).join(''), /30 100/);
  t.is(rt.run(['delete', id]).status, 0);

  // close-stdin on a terminal is ^D: cat ends.
  const b2 = await makeBundle(t, ['/bin/cat'], (c) => {
    c.process.terminal = true;
    attachAnnotations(c, { 'berth.stdin': 'true' });
  });
  const id2 = containerId();
  create(t, rt, b2.dir, id2);
  const s2 = await attachContainer(rt.root, id2);
  const got2 = collect(s2);
  t.is(rt.run(['start', id2]).status, 0);
  s2.write('typed\n');
  await waitFor('the echo', async () => (got2.stdout().includes('typed') ? true : undefined));
  s2.closeStdin();
  t.like(await s2.ended, { exited: true, exit: { exitCode: 0 } });
  t.like(state(rt, id2), { status: 'stopped', exitCode: 0 });
  t.is(rt.run(['delete', id2]).status, 0);
  t.deepEqual([...leftovers(id), ...leftovers(id2)], []);
});

test('a client that never reads does not stall a container printing 10 MB: it is dropped, the log is complete', async (t) => {
  const rt = await useRuntime(t);
  const line = 'x'.repeat(1023);
  const lines = 10 * 1024;
  const b = await makeBundle(t, ['/bin/sh', '-c', `yes ${line} | head -n ${lines}; echo done`], (c) => attachAnnotations(c, { 'berth.log.max-size': '100m' }));
  await addApplets(b.rootfs, ['yes', 'head']);
  const id = containerId();
  create(t, rt, b.dir, id);
  const stalled = await attachContainer(rt.root, id);
  stalled.pause();
  let stalledBytes = 0;
  stalled.on('data', ({ data }) => (stalledBytes += data.length));
  const reader = await attachContainer(rt.root, id);
  t.is(rt.run(['start', id]).status, 0);
  await waitFor('the container to finish', async () => (state(rt, id).status === 'stopped' ? true : undefined), 30_000);
  // Reading now, the stalled client would get everything still queued for it, had it been kept.
  stalled.resume();
  t.deepEqual(await stalled.ended, { exited: false }, 'the stalled client was dropped: no exit frame');
  t.true(stalledBytes < lines * 1024, `the stalled client got ${stalledBytes} bytes, not all`);
  await reader.ended; // a reader may be dropped too, on a busy machine: only the log is sure to have it all
  const text = await logText(join(rt.root, id, 'container.log'), 'stdout');
  t.is(text.length, lines * 1024 + 'done\n'.length, 'every byte is in the log');
  t.true(text.endsWith(`${line}\ndone\n`));
  t.like(state(rt, id), { exitCode: 0 });
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test("berth.rootfs.keep and berth.log.path survive delete; a second create on the same writable layer sees the first one's file", async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-keep-');
  const writable = join(dir, 'rw');
  const logDir = join(dir, 'logs');
  await mkdir(logDir);
  const logPath = join(logDir, 'c.log');
  const b = await makeBundle(t, ['/bin/sh', '-c', 'echo one > /data.txt; echo wrote'], (c) => {
    c.root = { path: 'merged', readonly: false };
    c.annotations = { 'berth.rootfs.writable': writable, 'berth.rootfs.keep': 'true', 'berth.log.path': logPath };
  });
  b.config.annotations!['berth.rootfs.lower'] = b.rootfs;
  await mkdir(join(b.dir, 'merged'));
  await b.save();

  const run = async (id: string): Promise<void> => {
    create(t, rt, b.dir, id);
    t.is(rt.run(['start', id]).status, 0);
    await waitFor(`${id} to stop`, async () => (state(rt, id).status === 'stopped' ? true : undefined));
    t.is(rt.run(['delete', id]).status, 0);
    t.false(existsSync(join(rt.root, id)));
    t.deepEqual(leftovers(id), []);
  };
  await run(containerId());
  t.is(await readFile(join(writable, 'upper', 'data.txt'), 'utf8'), 'one\n', 'delete kept the writable layer');
  t.is(await logText(logPath), 'wrote\n', 'delete kept the log');

  b.config.process.args = ['/bin/cat', '/data.txt'];
  await b.save();
  await run(containerId());
  t.is(await logText(logPath), 'wrote\none\n', 'the second container saw the file, and its output was appended');
});

test('exec over pipes: -t with a size, resize lines on fd 3, ^D at the end of stdin; without -t; as another user', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/sleep', '60']);
  await addApplets(b.rootfs, ['stty']);
  const id = containerId();
  create(t, rt, b.dir, id);
  t.is(rt.run(['start', id]).status, 0);
  const client = new RuntimeClient({ binary: runtimeBinary, root: rt.root });

  const ex = client.execStream(id, ['/bin/sh'], { tty: true, size: { rows: 24, cols: 80 } });
  t.teardown(() => ex.kill());
  let out = '';
  ex.stdout.on('data', (d: Buffer) => (out += d.toString()));
  ex.stdin.write('stty size\n');
  await waitFor('the first size', async () => (/^24 80\r?$/m.test(out) ? true : undefined));
  ex.resize(40, 120);
  ex.stdin.write('stty size\n');
  await waitFor('the new size', async () => (/^40 120\r?$/m.test(out) ? true : undefined));
  ex.stdin.end();
  t.deepEqual(await ex.exit, { exitCode: 0 }, 'sh ends at ^D');

  const plain = client.execStream(id, ['/bin/sh', '-c', 'cat; echo err >&2; exit 3']);
  let pout = '';
  let perr = '';
  plain.stdout.on('data', (d: Buffer) => (pout += d.toString()));
  plain.stderr.on('data', (d: Buffer) => (perr += d.toString()));
  plain.stdin.end('piped');
  t.deepEqual(await plain.exit, { exitCode: 3 });
  t.is(pout, 'piped');
  t.is(perr, 'err\n');

  const asUser = client.execStream(id, ['/bin/sh', '-c', 'id -u; id -g'], { user: { uid: 1234, gid: 2345 } });
  let uout = '';
  asUser.stdout.on('data', (d: Buffer) => (uout += d.toString()));
  asUser.stdin.end();
  t.deepEqual(await asUser.exit, { exitCode: 0 });
  t.is(uout, '1234\n2345\n', '--user sets the uid and gid');

  const missing = client.execStream(id, ['/nope']);
  await t.throwsAsync(missing.exit, { message: /nope/ });

  const r = rt.run(['exec', '--tty-size', '24x80', id, '/bin/true']);
  t.is(r.status, 2);
  t.regex(r.stderr, /--tty-size and --resize-fd need -t/);
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('bad attach, stdin, keep and log annotations are refused with what is wrong, leaving nothing behind', async (t) => {
  const rt = await useRuntime(t);
  const dir = await tempDir(t, 'berth-badlog-');
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'berth.stdin': 'true' }, /annotations\["berth\.stdin"\] needs annotations\["berth\.attach"\] = "true"/],
    [{ 'berth.attach': 'yes' }, /annotations\["berth\.attach"\] "yes" must be "true" or "false"/],
    [{ 'berth.rootfs.keep': 'true' }, /annotations\["berth\.rootfs\.keep"\] needs annotations\["berth\.rootfs\.writable"\]/],
    [{ 'berth.log.path': 'logs/c.log' }, /annotations\["berth\.log\.path"\] "logs\/c\.log" must be an absolute path/],
    [{ 'berth.log.path': join(dir, 'missing', 'c.log') }, /its directory .*missing cannot be used; create it first: No such file or directory/],
  ];
  for (const [annotations, message] of cases) {
    const b = await makeBundle(t, ['/bin/true'], (c) => (c.annotations = annotations));
    const id = containerId();
    const r = rt.run(['create', '--bundle', b.dir, id]);
    t.is(r.status, 1, JSON.stringify(annotations));
    t.regex(runtimeError(r.stderr)?.msg ?? r.stderr, message);
    t.false(existsSync(join(rt.root, id)));
    t.deepEqual(leftovers(id), []);
  }
  const fg = await makeBundle(t, ['/bin/true'], (c) => (c.annotations = { 'berth.attach': 'true' }));
  const fgId = containerId();
  const foreground = rt.run(['run', '--bundle', fg.dir, fgId]);
  t.is(foreground.status, 1);
  t.regex(runtimeError(foreground.stderr)?.msg ?? foreground.stderr, /needs a monitor to serve the attach socket: use create and start, or run --detach/);
  t.false(existsSync(join(rt.root, fgId)));
  const detached = containerId();
  t.is(rt.run(['run', '--detach', '--bundle', fg.dir, detached]).status, 0, 'run --detach has a monitor');
  const tty = await makeBundle(t, ['/bin/sh'], (c) => (c.process.terminal = true));
  const r = rt.run(['create', '--bundle', tty.dir, containerId()]);
  t.regex(runtimeError(r.stderr)?.msg ?? r.stderr, /needs --console-socket to hand the terminal to, or annotations\["berth\.attach"\] = "true"/);
});
