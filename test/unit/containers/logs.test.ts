/**
 * Reading a json-file log: rotated files first (oldest first), tail, torn lines skipped,
 * and follow across a rotation until the container has stopped.
 */
import test from 'ava';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLine } from '../../../server/containers/index.js';
import { readLog } from '../../../server/containers/logs.js';

const line = (log: string, stream = 'stdout') => `${JSON.stringify({ log, stream, time: '2026-01-01T00:00:00.000000000Z' })}\n`;

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(`${l.stream}:${l.log}`);
  return out;
}

test('rotated files come first, oldest first; tail takes the last lines; a torn last line waits', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'container.log');
  await writeFile(`${path}.2`, line('a\n'));
  await writeFile(`${path}.1`, line('b\n') + 'not json\n');
  await writeFile(path, line('c\n', 'stderr') + line('d\n') + '{"log":"torn');
  t.deepEqual(await collect(readLog(path)), ['stdout:a\n', 'stdout:b\n', 'stderr:c\n', 'stdout:d\n']);
  t.deepEqual(await collect(readLog(path, { tail: 2 })), ['stderr:c\n', 'stdout:d\n']);
  t.deepEqual(await collect(readLog(path, { tail: 0 })), []);
  t.deepEqual(await collect(readLog(join(dir, 'none.log'))), [], 'a container that never ran has no log');
});

test('follow: new lines, across a rotation, until stopped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'container.log');
  await writeFile(path, line('1\n'));
  let stopped = false;
  const seen: string[] = [];
  const done = (async () => {
    for await (const l of readLog(path, { follow: true, stopped: () => stopped, pollMs: 20 })) seen.push(l.log);
  })();
  await new Promise((r) => setTimeout(r, 100));
  await appendFile(path, line('2\n'));
  await new Promise((r) => setTimeout(r, 100));
  await appendFile(path, line('3\n')); // written just before the rotation: read from .1
  await rename(path, `${path}.1`);
  await writeFile(path, line('4\n'));
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(seen, ['1\n', '2\n', '3\n', '4\n']);
  await appendFile(path, line('5\n'));
  stopped = true;
  await done;
  t.deepEqual(seen, ['1\n', '2\n', '3\n', '4\n', '5\n'], 'what was written before the stop is read, then it ends');
});
