/**
 * The runtime client without a container: the argv it builds, how it reads the runtime's
 * JSON error lines, and its plumbing against a stand-in script that answers as
 * berth-runtime would (integration tests run the real runtime). The real binary is only
 * asked for its version and about a container that does not exist.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, errorTable, type ErrorCode } from '../../../server/core/index.js';
import { runtimeArgv } from '../../../server/runtime/argv.js';
import { defaultRuntimeBinary } from '../../../server/runtime/binary.js';
import { lastRuntimeError, parseRuntimeError, parseRuntimeLogLine } from '../../../server/runtime/errors.js';
import { RuntimeClient, RuntimeError } from '../../../server/runtime/index.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-client-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const errorLine = (msg: string, errno?: number, op?: string): string =>
  JSON.stringify({ level: 'error', msg, ...(errno === undefined ? {} : { errno }), ...(op === undefined ? {} : { op }), time: '2026-01-01T12:00:00.123Z' });

// ---- parseRuntimeError

test('parseRuntimeError takes the last JSON error line: msg, op, errno', (t) => {
  const stderr = [
    errorLine('mount overlay on `/x/rootfs`: Invalid argument', 22, 'mount'),
    JSON.stringify({ level: 'warning', msg: 'ignored' }),
    errorLine('create container `web.1`: mount overlay on `/x/rootfs`: Invalid argument', 22, 'mount'),
    '',
  ].join('\n');
  const err = parseRuntimeError(stderr, 'web.1');
  t.true(err instanceof RuntimeError);
  t.true(err instanceof BerthError);
  t.is(err.name, 'RuntimeError');
  t.is(err.code, 'E_RUNTIME_FAILED');
  t.is(err.httpStatus, 500);
  t.is(err.hint, errorTable.E_RUNTIME_FAILED.hint);
  t.is(err.message, 'berth-runtime: create container `web.1`: mount overlay on `/x/rootfs`: Invalid argument');
  t.is(err.op, 'mount');
  t.is(err.errno, 22);
  t.is(err.containerId, 'web.1');
  t.deepEqual(err.details, { containerId: 'web.1', op: 'mount', errno: 22 });
});

test('parseRuntimeError names the command and exit status when given them', (t) => {
  const err = parseRuntimeError(errorLine('container `a` does not exist', 2, 'open'), 'a', { command: 'state', exitCode: 1 });
  t.is(err.message, 'berth-runtime state: container `a` does not exist');
  t.is(err.command, 'state');
  t.deepEqual(err.details, { command: 'state', containerId: 'a', op: 'open', errno: 2, exitCode: 1 });
});

test('parseRuntimeError: a line without errno or op leaves them undefined', (t) => {
  const err = parseRuntimeError(`${errorLine('no command given', undefined, undefined)}\n`, undefined);
  t.is(err.op, undefined);
  t.is(err.errno, undefined);
  t.is(err.containerId, undefined);
  t.false('errno' in err.details);
});

test('parseRuntimeError skips program output and broken JSON around the error line', (t) => {
  const stderr = [
    '{"level":"error","msg":"program output that looks like us", "time":"x"} trailing',
    errorLine('exec `/nope`: No such file or directory', 2, 'execve'),
    'program said {oops',
    '{broken',
  ].join('\n');
  const err = parseRuntimeError(stderr, 'c1');
  t.is(err.message, 'berth-runtime: exec `/nope`: No such file or directory');
  t.is(err.errno, 2);
});

test('parseRuntimeError quotes stderr that has no JSON error line', (t) => {
  const err = parseRuntimeError('AddressSanitizer: heap-use-after-free\n  #0 0x1 in main\n', 'c1', { command: 'create', exitCode: 134 });
  t.true(err instanceof RuntimeError);
  t.is(err.message, 'berth-runtime create exited with status 134:\nAddressSanitizer: heap-use-after-free\n  #0 0x1 in main');
  t.is(err.op, undefined);
  t.is(err.errno, undefined);
  t.is(err.containerId, 'c1');
});

test('parseRuntimeError: text logs, a signal, and silence', (t) => {
  t.is(parseRuntimeError('berth-runtime: boom\n', 'c').message, 'berth-runtime failed:\nberth-runtime: boom');
  t.is(
    parseRuntimeError('', 'c', { command: 'kill', signal: 'SIGSEGV', exitCode: null }).message,
    'berth-runtime kill was killed by SIGSEGV without saying why',
  );
  t.is(parseRuntimeError('  \n', 'c', { command: 'start', exitCode: 1 }).message, 'berth-runtime start exited with status 1 without saying why');
});

test('parseRuntimeError quotes only the last 20 lines of a long stderr', (t) => {
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
  const err = parseRuntimeError(lines.join('\n'), 'c');
  t.false(err.message.includes('line 29\n'));
  t.true(err.message.includes('line 30\n'));
  t.true(err.message.endsWith('line 49'));
});

test('parseRuntimeLogLine accepts only objects with a string level and msg', (t) => {
  t.deepEqual(parseRuntimeLogLine(errorLine('m', 1, 'o')), { level: 'error', msg: 'm', errno: 1, op: 'o', time: '2026-01-01T12:00:00.123Z' });
  t.deepEqual(parseRuntimeLogLine('  {"level":"debug","msg":"x","errno":"22"}  '), { level: 'debug', msg: 'x' });
  for (const line of ['', 'text', '[1]', '{"msg":"x"}', '{"level":"error"}', '{"level":1,"msg":"x"}', 'null', '{']) {
    t.is(parseRuntimeLogLine(line), undefined, line);
  }
  t.is(lastRuntimeError(`${JSON.stringify({ level: 'warning', msg: 'w' })}\n`), undefined);
});

// ---- runtimeArgv

const g = { root: '/run/berth-test' };
const head = ['--root', '/run/berth-test', '--log-format=json'];

test('runtimeArgv puts --root and --log-format=json before every command', (t) => {
  t.deepEqual(runtimeArgv(g, { command: 'start', id: 'web.1' }), [...head, 'start', 'web.1']);
  t.deepEqual(runtimeArgv(g, { command: 'state', id: 'web.1' }), [...head, 'state', 'web.1']);
  t.deepEqual(runtimeArgv(g, { command: 'list' }), [...head, 'list', '--format', 'json']);
  t.deepEqual(runtimeArgv(g, { command: 'ps', id: 'web.1' }), [...head, 'ps', '--format', 'json', 'web.1']);
  t.deepEqual(runtimeArgv(g, { command: 'version' }), [...head, '--version']);
});

test('runtimeArgv adds --log FILE when a log file is set', (t) => {
  t.deepEqual(runtimeArgv({ ...g, logFile: '/var/log/berth/runtime.log' }, { command: 'start', id: 'a' }), [
    ...head,
    '--log',
    '/var/log/berth/runtime.log',
    'start',
    'a',
  ]);
});

test('runtimeArgv: create and run with bundle, pid file, console socket, detach', (t) => {
  t.deepEqual(runtimeArgv(g, { command: 'create', id: 'a', bundle: '/b' }), [...head, 'create', '--bundle', '/b', 'a']);
  t.deepEqual(runtimeArgv(g, { command: 'create', id: 'a', bundle: '/b', pidFile: '/p', consoleSocket: '/s' }), [
    ...head,
    'create',
    '--bundle',
    '/b',
    '--pid-file',
    '/p',
    '--console-socket',
    '/s',
    'a',
  ]);
  t.deepEqual(runtimeArgv(g, { command: 'run', id: 'a', bundle: '/b' }), [...head, 'run', '--bundle', '/b', 'a']);
  t.deepEqual(runtimeArgv(g, { command: 'run', id: 'a', bundle: '/b', detach: true }), [...head, 'run', '--detach', '--bundle', '/b', 'a']);
});

test('runtimeArgv: kill (SIGTERM by default, names or numbers, --all) and delete (--force)', (t) => {
  t.deepEqual(runtimeArgv(g, { command: 'kill', id: 'a' }), [...head, 'kill', 'a', 'SIGTERM']);
  t.deepEqual(runtimeArgv(g, { command: 'kill', id: 'a', signal: 'SIGKILL', all: true }), [...head, 'kill', '--all', 'a', 'SIGKILL']);
  t.deepEqual(runtimeArgv(g, { command: 'kill', id: 'a', signal: 9 }), [...head, 'kill', 'a', '9']);
  t.deepEqual(runtimeArgv(g, { command: 'kill', id: 'a', signal: 'SIGRTMIN+3' }), [...head, 'kill', 'a', 'SIGRTMIN+3']);
  t.deepEqual(runtimeArgv(g, { command: 'delete', id: 'a' }), [...head, 'delete', 'a']);
  t.deepEqual(runtimeArgv(g, { command: 'delete', id: 'a', force: true }), [...head, 'delete', '--force', 'a']);
});

test('runtimeArgv: exec puts options before the id and the program, verbatim, after it', (t) => {
  t.deepEqual(runtimeArgv(g, { command: 'exec', id: 'a', args: ['/bin/sh', '-c', 'echo $HOME; rm -rf /'] }), [
    ...head,
    'exec',
    'a',
    '/bin/sh',
    '-c',
    'echo $HOME; rm -rf /',
  ]);
  t.deepEqual(runtimeArgv(g, { command: 'exec', id: 'a', args: ['--not-an-option'], env: { A: '1', B: 'x=y z' }, cwd: '/app', detach: true }), [
    ...head,
    'exec',
    '--detach',
    '--env',
    'A=1',
    '--env',
    'B=x=y z',
    '--cwd',
    '/app',
    'a',
    '--not-an-option',
  ]);
});

function refused(t: ExecutionContext, fn: () => unknown, code: ErrorCode, says: RegExp): void {
  const err = t.throws(fn, { instanceOf: BerthError });
  if (!(err instanceof BerthError)) return;
  t.is(err.code, code);
  t.regex(err.message, says);
}

test('runtimeArgv refuses ids, paths and signals that could be misread, rather than repairing them', (t) => {
  refused(t, () => runtimeArgv(g, { command: 'start', id: '--force' }), 'E_NAME_INVALID', /container id/);
  refused(t, () => runtimeArgv(g, { command: 'delete', id: 'a b' }), 'E_NAME_INVALID', /container id/);
  refused(t, () => runtimeArgv(g, { command: 'state', id: '' }), 'E_NAME_INVALID', /container id/);
  refused(t, () => runtimeArgv({ root: 'state' }, { command: 'list' }), 'E_BERTH_INTERNAL', /root must be an absolute path/);
  refused(t, () => runtimeArgv(g, { command: 'create', id: 'a', bundle: 'bundle' }), 'E_BERTH_INTERNAL', /bundle must be an absolute path/);
  refused(t, () => runtimeArgv(g, { command: 'create', id: 'a', bundle: '/b', pidFile: 'pid' }), 'E_BERTH_INTERNAL', /pidFile/);
  refused(t, () => runtimeArgv(g, { command: 'kill', id: 'a', signal: '-9' as NodeJS.Signals }), 'E_BERTH_INTERNAL', /not a signal name/);
  refused(t, () => runtimeArgv(g, { command: 'kill', id: 'a', signal: 0 }), 'E_BERTH_INTERNAL', /not a signal number/);
  refused(t, () => runtimeArgv(g, { command: 'exec', id: 'a', args: [] }), 'E_BERTH_INTERNAL', /needs a program/);
  refused(t, () => runtimeArgv(g, { command: 'exec', id: 'a', args: ['x'], env: { 'A=B': '1' } }), 'E_BERTH_INTERNAL', /"A=B"/);
  refused(t, () => runtimeArgv(g, { command: 'exec', id: 'a', args: ['x'], cwd: 'app' }), 'E_BERTH_INTERNAL', /cwd/);
});

// ---- RuntimeClient against a stand-in: argv in, berth-runtime's answers out.

const state = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ociVersion: '1.2.0',
  id,
  status: 'running',
  pid: 4242,
  bundle: '/bundles/x',
  annotations: { 'berth.init': 'true' },
  rootfs: '/bundles/x/rootfs',
  created: '2026-01-01T12:00:00.000Z',
  ...extra,
});

// CommonJS, so it runs whatever the package's "type" is. It records its argv next to itself.
const fakeRuntime = `
const fs = require('node:fs');
const path = require('node:path');
const argv = process.argv.slice(2);
fs.writeFileSync(path.join(__dirname, 'argv.json'), JSON.stringify(argv));
const rest = argv.slice(argv.indexOf('--log-format=json') + 1);
const command = rest[0];
const id = command === 'exec' ? rest.find((a, i) => i > 0 && !a.startsWith('-') && !['--env', '--cwd'].includes(rest[i - 1])) : rest.at(-1);
const error = (msg, errno, op) => JSON.stringify({ level: 'error', msg, errno, op, time: '2026-01-01T12:00:00.000Z' }) + '\\n';
const state = ${state.toString()};
const out = (s) => process.stdout.write(s);
if (rest[0] === '--version') { out('berth-runtime 9.9.9-fake\\nspec: 1.2.0\\n'); process.exit(0); }
switch (command) {
  case 'state':
    if (id === 'not-json') out('oops');
    else if (id === 'wrong-shape') out(JSON.stringify({ id, status: 'sleeping' }));
    else if (id === 'gone') { process.stderr.write(error('container \`gone\` does not exist', 2, 'open')); process.exit(1); }
    else if (id === 'denied') { process.stderr.write(error('stat /x/denied: Permission denied', 13, 'stat')); process.exit(1); }
    else if (id === 'ended') out(JSON.stringify(state(id, { status: 'stopped', pid: 0, exitCode: 137, finishedAt: '2026-01-01T12:00:02.000Z', oomKilled: false })) + '\\n');
    else if (id === 'cut-short') out(JSON.stringify(state(id, { status: 'creating', pid: 0 })) + '\\n');
    else if (id === 'netted') out(JSON.stringify(state(id, { annotations: { 'berth.network': 'berth0' } })) + '\\n');
    else out(JSON.stringify(state(id)) + '\\n');
    break;
  case 'list':
    out(JSON.stringify([state('a'), state('b', { status: 'stopped', pid: 0, exitCode: 3, finishedAt: '2026-01-01T12:00:01.000Z' })]) + '\\n');
    break;
  case 'ps':
    out('[101,102]\\n');
    break;
  case 'network':
    if (rest[1] === 'inspect' && id === 'nonet') { process.stderr.write(error('network \`nonet\` does not exist in /x: create it', 2, 'network')); process.exit(1); }
    if (rest[1] === 'inspect') {
      const lease = { id: 'netted', address: '10.88.0.2', group: 'app', veth: 'bv0a580002', publish: '' };
      out(JSON.stringify({ name: id, bridge: id, subnet: '10.88.0.0/16', gateway: '10.88.0.1', nat: true, table: 'berth_' + id, leases: 1, containers: [lease], links: [['app', 'db']] }) + '\\n');
    }
    if (rest[1] === 'create' && id === 'taken') { process.stderr.write(error('network \`taken\` exists already in /x', 17, 'network')); process.exit(1); }
    break;
  case 'create':
    if (id === 'bad') {
      process.stderr.write(error('mount overlay on \`/x\`: Invalid argument', 22, 'mount'));
      process.stderr.write(error('create container \`bad\`: mount overlay on \`/x\`: Invalid argument', 22, 'mount'));
      process.exit(1);
    }
    if (id === 'crash') { process.stderr.write('Segmentation fault\\n'); process.kill(process.pid, 'SIGSEGV'); }
    break;
  case 'start':
    if (id === 'slow') setTimeout(() => {}, 10000);
    break;
  case 'run':
  case 'exec': {
    const program = rest.slice(rest.indexOf(id) + 1);
    if (command === 'run' || program[0] === 'ok') { out('hello\\n'); process.stderr.write('program stderr\\n'); }
    if (program[0] === 'exit3') { out('partial\\n'); process.stderr.write('failing: {"level":"error"}\\n'); process.exit(3); }
    if (program[0] === 'missing') { process.stderr.write(error('exec \`missing\`: No such file or directory', 2, 'execve')); process.exit(127); }
    break;
  }
}
`;

interface Fake {
  client: RuntimeClient;
  dir: string;
  /** The argv of the last call. */
  argv(): Promise<string[]>;
}

