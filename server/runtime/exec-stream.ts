/**
 * `berth-runtime exec` with its stdio as pipes, as the daemon needs for `container exec`:
 * the runtime copies a pseudo-terminal (with tty) or the program's own pipes to and from
 * ours, and reads resize lines "ROWS COLS\n" on fd 3 (docs/runtime.md, "exec over pipes").
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../core/index.js';
import { validTerminalDimension } from './argv.js';
import { lastRuntimeError, parseRuntimeError, RuntimeError } from './errors.js';

export interface ExecStreamOptions {
  /** Run the program on a pseudo-terminal: its stdout and stderr both come on stdout. @defaultValue false */
  tty?: boolean;
  env?: Record<string, string>;
  /** @defaultValue the container's process.cwd */
  cwd?: string;
  /** @defaultValue the container's process.user */
  user?: { uid: number; gid: number };
  /** The terminal's size at start; without tty there is no terminal and it does not apply. */
  size?: { rows: number; cols: number };
}

/**
 * A program running in a container with its stdio as pipes (`execStream`). Write to
 * `stdin` (end it for EOF; ^D on a terminal), read `stdout`/`stderr`. `exit` resolves with
 * the program's status (128+N for signal N) and rejects with a RuntimeError when
 * berth-runtime itself failed (no such container, not running, the program not found...).
 */
export interface ExecStream {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Resize the program's terminal (with tty; ignored without). */
  resize(rows: number, cols: number): void;
  /** SIGKILL the runtime process (the program then loses its terminal or pipes). */
  kill(): void;
  exit: Promise<{ exitCode: number }>;
}

/** The binary is missing: the error every way of running it gives. */
export function runtimeNotFound(binary: string, cause: unknown): BerthError {
  return new BerthError('E_EXEC_NOT_FOUND', `${binary} does not exist`, {
    cause,
    hint: 'Build it: make -C native (or npm run build).',
    details: { file: binary },
  });
}

/** Run `binary argv` (an exec call's argv) for container `id` with pipes and fd 3 for resizes. */
export function spawnExecStream(binary: string, argv: string[], id: string): ExecStream {
  const child = spawn(binary, argv, { shell: false, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const resizeStream = child.stdio[3] as Writable | null;
  resizeStream?.on('error', () => undefined); // the runtime has exited: nothing to resize
  child.stdin.on('error', () => undefined); // a program that exits without reading stdin is not an error
  let tail = '';
  child.stderr.on('data', (b: Buffer) => {
    tail = (tail + b.toString('utf8')).slice(-8192);
  });
  const exit = new Promise<{ exitCode: number }>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? runtimeNotFound(binary, e)
          : new RuntimeError(`berth-runtime exec could not be started: ${e.message}`, { command: 'exec', containerId: id, cause: e }),
      );
    });
    child.once('close', (code, signal) => {
      resizeStream?.destroy();
      const lastLine = tail.trimEnd().split('\n').at(-1) ?? '';
      if (code === null || (code !== 0 && lastRuntimeError(lastLine) !== undefined)) {
        reject(parseRuntimeError(tail, id, { command: 'exec', exitCode: code, signal }));
        return;
      }
      resolve({ exitCode: code });
    });
  });
  exit.catch(() => undefined); // the caller may only look at the streams; never an unhandled rejection
  return {
    child,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    resize: (rows, cols) => {
      if (!validTerminalDimension(rows) || !validTerminalDimension(cols) || resizeStream === null || resizeStream.destroyed) return;
      resizeStream.write(`${rows} ${cols}\n`);
    },
    kill: () => {
      child.kill('SIGKILL');
    },
    exit,
  };
}
