/**
 * One writer per image store across processes.
 *
 * Node has no flock(2). A pid file alone is not sound: taking over a stale one races (two
 * processes both see the dead owner, both replace the file) and pids are reused. So the lock
 * is the kernel's: this process opens `<store>/lock` and hands that descriptor to util-linux's
 * `flock(1)` as its fd 3 (`flock --nonblock 3`), which takes an exclusive flock on it and
 * exits. A flock belongs to the open file, not to the process that asked for it, so the lock
 * stays as long as this process keeps the file open: `release()` closes it, and when the
 * process dies (even by SIGKILL) the kernel closes it and drops the lock. There is no stale
 * lock to take over: a dead holder's lock is already gone. libuv opens files close-on-exec,
 * so no container or helper started later inherits it. The holder's pid is written in the
 * file, only to name it in the error a second process gets.
 *
 * Within one process a store may be opened more than once (the lock is shared, counted).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../core/index.js';

export interface StoreLock {
  /** The lock file. */
  readonly path: string;
  /** False once released. */
  held(): boolean;
  release(): Promise<void>;
}

interface Holder {
  file: FileHandle;
  count: number;
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
  const file = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    const child = spawn('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(CONFLICT), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', file.fd],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const outcome = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
    if (outcome.code === CONFLICT) {
      const holder = await holderOf(path);
      throw new BerthError('E_IMAGE_STORE_LOCKED', `the image store ${root} is in use by ${holder}: two processes must never write one store`, {
        details: { root, lock: path },
      });
    }
    if (outcome.code !== 0) {
      const why = outcome.error?.message ?? (stderr.trim() || `flock exited with ${outcome.code}`);
      throw new BerthError('E_IMAGE_STORE_LOCKED', `cannot lock the image store ${root} (${path}): ${why}`, {
        hint: outcome.error ? 'Berth locks stores with flock(1) from util-linux: apt-get install -y util-linux' : 'Check that the store directory is writable.',
        details: { root, lock: path },
      });
    }
  } catch (e) {
    await file.close();
    throw e;
  }
  // Only to name this process in another's error: a full disk must not stop a store from
  // opening (gc is how space comes back), so a failed write is no failure.
  const pid = Buffer.from(`${process.pid}\n`);
  await file
    .truncate(0)
    .then(() => file.write(pid, 0, pid.length, 0))
    .catch(() => undefined);
  return { file, count: 0 };
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
  holder.count++;
  let released = false;
  return {
    path,
    held: () => !released,
    release: async () => {
      if (released) return;
      released = true;
      holder.count--;
      if (holder.count > 0) return;
      if (holders.get(real) === pending) holders.delete(real);
      const done = (async () => {
        await holder.file.truncate(0).catch(() => undefined);
        await holder.file.close(); // the kernel drops the flock with the last descriptor of the file
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