async function fake(t: ExecutionContext, options: { timeoutMs?: number } = {}): Promise<Fake> {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'fake-runtime.cjs'), fakeRuntime);
  const binary = join(dir, 'berth-runtime');
  await writeFile(binary, `#!/bin/sh\nexec '${process.execPath}' '${join(dir, 'fake-runtime.cjs')}' "$@"\n`);
  await chmod(binary, 0o755);
  const client = new RuntimeClient({ binary, root: join(dir, 'state'), ...options });
  return { client, dir, argv: async () => JSON.parse(await readFile(join(dir, 'argv.json'), 'utf8')) as string[] };
}

async function runtimeError(t: ExecutionContext, promise: Promise<unknown>): Promise<RuntimeError> {
  const err = await t.throwsAsync(promise, { instanceOf: RuntimeError });
  if (!(err instanceof RuntimeError)) throw new Error('expected a RuntimeError');
  t.is(err.code, 'E_RUNTIME_FAILED');
  return err;
}

test('client.state runs `--root R --log-format=json state ID` and returns the validated state', async (t) => {
  const f = await fake(t);
  const s = await f.client.state('web.1');
  t.deepEqual(await f.argv(), ['--root', join(f.dir, 'state'), '--log-format=json', 'state', 'web.1']);
  t.deepEqual(s, {
    ociVersion: '1.2.0',
    id: 'web.1',
    status: 'running',
    pid: 4242,
    bundle: '/bundles/x',
    annotations: { 'berth.init': 'true' },
    created: '2026-01-01T12:00:00.000Z',
  });
});

