/**
 * Atomic writes: the right content and mode, no temp file after a failure, and, with a
 * writer SIGKILLed at random moments, never a half-written file.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, errorTable, removeStaleTempFiles, writeFileAtomic } from '../../../server/core/index.js';

const projectDir = fileURLToPath(new URL('../../../', import.meta.url));
const writerScript = fileURLToPath(new URL('../../fixtures/atomic-writer.ts', import.meta.url));

/** A fresh temp dir, removed when the test ends. */
async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-atomic-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the writer fixture under tsx. `onOutput` sees its stdout so far after every chunk and
 * may kill it; the promise resolves when it has exited.
 */
function runWriter(args: string[], onOutput?: (stdout: string, kill: () => void) => void): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, ...args], {
    cwd: projectDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    onOutput?.(stdout, () => child.kill('SIGKILL'));
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('writeFileAtomic writes the content, with mode 0644 by default', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'state.json');
  await writeFileAtomic(path, '{"ok":true}\n');
  t.is(await readFile(path, 'utf8'), '{"ok":true}\n');
  t.is(await modeOf(path), 0o644);
  t.deepEqual(await readdir(dir), ['state.json'], 'no temp file is left');
});

test('writeFileAtomic writes bytes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'blob');
  const bytes = new Uint8Array([0, 1, 2, 255, 0]);
  await writeFileAtomic(path, bytes);
  t.deepEqual(new Uint8Array(await readFile(path)), bytes);
});

test('writeFileAtomic gives the requested mode', async (t) => {
  const dir = await tempDir(t);
  for (const mode of [0o600, 0o640, 0o755, 0o444]) {
    const path = join(dir, `file-${mode.toString(8)}`);
    await writeFileAtomic(path, 'secret', { mode });
    t.is(await modeOf(path), mode, `mode ${mode.toString(8)}`);
  }
});

// The umask cannot be changed in ava's worker thread, so these run the fixture in a process.
for (const { umask, mode } of [
  { umask: 0o000, mode: 0o600 },
  { umask: 0o000, mode: 0o644 },
  { umask: 0o077, mode: 0o644 },
  { umask: 0o027, mode: 0o664 },
]) {
  test(`writeFileAtomic gives mode ${mode.toString(8)} under umask ${umask.toString(8).padStart(3, '0')}`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'api-token');
    const result = await runWriter(['once', path, mode.toString(8), umask.toString(8), 'token']);
    t.is(result.code, 0, result.stderr);
    t.is(await readFile(path, 'utf8'), 'token');
    t.is(await modeOf(path), mode);
  });
}

test('writeFileAtomic replaces existing content and mode', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'state.json');
  await writeFile(path, 'old content that is longer than the new one', { mode: 0o644 });
  await writeFileAtomic(path, 'new', { mode: 0o600 });
  t.is(await readFile(path, 'utf8'), 'new');
  t.is(await modeOf(path), 0o600);
  await writeFileAtomic(path, 'newer');
  t.is(await readFile(path, 'utf8'), 'newer');
  t.deepEqual(await readdir(dir), ['state.json']);
});

test('writeFileAtomic into a missing directory is E_FILE_WRITE_FAILED and leaves nothing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'missing', 'state.json');
  const err = await t.throwsAsync(writeFileAtomic(path, 'x'), { instanceOf: BerthError });
  t.is(err?.code, 'E_FILE_WRITE_FAILED');
  t.true(err?.message.includes(`cannot write ${path}`), err?.message);
  t.true(err?.message.includes('ENOENT'), err?.message);
  t.is(err?.hint, errorTable.E_FILE_WRITE_FAILED.hint);
  t.deepEqual(err?.details, { path });
  t.is((err?.cause as NodeJS.ErrnoException).code, 'ENOENT');
  t.deepEqual(await readdir(dir), []);
});

test('a failed rename is E_FILE_WRITE_FAILED, removes the temp file and keeps the target', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'target');
  await mkdir(path); // a directory: the temp file is written, then the rename over it fails
  await writeFile(join(path, 'inside'), 'kept');
  const err = await t.throwsAsync(writeFileAtomic(path, 'x'), { instanceOf: BerthError });
  t.is(err?.code, 'E_FILE_WRITE_FAILED');
  t.deepEqual(await readdir(dir), ['target'], 'the temp file is gone');
  t.is(await readFile(join(path, 'inside'), 'utf8'), 'kept');
});

