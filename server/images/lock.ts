/**
 * One writer per image store across processes.
 *
 * Node has no flock(2). A pid file alone is not sound: taking over a stale one races (two
 * processes both see the dead owner, both replace the file) and pids are reused. So the lock
 * is the kernel's: util-linux's `flock(1)` takes an exclusive flock on `<store>/lock` and
 * then runs `cat`, which reads a pipe from this process. The lock lives exactly as long as
 * that pipe: `close()` ends it, and when this process dies (even by SIGKILL) the pipe
 * closes, `cat` and `flock` exit and the kernel drops the lock. There is no stale lock to
 * take over: a dead holder's lock is already gone. The holder's pid is written in the file,
 * only to name it in the error a second process gets.
 *
 * Within one process a store may be opened more than once (the lock is shared, counted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { BerthError } from '../core/index.js';

export interface StoreLock {
  /** The lock file. */
  readonly path: string;
  /** False once released, or when the helper holding it died (the lock is then gone). */
  held(): boolean;
  release(): Promise<void>;
}

interface Holder {
  child: ChildProcess;
  count: number;
  alive: boolean;
}

const holders = new Map<string, Promise<Holder>>();
/** Locks this process is letting go of: a new open waits for them, or it would meet its own lock. */
const releasing = new Map<string, Promise<unknown>>();
const CONFLICT = 75;

async function holderOf(path: string): Promise<string> {
  // The holder writes its pid just after it got the lock: read again briefly if empty.
  for (let i = 0; i < 20; i++) {
    const pid = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
    if (Number.isInteger(pid) && pid > 0) {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
      return `process ${pid}${cmd === '' ? '' : ` (${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd})`}`;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return 'another process (it did not write its pid)';
}

async function acquire(root: string, path: string): Promise<Holder> {
  const child = spawn('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(CONFLICT), path, 'sh', '-c', 'echo locked && exec cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const outcome = await new Promise<'locked' | { code: number | null; error?: Error }>((resolve) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('locked')) resolve('locked');
    });
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code }));
  });
  if (outcome !== 'locked') {
    if (outcome.code === CONFLICT) {
      const holder = await holderOf(path);
      throw new BerthError('E_IMAGE_STORE_LOCKED', `the image store ${root} is in use by ${holder}: two processes must never write one store`, {
        details: { root, lock: path },
      });
    }
    const why = outcome.error?.message ?? (stderr.trim() || `flock exited with ${outcome.code}`);
    throw new BerthError('E_IMAGE_STORE_LOCKED', `cannot lock the image store ${root} (${path}): ${why}`, {
      hint: outcome.error ? 'Berth locks stores with flock(1) from util-linux: apt-get install -y util-linux' : 'Check that the store directory is writable.',
      details: { root, lock: path },
    });
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
  const holder: Holder = { child, count: 0, alive: true };
  child.once('exit', () => (holder.alive = false));
  child.unref();
  (child.stdin as Socket | null)?.unref?.();
  // Only to name this process in another's error: a full disk must not stop a store from
  // opening (gc is how space comes back), so a failed write is no failure.
  await writeFile(path, `${process.pid}\n`).catch(() => undefined);
  return holder;
}

/** Take the store's lock (or share this process's). Fails with E_IMAGE_STORE_LOCKED naming another holder. */
export async function lockStore(root: string): Promise<StoreLock> {
  const real = await realpath(root);
  const path = join(real, 'lock');
  await releasing.get(real);
  let pending = holders.get(real);
  if (pending === undefined) {
    pending = acquire(root, path);
    holders.set(real, pending);
    pending.catch(() => holders.delete(real));
  }
  const holder = await pending;
  if (!holder.alive) {
    holders.delete(real);
    return lockStore(root);
  }
  holder.count++;
  let released = false;
  return {
    path,
    held: () => !released && holder.alive,
    release: async () => {
      if (released) return;
      released = true;
      holder.count--;
      if (holder.count > 0) return;
      if (holders.get(real) === pending) holders.delete(real);
      if (!holder.alive) return;
      const done = (async () => {
        await writeFile(path, '').catch(() => undefined);
        const exited = new Promise((r) => holder.child.once('exit', r));
        holder.child.ref(); // this process waits for the lock to be let go
        holder.child.stdin?.end();
        await exited;
      })();
      releasing.set(real, done);
      try {
        await done;
      } finally {
        if (releasing.get(real) === done) releasing.delete(real);
      }
    },
  };
}