test('client.state: output that is not JSON, or not a state, is a RuntimeError', async (t) => {
  const f = await fake(t);
  t.regex((await runtimeError(t, f.client.state('not-json'))).message, /state printed something that is not JSON: "oops"/);
  const shape = await runtimeError(t, f.client.state('wrong-shape'));
  t.regex(shape.message, /state printed JSON of the wrong shape: .*status/);
  t.is(shape.containerId, 'wrong-shape');
});

test('client: a failing call becomes a RuntimeError from the last JSON error line', async (t) => {
  const f = await fake(t);
  const err = await runtimeError(t, f.client.create('bad', '/bundles/bad'));
  t.is(err.message, 'berth-runtime create: create container `bad`: mount overlay on `/x`: Invalid argument');
  t.is(err.op, 'mount');
  t.is(err.errno, 22);
  t.is(err.containerId, 'bad');
  t.is(err.details.exitCode, 1);
  const gone = await runtimeError(t, f.client.state('gone'));
  t.is(gone.errno, 2);
});

test('client: a runtime killed by a signal is a RuntimeError quoting its stderr', async (t) => {
  const f = await fake(t);
  const err = await runtimeError(t, f.client.create('crash', '/bundles/c', { pidFile: '/run/c.pid' }));
  t.is(err.message, 'berth-runtime create was killed by SIGSEGV:\nSegmentation fault');
  t.deepEqual(await f.argv(), ['--root', join(f.dir, 'state'), '--log-format=json', 'create', '--bundle', '/bundles/c', '--pid-file', '/run/c.pid', 'crash']);
});

