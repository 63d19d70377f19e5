/**
 * Crash safety: a process writing the apps store is SIGKILLed at random moments; the store
 * it leaves always reads back whole (every record parses, holds a value the writer had
 * written or was writing), and `recover` clears what the crash left half done.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppStore } from '../../../server/apps/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

const projectDir = fileURLToPath(new URL('../../../', import.meta.url));
const writerScript = fileURLToPath(new URL('../../fixtures/app-store-writer.ts', import.meta.url));

/** Run the writer until it has printed `afterWrites` "done" lines plus a random part of one more write, then SIGKILL it. */
function runAndKill(args: string[], afterWrites: number): Promise<{ last: { started: number; done: number }; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, ...args], { cwd: projectDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killing = false;
  const last = { started: -1, done: -1 };
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    for (const m of stdout.matchAll(/^(start|done) (\d+)$/gm)) last[m[1] === 'start' ? 'started' : 'done'] = Number(m[2]);
    if (!killing && last.done >= afterWrites) {
      killing = true;
      // Somewhere inside the next write (or the one after): 0–15 ms.
      setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15));
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (_code, signal) => {
      clearTimeout(guard);
      resolve({ last, signal, stderr });
    });
  });
}

test('an update killed at any moment leaves the record whole, with the last or the next value', async (t) => {
  const home = await tempDir(t, 'berth-apps-crash-');
  const store = new AppStore({ home, userns: { reservedFiles: [] } });
  await store.create('crashy');
  for (let round = 0; round < 6; round++) {
    const { last, signal, stderr } = await runAndKill(['update', home, 'crashy'], 3 + round * 4);
    t.is(signal, 'SIGKILL', stderr);
    const app = await store.get('crashy'); // parses: never half-written
    const n = Number(app.env.N);
    t.true(n === last.done || n === last.started, `N=${n} after done ${last.done}, started ${last.started}`);
    t.is(app.scale.web, n % 100, 'the fields of one write land together');
    await store.recover();
    t.deepEqual(
      (await readdir(store.paths('crashy').dir)).filter((f) => f.includes('berth-tmp')),
      [],
      'recover removed the temp file a crash may leave',
    );
  }
});

test('creates killed at any moment leave whole apps only, once recover has run', async (t) => {
  const home = await tempDir(t, 'berth-apps-crash-');
  const store = new AppStore({ home, userns: { reservedFiles: [] } });
  for (let round = 0; round < 4; round++) {
    const { last, signal, stderr } = await runAndKill(['create', home, `r${round}`], 1 + round);
    t.is(signal, 'SIGKILL', stderr);
    await store.recover();
    const names = await readdir(store.dir);
    t.deepEqual(
      names.filter((n) => n.startsWith('.')),
      [],
      'no half-made or half-removed directory is left',
    );
    for (const app of await store.list()) {
      t.is((await readdir(store.paths(app.name).repo)).includes('HEAD'), true, `${app.name} has its repo`);
    }
    const made = (await store.list()).filter((a) => a.name.startsWith(`r${round}-`)).length;
    t.true(made === last.done + 1 || made === last.started + 1, `${made} apps after done ${last.done}, started ${last.started}`);
    const ranges = new Set((await store.list()).map((a) => a.userns.hostId));
    t.is(ranges.size, (await store.list()).length, 'every app its own range');
  }
});
