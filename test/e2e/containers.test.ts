/**
 * `berth container:*` through the real daemon, the built CLI and the busybox base image:
 * foreground runs with their output and exit codes, stdin, a detached container's life
 * (ls, logs, exec, stop/start keeping its files, commit, stats, kill, rm), an interactive
 * shell under a pseudo-terminal (python3's pty module drives it), detach with Ctrl-P Ctrl-Q,
 * and errors as the CLI renders them. Each test has its own state root and bridge.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueBridge } from '../helpers/network.js';
import { requireBinary, requireRoot } from '../helpers/prereq.js';
import { runtimeBinary } from '../helpers/runtime.js';
import { cliPath, runCli, startTestDaemon, type CliResult } from '../helpers/start-daemon.js';
import { underPty } from '../helpers/pty.js';
import { tempDir } from '../helpers/temp-dir.js';
import { freePort } from '../../server/core/index.js';

interface Daemon {
  env: NodeJS.ProcessEnv;
  cli: (...args: string[]) => Promise<CliResult>;
  /** Run the CLI and require exit 0; its stdout. */
  ok: (...args: string[]) => Promise<string>;
}

function runtime(root: string, args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(runtimeBinary, ['--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr ?? '', stdout: r.stdout ?? '' };
}

/** A daemon with a state root and a bridge of this test's own, and the busybox image. */
async function containerDaemon(t: ExecutionContext): Promise<Daemon> {
  // A daemon, the busybox image and dozens of CLI runs: well within this, even on a loaded machine.
  t.timeout(4 * 60_000);
  requireRoot('containers');
  requireBinary('/usr/sbin/nft', 'nftables');
  const dir = await tempDir(t, 'berth-ctr-e2e-');
  const root = join(dir, 'run');
  const network = uniqueBridge();
  // Registered before the daemon's teardown, so it runs after the daemon has stopped (LIFO).
  t.teardown(() => {
    for (const id of existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('.')) : []) runtime(root, ['delete', '--force', id]);
    const rm = runtime(root, ['network', 'rm', '--force', network]);
    if (rm.status !== 0 && !/does not exist|no network/i.test(rm.stderr)) throw new Error(`network rm --force ${network}: ${rm.stderr}`);
  });
  const d = await startTestDaemon(t, { BERTH_RUNTIME_ROOT: root, BERTH_NETWORK: network });
  const cli = (...args: string[]) => runCli(args, d.env);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    t.is(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('image:base', 'busybox');
  return { env: d.env, cli, ok };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('foreground runs: output, exit codes, stdin, environment, --rm, start -a', async (t) => {
  const d = await containerDaemon(t);
  const hi = await d.cli('container:run', 'busybox', 'echo', 'hi');
  t.deepEqual([hi.code, hi.stdout], [0, 'hi\n'], hi.stderr);

  t.is((await d.cli('container:run', 'busybox', 'sh', '-c', 'exit 3')).code, 3);
  const split = await d.cli('container:run', 'busybox', 'sh', '-c', 'echo out; echo err >&2');
  t.deepEqual([split.code, split.stdout, split.stderr], [0, 'out\n', 'err\n']);

  const piped = await runCli(['container:run', '-i', 'busybox', 'cat'], d.env, 'data\nmore\n');
  t.deepEqual([piped.code, piped.stdout], [0, 'data\nmore\n'], piped.stderr);
  const counted = await runCli(['container:run', '-i', 'busybox', 'wc', '-c'], d.env, 'x'.repeat(5_000_000));
  t.is(counted.stdout.trim(), '5000000', counted.stderr);

  const env = await runCli(
    ['container:run', '-e', 'FROM_CLI', '-e', 'A=1', '-e', 'UNSET_HERE', 'busybox', 'sh', '-c', 'echo "$FROM_CLI $A ${UNSET_HERE-unset}"'],
    { ...d.env, FROM_CLI: 'x y' },
  );
  t.is(env.stdout, 'x y 1 unset\n', env.stderr);

  const named = `rm-${Date.now().toString(36)}`;
  t.is((await d.cli('container:run', '--rm', '--name', named, 'busybox', 'true')).code, 0);
  await until('the --rm container to be removed', async () => ((await d.ok('container:ls', '-a')).includes(named) ? undefined : true));

  const tty = await d.cli('container:run', '-t', 'busybox', 'sh', '-c', 'tty; echo "a\tb"');
  t.deepEqual([tty.code, tty.stdout], [0, '/dev/pts/0\r\na\tb\r\n'], '-t without -i: a terminal (its own line endings), no input');

  // Ctrl-C without a terminal: the CLI forwards SIGINT to the container (Docker's --sig-proxy).
  const trapped = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cliPath, 'container:run', 'busybox', 'sh', '-c', 'trap "echo got INT; exit 9" INT; echo ready; while true; do sleep 0.1; done'],
      { env: d.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout === 'ready\n') child.kill('SIGINT');
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  t.deepEqual([trapped.code, trapped.stdout], [9, 'ready\ngot INT\n'], trapped.stderr);

  // A reader that goes away: the CLI ends as a program killed by SIGPIPE (141), without a trace.
  const head = spawnSync(
    '/bin/bash',
    ['-c', `"${process.execPath}" "${cliPath}" container:run busybox seq 1 300000 | head -1; echo "status \${PIPESTATUS[0]}"`],
    { env: d.env, encoding: 'utf8', timeout: 60_000 },
  );
  t.is(head.stdout, '1\nstatus 141\n', head.stderr);
  t.is(head.stderr, '');

  t.is((await d.cli('container:run', '--name', 'twice', 'busybox', 'sh', '-c', 'echo run; exit 2')).stdout, 'run\n');
  const again = await d.cli('container:start', '-a', 'twice');
  t.deepEqual([again.code, again.stdout], [2, 'run\n'], again.stderr);
});

test("errors as the CLI renders them, with Docker's statuses: 125 from Berth, 127 for a missing program, 1 for the other commands", async (t) => {
  const d = await containerDaemon(t);
  const image = await d.cli('container:run', 'nosuch:1', 'true');
  t.is(image.code, 125);
  t.regex(image.stderr, /no image nosuch:1 in the store .*\[E_IMAGE_NOT_FOUND\]/);
  const memory = await d.cli('container:run', '-m', '12x', 'busybox', 'true');
  t.is(memory.code, 125);
  t.regex(memory.stderr, /argument '12x' is invalid\. "12x" is not a size: write a number with an optional unit b, k, m or g/);
  const program = await d.cli('container:run', 'busybox', 'no-such-program');
  t.is(program.code, 127, program.stderr);
  t.regex(program.stderr, /no-such-program/);
  for (const args of [
    ['container:stop', 'nosuchcontainer'],
    ['container:logs', 'nosuchcontainer'],
    ['container:inspect', 'nosuchcontainer'],
  ]) {
    const r = await d.cli(...args);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, /nosuchcontainer.*\[E_CONTAINER_NOT_FOUND\]/, args.join(' '));
  }
  const publish = await d.cli('container:run', '-p', '0.0.0.0:8080:80', 'busybox', 'true');
  t.is(publish.code, 125);
  t.regex(publish.stderr, /ports are published on 127\.0\.0\.1 only/);
  await d.ok('container:run', '-d', '--name', 'dup', 'busybox', 'sleep', '60');
  const dup = await d.cli('container:run', '--name', 'dup', 'busybox', 'true');
  t.is(dup.code, 125);
  t.regex(dup.stderr, /dup.*\[E_CONTAINER_NAME_IN_USE\]/);
  const both = await d.cli('container:rm', '-f', 'nosuch1', 'dup', 'nosuch2');
  t.deepEqual([both.code, both.stdout], [1, 'dup\n'], 'rm goes on after a failure and exits 1 at the end');
  t.is(both.stderr.match(/\[E_CONTAINER_NOT_FOUND\]/g)?.length, 2);
  const exec = await d.cli('container:exec', 'nosuchcontainer', 'true');
  t.is(exec.code, 125);
  t.regex(exec.stderr, /\[E_CONTAINER_NOT_FOUND\]/);
});

test('a detached container: ls, logs, exec, stats, inspect, a published port, kill, rm', async (t) => {
  const d = await containerDaemon(t);
  const id = (
    await d.ok('container:run', '-d', '--name', 'web', '-m', '64m', 'busybox', 'sh', '-c', 'echo started; echo oops >&2; while true; do sleep 1; done')
  ).trim();
  t.regex(id, /^[0-9a-f]{64}$/);

  const ls = await d.ok('container:ls');
  t.regex(ls, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/m);
  t.regex(ls, new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c echo started;…"\\s+(Less than a second|\\d+ seconds?) ago\\s+Up .+\\s+web$`, 'm'));
  t.is(await d.ok('container:ls', '-q'), `${id.slice(0, 12)}\n`);

  await until('the log', async () => ((await d.cli('container:logs', 'web')).stdout === 'started\n' ? true : undefined));
  const logs = await d.cli('container:logs', 'web');
  t.is(logs.stderr, 'oops\n');
  const last = await d.cli('container:logs', '-t', '--tail', '1', id.slice(0, 8));
  t.regex(last.stdout + last.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z (started|oops)\n$/);

  const inside = await d.cli('container:exec', 'web', 'sh', '-c', 'echo inside; echo $E; exit 4');
  t.deepEqual([inside.code, inside.stdout], [4, 'inside\n\n']);
  t.is((await d.cli('container:exec', '-e', 'E=set', '-w', '/tmp', 'web', 'sh', '-c', 'echo $E $PWD')).stdout, 'set /tmp\n');

  const stats = await d.ok('container:stats', '--no-stream', 'web');
  t.regex(stats, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS\n/);
  t.regex(stats, new RegExp(`^${id.slice(0, 12)}\\s+web\\s+\\d+\\.\\d\\d%\\s+[\\d.]+\\w?i?B / 64MiB\\s+\\d+\\.\\d\\d%\\s+\\d+$`, 'm'));
  const [view] = JSON.parse(await d.ok('container:inspect', 'web')) as { id: string; name: string; state: string; limits: { memoryBytes?: number } }[];
  t.like(view, { id, name: 'web', state: 'running', limits: { memoryBytes: 64 * 1024 * 1024 } });

  const port = await freePort();
  const httpd = (
    await d.ok(
      'container:run',
      '-d',
      '-p',
      `${port}:8080`,
      'busybox',
      'sh',
      '-c',
      'mkdir /www && echo published > /www/index.html && exec httpd -f -p 8080 -h /www',
    )
  ).trim();
  t.regex(await d.ok('container:ls'), new RegExp(`^${httpd.slice(0, 12)} .*127\\.0\\.0\\.1:${port}->8080/tcp`, 'm'));
  const page = await until('the published port to answer', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.ok ? res.text() : undefined;
  });
  t.is(page, 'published\n');
  t.is(await d.ok('container:rm', '-f', httpd), `${httpd}\n`);

  // The image a container uses keeps its last tag unless forced; prune keeps its blobs either way.
  const inUse = await d.cli('image:rm', 'busybox');
  t.is(inUse.code, 1);
  t.regex(inUse.stderr, /\[E_IMAGE_IN_USE\]/);
  t.regex(await d.ok('image:rm', '-f', 'busybox'), /^Untagged: busybox:latest/);
  t.regex(await d.ok('image:prune'), /^Deleted 0 blobs/);
  t.regex(await d.ok('container:exec', 'web', 'echo', 'still here'), /^still here\n$/);
  t.regex(await d.ok('image:base', 'busybox'), /^busybox:latest sha256:/, 'the same image, tagged again');

  const running = await d.cli('container:rm', 'web');
  t.is(running.code, 1);
  t.regex(running.stderr, /\[E_CONTAINER_RUNNING\]/);
  t.is(await d.ok('container:kill', 'web'), 'web\n');
  await until('the kill to be recorded', async () => (/Exited \(137\)/.test(await d.ok('container:ls', '-a')) ? true : undefined));
  t.is(await d.ok('container:rm', 'web'), 'web\n');
  const other = (await d.ok('container:run', '-d', 'busybox', 'sleep', '60')).trim();
  t.is(await d.ok('container:rm', '-f', other.slice(0, 6)), `${other.slice(0, 6)}\n`);
  t.is((await d.ok('container:ls', '-a', '-q')).trim(), '');
});

test("stop and start keep a container's files; commit makes an image of them", async (t) => {
  const d = await containerDaemon(t);
  await d.ok('container:run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'while true; do sleep 1; done');
  t.is((await d.cli('container:exec', 'web', 'sh', '-c', 'echo kept > /data.txt')).code, 0);
  t.is((await runCli(['container:exec', '-i', 'web', 'sh', '-c', 'cat > /in.txt'], d.env, 'via stdin\n')).code, 0);
  t.is(await d.ok('container:exec', 'web', 'cat', '/in.txt'), 'via stdin\n');

  const followed = (await d.ok('container:run', '-d', 'busybox', 'sh', '-c', 'echo one; sleep 1; echo two')).trim();
  t.is(await d.ok('container:logs', '-f', followed), 'one\ntwo\n', 'logs -f follows until the container stops');
  await d.ok('container:rm', followed);

  t.is(await d.ok('container:stop', '-t', '1', 'web'), 'web\n');
  t.regex(await d.ok('container:ls', '-a'), /Exited \(\d+\) .*ago\s+web$/m);
  t.regex(await d.ok('container:ls'), /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n$/, 'no running container');
  t.is(await d.ok('container:start', 'web'), 'web\n');
  t.is(await d.ok('container:exec', 'web', 'cat', '/data.txt'), 'kept\n', 'the writable layer survives stop and start');

  t.regex(await d.ok('container:commit', '-m', 'snapshot', 'web', 'snap:1'), /^sha256:[0-9a-f]{64}\n$/);
  const fromSnap = await d.cli('container:run', '--rm', 'snap:1', 'cat', '/data.txt');
  t.deepEqual([fromSnap.code, fromSnap.stdout], [0, 'kept\n'], fromSnap.stderr);
  await d.ok('container:commit', '-c', 'CMD ["cat", "/in.txt"]', '-c', 'ENV FROM_COMMIT=1', 'web', 'snap:2');
  t.is((await d.cli('container:run', '--rm', 'snap:2')).stdout, 'via stdin\n');
  t.is((await d.cli('container:run', '--rm', 'snap:2', 'sh', '-c', 'echo $FROM_COMMIT')).stdout, '1\n');
  t.is(await d.ok('container:rm', '-f', 'web'), 'web\n');
});

/**
 * Drives a program under a pseudo-terminal of `rows`x`cols`: steps send bytes, expect a
 * regex (searched after the previous match), resize the terminal, or sleep; every wait is
 * bounded. Prints JSON {status, output, error?}.
 */
test('container:run -it: a real shell under a terminal, its size and resizes, its exit status; Ctrl-P Ctrl-Q detaches', async (t) => {
  const d = await containerDaemon(t);
  const cli = [process.execPath, cliPath];
  const shell = await underPty(
    [...cli, 'container:run', '-it', '--name', 'tty', 'busybox', 'sh'],
    d.env,
    [33, 111],
    [
      { expect: '/ # ' },
      { send: 'echo $((6*7))\r' },
      { expect: '\r\n42\r\n' },
      { send: 'stty size\r' },
      { expect: '\r\n33 111\r\n' },
      { resize: [40, 120] },
      { sleep: 1 },
      { send: 'stty size\r' },
      { expect: '\r\n40 120\r\n' },
      { send: 'tty\r' },
      { expect: '\r\n/dev/pts/\\d+\r\n' },
      { send: 'exit 5\r' },
    ],
  );
  t.is(shell.error, null, shell.output);
  t.is(shell.status, 5, shell.output);
  t.false(shell.output.includes('\r\r\n'), 'the local terminal is raw on output too (no second CR)');
  t.regex(await d.ok('container:ls', '-a'), /Exited \(5\) .* tty$/m);

  const detached = await underPty(
    [...cli, 'container:run', '-it', '--name', 'keep', 'busybox', 'sh'],
    d.env,
    [24, 80],
    [{ expect: '/ # ' }, { send: 'echo marker > /m.txt\r' }, { expect: '/ # ' }, { send: '\x10\x11' }],
  );
  t.is(detached.error, null, detached.output);
  t.is(detached.status, 0, detached.output);
  // busybox's line editing asks the terminal where the cursor is (ESC [6n) after its prompt.
  t.regex(detached.output, /marker > \/m\.txt\r\n\/ # (\x1b\[6n)?$/, 'nothing is printed on detach');
  t.regex(await d.ok('container:ls'), /Up .*\s+keep$/m, 'the container keeps running');
  t.is(await d.ok('container:exec', 'keep', 'cat', '/m.txt'), 'marker\n');

  const exec = await underPty(
    [...cli, 'container:exec', '-it', 'keep', 'sh'],
    d.env,
    [30, 100],
    [{ expect: '/ # ' }, { send: 'stty size; cat /m.txt\r' }, { expect: '\r\n30 100\r\nmarker\r\n' }, { send: 'exit 7\r' }],
  );
  t.is(exec.error, null, exec.output);
  t.is(exec.status, 7, exec.output);
  t.is(await d.ok('container:rm', '-f', 'keep'), 'keep\n');
});