test('client: a lifecycle call that hangs is killed after timeoutMs', async (t) => {
  const f = await fake(t, { timeoutMs: 500 });
  const err = await runtimeError(t, f.client.start('slow'));
  t.is(err.message, 'berth-runtime start timed out after 500 ms and was killed');
});

test('client.list and client.ps parse their JSON', async (t) => {
  const f = await fake(t);
  const list = await f.client.list();
  t.deepEqual(
    list.map((s) => [s.id, s.status, s.exitCode]),
    [
      ['a', 'running', undefined],
      ['b', 'stopped', 3],
    ],
  );
  t.deepEqual(await f.client.ps('a'), [101, 102]);
  t.deepEqual((await f.argv()).slice(3), ['ps', '--format', 'json', 'a']);
});

test('client.kill and client.delete pass the signal and --force', async (t) => {
  const f = await fake(t);
  await f.client.kill('a');
  t.deepEqual((await f.argv()).slice(3), ['kill', 'a', 'SIGTERM']);
  await f.client.kill('a', 'SIGKILL', { all: true });
  t.deepEqual((await f.argv()).slice(3), ['kill', '--all', 'a', 'SIGKILL']);
  await f.client.delete('a', { force: true });
  t.deepEqual((await f.argv()).slice(3), ['delete', '--force', 'a']);
});