test('removeStaleTempFiles removes only temp files and returns their names', async (t) => {
  const dir = await tempDir(t);
  await writeFileAtomic(join(dir, 'state.json'), 'kept');
  await writeFile(join(dir, 'notes.txt'), 'kept');
  await writeFile(join(dir, '.state.json.bak'), 'kept');
  // What writeFileAtomic names its temp file (".<name>.berth-tmp-<hex>"), as a crash leaves it.
  const stale = ['.state.json.berth-tmp-0123456789ab', '.other.berth-tmp-ba9876543210'];
  for (const name of stale) await writeFile(join(dir, name), 'half');
  t.deepEqual((await removeStaleTempFiles(dir)).sort(), [...stale].sort());
  t.deepEqual((await readdir(dir)).sort(), ['.state.json.bak', 'notes.txt', 'state.json']);
  t.deepEqual(await removeStaleTempFiles(dir), []);
});

test('removeStaleTempFiles in a missing directory rejects', async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(removeStaleTempFiles(join(dir, 'missing')));
});

// ------------------------------------------------------------------ crash test

const SIZE = 8 * 1024 * 1024;
const ROUNDS = 15;
const MAX_DELAY_MS = 250;

/** The file is a complete version: exactly SIZE bytes, all one value. Returns that value. */
async function completeVersion(t: ExecutionContext, path: string): Promise<number> {
  const data = await readFile(path);
  t.is(data.length, SIZE, `${path} has ${data.length} bytes, not ${SIZE}`);
  const value = data[0] ?? -1;
  t.true(data.equals(Buffer.alloc(SIZE, value)), `${path} mixes byte values: a torn write`);
  return value;
}

test('a writer killed at random moments leaves the old or the new file, never a torn one', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'state.bin');
  let current: number | undefined; // the version on disk; undefined while the file was never written
  let changed = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const delay = Math.floor(Math.random() * MAX_DELAY_MS);
    const firstByte = (round * 16 + 1) % 256;
    // Even rounds: kill at a random moment after start-up, maybe before any write completed.
    // Odd rounds: after the first completed write, so the file moves on even on a slow disk.
    const trigger = round % 2 === 0 ? /^ready$/m : /^done \d+$/m;
    let armed = false;
    const result = await runWriter(['loop', target, String(SIZE), String(firstByte)], (stdout, kill) => {
      if (armed || !trigger.test(stdout)) return;
      armed = true;
      setTimeout(kill, delay);
    });
    t.is(result.signal, 'SIGKILL', `round ${round}: the writer must be killed, not exit (${result.stderr})`);
    const started = new Set([...result.stdout.matchAll(/^start (\d+)$/gm)].map((m) => Number(m[1])));

    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (!exists) {
      t.true(current === undefined && round % 2 === 0, `round ${round}: the file is missing after a completed write`);
      continue;
    }
    const value = await completeVersion(t, target);
    t.true(value === current || started.has(value), `round ${round}: value ${value} was neither the old version nor written this round`);
    if (round % 2 === 1) t.true(started.has(value), `round ${round}: a write completed, yet the file holds ${value} from before`);
    if (value !== current) changed++;
    current = value;

    const temps = (await readdir(dir)).filter((n) => n !== 'state.bin');
    t.true(temps.length <= round + 1, `round ${round}: at most one temp file per killed writer, found ${temps.join(', ')}`);
  }
  t.log(`${ROUNDS} kills, ${changed} rounds changed the file`);

  const leftovers = (await readdir(dir)).filter((n) => n !== 'state.bin').sort();
  t.true(
    leftovers.every((n) => n.startsWith('.state.bin.berth-tmp-')),
    leftovers.join(', '),
  );
  t.log(`${leftovers.length} temp files left by the kills`);
  t.deepEqual((await removeStaleTempFiles(dir)).sort(), leftovers);
  t.deepEqual(await readdir(dir), ['state.bin']);
  t.is<number | undefined, number | undefined>(await completeVersion(t, target), current, 'removing temp files does not touch the target');
});

test('the crash test fixture refuses bad arguments', async (t) => {
  const result = await runWriter(['nonsense']);
  t.is(result.code, 2);
  t.true(result.stderr.includes('usage'));
});
