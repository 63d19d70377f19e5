/** runStreaming: argv only, lines as they come, abort and timeout that leave no process behind. */
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { BerthError } from '../../../server/core/errors.js';
import { runStreaming, type OutputStream } from '../../../server/core/exec.js';

/** Whether `pid` is a live process (a zombie waiting for its reaper is not). */
async function alive(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  return status !== undefined && !/^State:\s+Z/m.test(status);
}

/** Poll (bounded: SIGKILL takes a moment to land) until none of `pids` lives; fail naming any left. */
async function noneAlive(t: ExecutionContext, pids: number[]): Promise<void> {
  let left = pids;
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    left = (await Promise.all(pids.map(async (p) => ((await alive(p)) ? p : undefined)))).filter((p): p is number => p !== undefined);
  }
  t.deepEqual(left, [], `processes left behind: ${left.join(' ')}`);
}

/** Kill whatever pids a test learned of, if it failed before they were gone. */
function reapPids(t: ExecutionContext, pids: number[]): void {
  t.teardown(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone: what the test wants
      }
    }
  });
}

/** A shell that prints its own pid and its background child's, then waits on a second child. */
const forking = ['sh', '-c', 'echo $$; sleep 60 & echo $!; sleep 60'];

async function startForking(t: ExecutionContext, options: Parameters<typeof runStreaming>[1]): Promise<{ run: Promise<void>; pids: number[] }> {
  const pids: number[] = [];
  reapPids(t, pids);
  let seen!: () => void;
  const twoPids = new Promise<void>((r) => (seen = r));
  const run = runStreaming(forking, {
    ...options,
    onLine: (line) => {
      pids.push(Number(line));
      if (pids.length === 2) seen();
    },
  });
  run.catch(() => undefined);
  await Promise.race([twoPids, run]);
  t.is(pids.length, 2, "the shell printed its pid and its child's");
  return { run, pids };
}

test('abort kills the whole process group: neither the child nor its children are left', async (t) => {
  const controller = new AbortController();
  const { run, pids } = await startForking(t, { signal: controller.signal });
  for (const pid of pids) t.true(await alive(pid), `process ${pid} runs before the abort`);
  controller.abort(new Error('user pressed ^C'));
  const err = await t.throwsAsync(run, { instanceOf: BerthError });
  t.is(err?.code, 'E_EXEC_FAILED');
  t.regex(err?.message ?? '', /sh -c .* was aborted/);
  t.is((err?.cause as Error | undefined)?.message, 'user pressed ^C');
  t.is((err as BerthError).details?.aborted, true);
  await noneAlive(t, pids);
});

test('the timeout kills the whole process group and says so', async (t) => {
  const started = Date.now();
  const { run, pids } = await startForking(t, { timeoutMs: 3000 });
  const err = await t.throwsAsync(run, { instanceOf: BerthError });
  t.true(Date.now() - started < 30_000, 'it did not wait for sleep 60');
  t.is(err?.code, 'E_EXEC_FAILED');
  t.regex(err?.message ?? '', /timed out after 3000 ms and was killed/);
  t.is((err as BerthError).details?.timedOut, true);
  await noneAlive(t, pids);
});

test('a program that exits leaves nothing it started behind, even holding the output', async (t) => {
  const pids: number[] = [];
  reapPids(t, pids);
  // The background sleep keeps stdout open: without the group kill this would wait a minute.
  await runStreaming(['sh', '-c', 'sleep 60 & echo $!'], { onLine: (l) => pids.push(Number(l)), timeoutMs: 30_000 });
  t.is(pids.length, 1);
  await noneAlive(t, pids);
});

test('an already aborted signal starts nothing', async (t) => {
  const controller = new AbortController();
  controller.abort();
  const lines: string[] = [];
  const err = await t.throwsAsync(runStreaming(['sh', '-c', 'echo ran'], { signal: controller.signal, onLine: (l) => lines.push(l) }), {
    instanceOf: BerthError,
  });
  t.regex(err?.message ?? '', /aborted before it started/);
  t.deepEqual(lines, []);
});

test('lines reach the callback in order, per stream, without their newlines', async (t) => {
  const got: [string, OutputStream][] = [];
  const script = ['for i in 1 2 3 4 5; do echo "out $i"; echo "err $i" >&2; done', "printf 'crlf\\r\\n'", "printf 'ü split'"].join('; ');
  await runStreaming(['sh', '-c', script], { onLine: (line, stream) => got.push([line, stream]) });
  const out = got.filter(([, s]) => s === 'stdout').map(([l]) => l);
  const err = got.filter(([, s]) => s === 'stderr').map(([l]) => l);
  t.deepEqual(out, ['out 1', 'out 2', 'out 3', 'out 4', 'out 5', 'crlf', 'ü split']);
  t.deepEqual(err, ['err 1', 'err 2', 'err 3', 'err 4', 'err 5']);
});