test("client.exec returns the program's status and output; only the runtime's own failure throws", async (t) => {
  const f = await fake(t);
  t.deepEqual(await f.client.exec('a', ['ok']), { code: 0, stdout: 'hello\n', stderr: 'program stderr\n' });
  const failed = await f.client.exec('a', ['exit3'], { env: { A: '1' }, cwd: '/app' });
  t.deepEqual(failed, { code: 3, stdout: 'partial\n', stderr: 'failing: {"level":"error"}\n' });
  t.deepEqual((await f.argv()).slice(3), ['exec', '--env', 'A=1', '--cwd', '/app', 'a', 'exit3']);
  const err = await runtimeError(t, f.client.exec('a', ['missing']));
  t.is(err.message, 'berth-runtime exec: exec `missing`: No such file or directory');
  t.is(err.details.exitCode, 127);
});

test("client.run in the foreground returns the program's output; detached it passes --detach", async (t) => {
  const f = await fake(t);
  t.deepEqual(await f.client.run('r', '/bundles/r'), { code: 0, stdout: 'hello\n', stderr: 'program stderr\n' });
  await f.client.run('r', '/bundles/r', { detach: true });
  t.deepEqual((await f.argv()).slice(3), ['run', '--detach', '--bundle', '/bundles/r', 'r']);
});

