/**
 * Reading a container's json-file log (written by its monitor: `container.log`, rotated to
 * `.1`, `.2` beside it): every line in order, the last N, and following it while the
 * container runs. Following polls (a log is written by another process, and rotation
 * renames the file under us); it keeps the file's identity (inode) to read the rest of a
 * file that was rotated away before going on with the new one.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogLine } from './types.js';

function parseLine(text: string): LogLine | undefined {
  try {
    const v = JSON.parse(text) as { log?: unknown; stream?: unknown; time?: unknown };
    if (typeof v.log !== 'string') return undefined;
    return { stream: v.stream === 'stderr' ? 'stderr' : 'stdout', log: v.log, time: typeof v.time === 'string' ? v.time : '' };
  } catch {
    return undefined; // a torn line from a crash: skipped, as Docker does
  }
}

/** The rotated files of `path`, oldest first (`.3`, `.2`, `.1`). */
async function rotated(path: string): Promise<string[]> {
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const base = basename(path);
  return names
    .map((n) => ({ n, k: n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN }))
    .filter((x) => Number.isInteger(x.k) && x.k > 0)
    .sort((a, b) => b.k - a.k)
    .map((x) => join(dirname(path), x.n));
}

/** Bytes of `path` from `offset` to its end (nothing when it does not exist). */
async function readFrom(path: string, offset: number): Promise<{ data: Buffer; ino: number } | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    const length = Math.max(0, st.size - offset);
    const data = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const r = await handle.read(data, got, length - got, offset + got);
      if (r.bytesRead === 0) break;
      got += r.bytesRead;
    }
    return { data: data.subarray(0, got), ino: st.ino };
  } finally {
    await handle.close();
  }
}

/** Complete lines of `data` and how many bytes they took (a partial last line waits). */
function completeLines(data: Buffer): { lines: LogLine[]; used: number } {
  const end = data.lastIndexOf(0x0a);
  if (end < 0) return { lines: [], used: 0 };
  const lines = data
    .subarray(0, end)
    .toString('utf8')
    .split('\n')
    .map(parseLine)
    .filter((l): l is LogLine => l !== undefined);
  return { lines, used: end + 1 };
}

export interface ReadLogOptions {
  tail?: number;
  follow?: boolean;
  /** Following ends once this says the container has stopped and the log is read to its end. */
  stopped?: () => boolean;
  signal?: AbortSignal;
  /** @defaultValue 150 */
  pollMs?: number;
}

/** The log's lines, oldest first; with `follow`, new ones as they are written, until the container stopped. */
export async function* readLog(path: string, o: ReadLogOptions = {}): AsyncGenerator<LogLine> {
  const initial: LogLine[] = [];
  for (const file of await rotated(path)) initial.push(...completeLines((await readFrom(file, 0))?.data ?? Buffer.alloc(0)).lines);
  const first = await readFrom(path, 0);
  let ino = first?.ino;
  let offset = 0;
  if (first) {
    const c = completeLines(first.data);
    initial.push(...c.lines);
    offset = c.used;
  }
  yield* o.tail === undefined ? initial : o.tail <= 0 ? [] : initial.slice(-o.tail);
  if (!o.follow) return;
  for (;;) {
    if (o.signal?.aborted) return;
    // Decide "stopped" before reading: what was written before the stop is then read below.
    const stopped = o.stopped?.() ?? true;
    const now = await stat(path).catch(() => undefined);
    if (ino !== undefined && now !== undefined && now.ino !== ino) {
      // Rotated: the rest of the old file is now `.1`.
      const old = await readFrom(`${path}.1`, offset);
      if (old && old.ino === ino) yield* completeLines(old.data).lines;
      ino = now.ino;
      offset = 0;
    }
    const r = await readFrom(path, offset);
    if (r) {
      if (ino === undefined) ino = r.ino;
      const c = completeLines(r.data);
      offset += c.used;
      yield* c.lines;
      if (c.used > 0) continue;
    }
    if (stopped) return;
    await sleep(o.pollMs ?? 150, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
