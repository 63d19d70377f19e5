/** Argv-only process spawning: no shell ever parses an argument. */
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { BerthError, errorTable, run, start, type ErrorCode } from '../../../server/core/index.js';
import { formatCommand } from '../../../server/core/exec.js';

const missing = 'berth-test-no-such-program-7f3a';

async function rejectsWith(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode): Promise<BerthError> {
  const err = await t.throwsAsync(promise, { instanceOf: BerthError });
  if (!(err instanceof BerthError)) throw new Error('expected a BerthError');
  t.is(err.code, code);
  return err;
}

/** Kill `child` (if it still runs) when the test ends, and wait for it. */
function reap(t: ExecutionContext, child: ChildProcess): void {
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  });
}

test('run passes arguments verbatim, without a shell', async (t) => {
  const nasty = 'hello; rm -rf / && echo $(id) `id` | cat > /tmp/x "quoted" \'single\' * ~ $HOME';
  const result = await run('/bin/echo', [nasty, '$(id)']);
  t.is(result.stdout, `${nasty} $(id)\n`);
  t.is(result.stderr, '');
  t.is(result.code, 0);
  t.is(result.signal, null);
});

test('run passes each argument as one argv entry', async (t) => {
  const args = ['a b', '', '--flag=x y', '\n', 'ünïcödé'];
  const result = await run(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args]);
  t.deepEqual(JSON.parse(result.stdout), args);
});

test('run writes input to stdin and closes it', async (t) => {
  const result = await run('/bin/cat', [], { input: 'line one\nline two; $(id)\n' });
  t.is(result.stdout, 'line one\nline two; $(id)\n');
});

test('run accepts a Buffer as input', async (t) => {
  const result = await run('/bin/cat', [], { input: Buffer.from([0x68, 0x69]) });
  t.is(result.stdout, 'hi');
});

test('run closes stdin when there is no input', async (t) => {
  const result = await run('/bin/cat', []);
  t.is(result.stdout, '');
  t.is(result.code, 0);
});

test('run uses cwd and env', async (t) => {
  const result = await run(process.execPath, ['-e', 'process.stdout.write(process.cwd() + " " + process.env.BERTH_TEST_VAR)'], {
    cwd: '/',
    env: { BERTH_TEST_VAR: 'set' },
  });
  t.is(result.stdout, '/ set');
});

test('a non-zero exit is E_EXEC_FAILED quoting the command, the exit code and stderr', async (t) => {
  const err = await rejectsWith(t, run('/bin/sh', ['-c', 'echo out; echo "something broke" >&2; exit 3']), 'E_EXEC_FAILED');
  t.true(err.message.includes('/bin/sh -c \'echo out; echo "something broke" >&2; exit 3\''), err.message);
  t.true(err.message.includes('exited with code 3'), err.message);
  t.true(err.message.includes('something broke'), err.message);
  t.false(err.message.includes('out\n'), 'stderr is quoted, not stdout, when there is stderr');
  t.is(err.details.code, 3);
  t.is(err.hint, errorTable.E_EXEC_FAILED.hint);
});

test('a failing program without stderr has its stdout quoted', async (t) => {
  const err = await rejectsWith(t, run('/bin/sh', ['-c', 'echo only stdout; exit 1']), 'E_EXEC_FAILED');
  t.true(err.message.includes('exited with code 1:\nonly stdout'), err.message);
});

test('a failing program quotes only the last 20 lines of its output', async (t) => {
  const err = await rejectsWith(t, run('/bin/sh', ['-c', 'for i in $(seq 1 30); do echo "line $i" >&2; done; exit 2']), 'E_EXEC_FAILED');
  t.true(err.message.includes('line 30'), err.message);
  t.true(err.message.includes('line 11\n'), err.message);
  t.false(err.message.includes('line 10\n'), err.message);
});

test('a silent failing program still names its exit code', async (t) => {
  const err = await rejectsWith(t, run('/bin/false', []), 'E_EXEC_FAILED');
  t.is(err.message, '/bin/false exited with code 1');
});

test('allowFailure resolves with the exit code and the output', async (t) => {
  const result = await run('/bin/sh', ['-c', 'echo out; echo err >&2; exit 7'], { allowFailure: true });
  t.is(result.code, 7);
  t.is(result.signal, null);
  t.is(result.stdout, 'out\n');
  t.is(result.stderr, 'err\n');
});