test('client.status, exists and exitStatus: ENOENT from the runtime is "no such container", any other errno an error', async (t) => {
  const f = await fake(t);
  t.is(await f.client.status('web.1'), 'running');
  t.true(await f.client.exists('web.1'));
  t.is(await f.client.status('gone'), undefined);
  t.false(await f.client.exists('gone'));
  t.is(await f.client.exitStatus('gone'), undefined);
  t.is(await f.client.exitStatus('web.1'), undefined, 'a running container has not ended');
  t.is((await runtimeError(t, f.client.exists('denied'))).errno, 13);
  t.deepEqual(await f.client.exitStatus('ended'), { exitCode: 137, finishedAt: '2026-01-01T12:00:02.000Z', oomKilled: false });
  await mkdir(join(f.dir, 'state', 'ended'), { recursive: true });
  await writeFile(
    join(f.dir, 'state', 'ended', 'exit.json'),
    JSON.stringify({ exitCode: 137, signal: 'Killed', finishedAt: '2026-01-01T12:00:02.000Z', oomKilled: false }),
  );
  t.deepEqual(await f.client.exitStatus('ended'), { exitCode: 137, signal: 'Killed', finishedAt: '2026-01-01T12:00:02.000Z', oomKilled: false });
  t.deepEqual(await f.client.exitStatus('cut-short'), {}, 'a create that never finished recorded nothing');
});

