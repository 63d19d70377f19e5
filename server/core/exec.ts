/**
 * Argv-only process spawning. There is deliberately no way to pass a shell string:
 * every program is started with `shell: false` and an argument array, so no value a
 * user controls is ever parsed by a shell.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { BerthError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill the child (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Resolve instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Which Debian package provides the program, for the "not installed" hint. */
  installHint?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A command as a user could paste it: each argument quoted when it needs to be. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

function notFound(file: string, installHint: string | undefined, cause: unknown): BerthError {
  return new BerthError('E_EXEC_NOT_FOUND', `${file} is not installed (or not on PATH)`, {
    cause,
    hint: installHint ? `Install it: apt-get install -y ${installHint}` : undefined,
    details: { file },
  });
}

/** Run a program to completion and collect its output. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined); // a child that exits without reading stdin is not our error
    child.stdin.end(options.input);
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? notFound(file, options.installHint, e) : new BerthError('E_EXEC_FAILED', `${formatCommand(file, args)}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const result = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0 || options.allowFailure) return resolve(result);
      const timedOut = signal === 'SIGKILL' && options.timeoutMs !== undefined && Date.now() - startedAt >= options.timeoutMs;
      const how = timedOut ? `timed out after ${options.timeoutMs} ms and was killed` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const said = result.stderr.trim() || result.stdout.trim();
      const tail = said.split('\n').slice(-20).join('\n');
      reject(new BerthError('E_EXEC_FAILED', `${formatCommand(file, args)} ${how}${tail ? `:\n${tail}` : ''}`, {
        details: { file, args, code, signal },
      }));
    });
  });
}

/**
 * Start a long-running program (a supervised server). The caller owns the child. A missing
 * binary is reported through the returned promise, once the spawn has either succeeded or
 * failed, so callers never race the `error` event.
 */
export function start(
  file: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'shell'> & { installHint?: string } = {},
): Promise<ChildProcess> {
  const { installHint, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...spawnOptions, shell: false });
    child.once('spawn', () => resolve(child));
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? notFound(file, installHint, e) : new BerthError('E_EXEC_FAILED', `${formatCommand(file, args)}: ${e.message}`, { cause: e }));
    });
  });
}