test('a missing program is E_EXEC_NOT_FOUND with the apt-get hint', async (t) => {
  const err = await rejectsWith(t, run(missing, ['--version'], { installHint: 'berth-test-pkg' }), 'E_EXEC_NOT_FOUND');
  t.true(err.message.includes(missing), err.message);
  t.true(err.message.includes('is not installed'), err.message);
  t.is(err.hint, 'Install it: apt-get install -y berth-test-pkg');
  t.is((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
  t.is(err.details.file, missing);
});

test('a missing program without installHint gets the table hint', async (t) => {
  const err = await rejectsWith(t, run(missing, []), 'E_EXEC_NOT_FOUND');
  t.is(err.hint, errorTable.E_EXEC_NOT_FOUND.hint);
});

test('a missing program is E_EXEC_NOT_FOUND even with allowFailure', async (t) => {
  await rejectsWith(t, run(missing, [], { allowFailure: true }), 'E_EXEC_NOT_FOUND');
});

test('a program that cannot be executed is E_EXEC_FAILED', async (t) => {
  const err = await rejectsWith(t, run('/', []), 'E_EXEC_FAILED');
  t.true(err.message.startsWith('/: '), err.message);
});

test('timeoutMs kills a program that runs too long', async (t) => {
  const err = await rejectsWith(t, run('/bin/sleep', ['30'], { timeoutMs: 200 }), 'E_EXEC_FAILED');
  t.true(err.message.includes('/bin/sleep 30 timed out after 200 ms and was killed'), err.message);
  t.is(err.details.signal, 'SIGKILL');
});

test('timeoutMs with allowFailure resolves with the signal', async (t) => {
  const result = await run('/bin/sleep', ['30'], { timeoutMs: 200, allowFailure: true });
  t.is(result.code, null);
  t.is(result.signal, 'SIGKILL');
});

test('a program that finishes within timeoutMs is not killed', async (t) => {
  const result = await run('/bin/echo', ['quick'], { timeoutMs: 30_000 });
  t.is(result.stdout, 'quick\n');
});

test('formatCommand leaves plain arguments alone', (t) => {
  t.is(
    formatCommand('/usr/bin/git', ['-C', '/var/lib/berth/apps/hello', 'push', 'origin', 'main']),
    '/usr/bin/git -C /var/lib/berth/apps/hello push origin main',
  );
  t.is(formatCommand('env', ['KEY=value', 'user@host:path', '50%', 'a+b,c', '--flag=1.2']), 'env KEY=value user@host:path 50% a+b,c --flag=1.2');
});

test('formatCommand quotes what a shell would interpret', (t) => {
  t.is(formatCommand('echo', ['a b']), "echo 'a b'");
  t.is(formatCommand('echo', ['']), "echo ''");
  t.is(formatCommand('echo', ['$(id)', '`id`', 'a;b', 'a|b', '*', '~', 'a&b', '$HOME']), "echo '$(id)' '`id`' 'a;b' 'a|b' '*' '~' 'a&b' '$HOME'");
  t.is(formatCommand('echo', ['line\nbreak']), "echo 'line\nbreak'");
  t.is(formatCommand('echo', ['"double"']), `echo '"double"'`);
  t.is(formatCommand('my prog', []), "'my prog'");
});

test('formatCommand escapes single quotes so the command can be pasted', async (t) => {
  t.is(formatCommand('echo', ["it's"]), `echo 'it'\\''s'`);
  // The quoted form, run by a real shell, gives back the original arguments.
  const args = ["it's", 'a b', '$(id)', "'", '', 'plain'];
  const script = formatCommand(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args]);
  const result = await run('/bin/sh', ['-c', script]);
  t.deepEqual(JSON.parse(result.stdout), args);
});

test('start resolves with a running child the caller owns', async (t) => {
  const child = await start('/bin/sleep', ['30'], { stdio: 'ignore' });
  reap(t, child);
  t.true(typeof child.pid === 'number' && child.pid > 0);
  t.is(child.exitCode, null);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  t.is(code, null);
  t.is(signal, 'SIGTERM');
});

test('start passes arguments verbatim and pipes by default', async (t) => {
  const child = await start('/bin/echo', ['$(id); rm -rf /']);
  reap(t, child);
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => chunks.push(b));
  await once(child, 'close');
  t.is(Buffer.concat(chunks).toString('utf8'), '$(id); rm -rf /\n');
});

test('start rejects a missing program with E_EXEC_NOT_FOUND and the apt-get hint', async (t) => {
  const err = await rejectsWith(t, start(missing, [], { installHint: 'nginx-light' }), 'E_EXEC_NOT_FOUND');
  t.true(err.message.includes(missing), err.message);
  t.is(err.hint, 'Install it: apt-get install -y nginx-light');
});

test('start rejects a program that cannot be executed with E_EXEC_FAILED', async (t) => {
  await rejectsWith(t, start('/', []), 'E_EXEC_FAILED');
});