test('client network verbs: create, inspect (undefined when missing), update; address from the lease', async (t) => {
  const f = await fake(t);
  await f.client.networkCreate('berth0', { subnet: '10.88.0.0/16', nat: false });
  t.deepEqual((await f.argv()).slice(3), ['network', 'create', '--subnet', '10.88.0.0/16', '--no-nat', 'berth0']);
  await f.client.networkCreate('berth1');
  t.deepEqual((await f.argv()).slice(3), ['network', 'create', 'berth1']);
  const taken = await runtimeError(t, f.client.networkCreate('taken'));
  t.is(taken.errno, 17);
  t.is(taken.command, 'network create');
  await f.client.networkUpdate('berth0', { nat: true });
  t.deepEqual((await f.argv()).slice(3), ['network', 'update', '--nat', 'berth0']);
  const info = await f.client.networkInspect('berth0');
  t.like(info, { name: 'berth0', subnet: '10.88.0.0/16', nat: true, links: [['app', 'db']] });
  t.deepEqual(
    info?.containers.map((c) => [c.id, c.address, c.group]),
    [['netted', '10.88.0.2', 'app']],
  );
  t.is(await f.client.networkInspect('nonet'), undefined);
  t.deepEqual(await f.client.address('netted'), { network: 'berth0', address: '10.88.0.2' });
  t.deepEqual(await f.client.address('netted', 'berth9'), { network: 'berth9', address: '10.88.0.2' });
  t.deepEqual((await f.argv()).slice(3), ['network', 'inspect', 'berth9'], 'with the network given, no state call');
  t.is(await f.client.address('web.1'), undefined, 'no berth.network annotation: no address');
  t.is(await f.client.address('gone'), undefined);
  t.is(await f.client.address('other', 'berth0'), undefined, 'no lease for it');
});

test('runtimeArgv: network names and subnets are validated, not repaired', (t) => {
  refused(t, () => runtimeArgv(g, { command: 'network-inspect', name: '--force' }), 'E_BERTH_INTERNAL', /network name "--force"/);
  refused(t, () => runtimeArgv(g, { command: 'network-update', name: 'a-very-long-network-name', nat: true }), 'E_BERTH_INTERNAL', /network name/);
  refused(t, () => runtimeArgv(g, { command: 'network-create', name: 'n', subnet: '--no-nat', nat: true }), 'E_BERTH_INTERNAL', /subnet "--no-nat"/);
});

test('client: a missing binary is E_EXEC_NOT_FOUND with the build command as hint', async (t) => {
  const dir = await tempDir(t);
  const client = new RuntimeClient({ binary: join(dir, 'no-such-runtime'), root: dir });
  const err = await t.throwsAsync(client.version(), { instanceOf: BerthError });
  if (!(err instanceof BerthError)) return;
  t.is(err.code, 'E_EXEC_NOT_FOUND');
  t.regex(err.hint, /make -C native/);
});

test("RuntimeClient defaults to this checkout's native/build/berth-runtime and refuses a relative root", (t) => {
  t.true(defaultRuntimeBinary.endsWith('/native/build/berth-runtime'));
  t.is(new RuntimeClient({ root: '/run/berth' }).binary, defaultRuntimeBinary);
  t.throws(() => new RuntimeClient({ root: 'run/berth' }), { instanceOf: BerthError, message: /root must be an absolute path/ });
});

// ---- the real binary: its version, and an error about a container that does not exist.

function requireRuntime(t: ExecutionContext): void {
  if (!existsSync(defaultRuntimeBinary)) t.fail(`${defaultRuntimeBinary} is missing: build it with \`make -C native\``);
}

test('the real berth-runtime answers --version through the client', async (t) => {
  requireRuntime(t);
  const client = new RuntimeClient({ root: await tempDir(t) });
  t.regex(await client.version(), /^berth-runtime \d+\.\d+\.\d+/);
});

test("the real berth-runtime's error for an unknown container becomes a RuntimeError", async (t) => {
  requireRuntime(t);
  const client = new RuntimeClient({ root: await tempDir(t) });
  const err = await runtimeError(t, client.state('no-such-container'));
  t.is(err.containerId, 'no-such-container');
  t.true(err.message.startsWith('berth-runtime state: '), err.message);
  t.regex(err.message, /no-such-container/);
});