test('lines come as they are printed, not when the program ends', async (t) => {
  const controller = new AbortController();
  let first: string | undefined;
  const run = runStreaming(['sh', '-c', 'echo early; sleep 60'], {
    signal: controller.signal,
    onLine: (line) => {
      first = line;
      controller.abort();
    },
  });
  await t.throwsAsync(run, { instanceOf: BerthError, message: /aborted/ });
  t.is(first, 'early');
});

test('a multi-byte character cut across chunks and a line longer than the pipe arrive whole', async (t) => {
  const lines: string[] = [];
  const long = 'é'.repeat(70_000); // 140,000 bytes: several pipe reads, and more than 64 Ki characters
  await runStreaming([process.execPath, '-e', `process.stdout.write('é'.repeat(70_000) + '\\nend')`], { onLine: (l) => lines.push(l) });
  t.is(lines.length, 3, 'a line over 64 KiB comes in two pieces, then the last line');
  t.is(lines[0]!.length, 64 * 1024);
  t.is(lines[0]! + lines[1]!, long);
  t.is(lines[2], 'end');
});

test('a failure carries the last lines of output in its message', async (t) => {
  const script = 'for i in $(seq 1 30); do echo "line $i"; done; echo "the real reason" >&2; exit 3';
  const err = await t.throwsAsync(runStreaming(['sh', '-c', script], { tailLines: 5 }), { instanceOf: BerthError });
  t.is(err?.code, 'E_EXEC_FAILED');
  t.regex(err?.message ?? '', /exited with code 3:\n/);
  const shown = err!.message.split('\n').slice(1);
  t.deepEqual(shown, ['line 27', 'line 28', 'line 29', 'line 30', 'the real reason']);
  t.is((err as BerthError).details?.code, 3);
});

test('arguments are passed verbatim, never through a shell; input reaches stdin', async (t) => {
  const nasty = 'a; echo $(id) `id` | cat > /tmp/x "q" \'s\' * ~';
  const lines: string[] = [];
  await runStreaming(['/bin/echo', nasty], { onLine: (l) => lines.push(l) });
  t.deepEqual(lines, [nasty]);
  const fromStdin: string[] = [];
  await runStreaming(['cat'], { input: 'one\ntwo\n', onLine: (l) => fromStdin.push(l) });
  t.deepEqual(fromStdin, ['one', 'two']);
});

test('a missing program is E_EXEC_NOT_FOUND with the install hint', async (t) => {
  const err = await t.throwsAsync(runStreaming(['berth-test-no-such-program-7f3a', 'x'], { installHint: 'berth-test-pkg' }), { instanceOf: BerthError });
  t.is(err?.code, 'E_EXEC_NOT_FOUND');
  t.regex(err?.message ?? '', /berth-test-no-such-program-7f3a is not installed/);
  t.is((err as BerthError).hint, 'Install it: apt-get install -y berth-test-pkg');
});

test('an empty argv is refused', async (t) => {
  await t.throwsAsync(runStreaming([]), { instanceOf: BerthError, code: 'E_EXEC_FAILED', message: /argument list is empty/ });
});

test("a line callback that throws stops the program, and its error is the run's", async (t) => {
  const pids: number[] = [];
  reapPids(t, pids);
  const run = runStreaming(['sh', '-c', 'echo $$; sleep 60'], {
    onLine: (l) => {
      pids.push(Number(l));
      throw new Error('cannot take this line');
    },
  });
  await t.throwsAsync(run, { message: 'cannot take this line' });
  await noneAlive(t, pids);
});

test('arguments too long for the kernel are E_EXEC_FAILED with the errno, not a bare error', async (t) => {
  const huge = 'x'.repeat(200_000); // over MAX_ARG_STRLEN (128 KiB)
  const err = await t.throwsAsync(runStreaming(['/bin/echo', huge]), { instanceOf: BerthError });
  t.is(err?.code, 'E_EXEC_FAILED');
  t.is((err as BerthError).details?.errno, 'E2BIG');
  t.true((err?.message.length ?? Infinity) < 1000, 'the message quotes the argument shortened');
});
