/**
 * One writer per store across processes: a real second Node process opens the same store;
 * whichever comes second gets E_IMAGE_STORE_LOCKED naming the holder's pid; close lets go;
 * a holder killed with SIGKILL leaves no lock behind.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBerthError } from '../../../server/core/errors.js';
import { ImageStore } from '../../../server/images/index.js';
import { waitFor } from '../../helpers/http.js';
import { isAlive } from '../../helpers/processes.js';
import { requireRoot } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const images = fileURLToPath(new URL('../../../server/images/index.ts', import.meta.url));

const childScript = `
import { createInterface } from 'node:readline';
const { ImageStore } = await import(process.env.BERTH_IMAGES);
let store;
try {
  store = await ImageStore.open(process.argv[2]);
  console.log('open');
} catch (e) {
  console.log(\`error \${e.code}: \${e.message}\`);
  process.exit(3);
}
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'close') {
    await store.close();
    console.log('closed');
  }
}
`;

interface Other {
  child: ChildProcess;
  /** Resolves with the next line the process prints. */
  line(): Promise<string>;
  exited: Promise<number | null>;
}

/** Another Node process that opens `root` and closes it when told. */
async function otherProcess(t: ExecutionContext, dir: string, root: string): Promise<Other> {
  const script = join(dir, 'other.mjs');
  await writeFile(script, childScript);
  const child = spawn(process.execPath, ['--import', 'tsx', script, root], {
    cwd: repo,
    env: { ...process.env, BERTH_IMAGES: images },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let buffered = '';
  child.stdout?.on('data', (b: Buffer) => {
    buffered += b.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const l = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  const line = () =>
    Promise.race([
      new Promise<string>((r) => {
        const l = lines.shift();
        if (l !== undefined) r(l);
        else waiting.push(r);
      }),
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error('the other process printed nothing within 20 s')), 20_000)),
    ]);
  return { child, line, exited };
}

async function lockedError(t: ExecutionContext, p: Promise<unknown>): Promise<string> {
  const e = await t.throwsAsync(p);
  t.true(isBerthError(e) && e.code === 'E_IMAGE_STORE_LOCKED', String(e));
  return e?.message ?? '';
}

test("a second process cannot open a store another one holds; the error names the holder's pid; close lets go", async (t) => {
  requireRoot('the image store');
  const dir = await tempDir(t, 'berth-lock-');
  const root = join(dir, 'images');
  const other = await otherProcess(t, dir, root);
  t.is(await other.line(), 'open');
  const message = await lockedError(t, ImageStore.open(root));
  t.regex(
    message,
    new RegExp(`^the image store ${root} is in use by process ${other.child.pid} \\(.*other\\.mjs.*\\): two processes must never write one store$`),
  );

  other.child.stdin?.write('close\n');
  t.is(await other.line(), 'closed');
  const mine = await ImageStore.open(root);
  await mine.writeBlob(Buffer.from('written while this process holds the store'));

  // Now the other process is the second one: it is refused, naming this process.
  const third = await otherProcess(t, dir, root);
  t.regex(await third.line(), new RegExp(`^error E_IMAGE_STORE_LOCKED: the image store ${root} is in use by process ${process.pid} `));
  t.is(await third.exited, 3);
  await mine.close();
  const fourth = await otherProcess(t, dir, root);
  t.is(await fourth.line(), 'open');
});

test('a holder killed with SIGKILL leaves no lock: the next process opens the store and discards what it half wrote', async (t) => {
  requireRoot('the image store');
  const dir = await tempDir(t, 'berth-lock-');
  const root = join(dir, 'images');
  const other = await otherProcess(t, dir, root);
  t.is(await other.line(), 'open');
  await writeFile(join(root, 'ingest', 'blob-half'), 'half a blob');
  const pid = other.child.pid as number;
  other.child.kill('SIGKILL');
  await other.exited;
  t.false(isAlive(pid));
  // The kernel closed the dead process's files, and dropped its flock with them.
  const store = await waitFor(
    "the dead holder's lock to go",
    async () => {
      try {
        return await ImageStore.open(root);
      } catch (e) {
        if (isBerthError(e) && e.code === 'E_IMAGE_STORE_LOCKED') return undefined;
        throw e;
      }
    },
    5000,
  );
  t.deepEqual(await readdir(join(root, 'ingest')), [], "the dead holder's half-written blob is gone");
  await store.close();
});

test('in one process a store opens twice and shares the lock; a closed store refuses writes', async (t) => {
  requireRoot('the image store');
  const dir = await tempDir(t, 'berth-lock-');
  const root = join(dir, 'images');
  const a = await ImageStore.open(root);
  const b = await ImageStore.open(root);
  await a.close();
  t.regex(await lockedError(t, a.writeBlob(Buffer.from('x'))), /cannot write blob: the image store .* is closed/);
  await b.writeBlob(Buffer.from('still open through b'));
  const other = await otherProcess(t, dir, root);
  t.regex(await other.line(), new RegExp(`^error E_IMAGE_STORE_LOCKED: .* in use by process ${process.pid} `));
  await b.close();
  const again = await otherProcess(t, dir, root);
  t.is(await again.line(), 'open');
});
