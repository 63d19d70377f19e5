/**
 * Argv-only process spawning. There is deliberately no way to pass a shell string:
 * every program is started with `shell: false` and an argument array, so no value a
 * user controls is ever parsed by a shell.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { BerthError, isErrno } from './errors.js';

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

/**
 * Why a program could not be started, as a BerthError: E_EXEC_NOT_FOUND (with the install
 * hint) when it does not exist, E_EXEC_FAILED otherwise; the errno code is in the details.
 */
function spawnFailure(file: string, args: readonly string[], installHint: string | undefined, cause: unknown): BerthError {
  const errno = (cause as NodeJS.ErrnoException).code;
  if (errno === 'ENOENT') {
    return new BerthError('E_EXEC_NOT_FOUND', `${file} is not installed (or not on PATH)`, {
      cause,
      hint: installHint ? `Install it: apt-get install -y ${installHint}` : undefined,
      details: { file, errno },
    });
  }
  // Arguments can be long (E2BIG is about them): the message quotes each at most 200 characters.
  const shown = args.map((a) => (a.length > 200 ? `${a.slice(0, 200)}...` : a));
  return new BerthError('E_EXEC_FAILED', `${formatCommand(file, shown)}: ${(cause as Error).message}`, { cause, details: { file, args, errno } });
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
    child.on('error', (e) => reject(spawnFailure(file, args, options.installHint, e)));
    child.on('close', (code, signal) => {
      const result = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0 || options.allowFailure) return resolve(result);
      const timedOut = signal === 'SIGKILL' && options.timeoutMs !== undefined && Date.now() - startedAt >= options.timeoutMs;
      const how = timedOut ? `timed out after ${options.timeoutMs} ms and was killed` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const said = result.stderr.trim() || result.stdout.trim();
      const tail = said.split('\n').slice(-20).join('\n');
      reject(
        new BerthError('E_EXEC_FAILED', `${formatCommand(file, args)} ${how}${tail ? `:\n${tail}` : ''}`, {
          details: { file, args, code, signal },
        }),
      );
    });
  });
}

/**
 * Start a long-running program (a supervised server). The caller owns the child. A missing
 * binary is reported through the returned promise, once the spawn has either succeeded or
 * failed, so callers never race the `error` event.
 */
export function start(file: string, args: readonly string[], options: Omit<SpawnOptions, 'shell'> & { installHint?: string } = {}): Promise<ChildProcess> {
  const { installHint, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...spawnOptions, shell: false });
    child.once('spawn', () => resolve(child));
    child.once('error', (e) => reject(spawnFailure(file, args, installHint, e)));
  });
}

/** Which of the child's output streams a line came from. */
export type OutputStream = 'stdout' | 'stderr';

export interface StreamingOptions {
  cwd?: string;
  /** @defaultValue this process's environment */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. @defaultValue stdin is /dev/null */
  input?: string | Buffer;
  /**
   * Called with each line (without its newline or a trailing `\r`) as the child prints it,
   * in order within each stream. A line callback that throws stops the program: its error
   * is the run's.
   */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Stop the program (its whole process group, SIGKILL) when this signal aborts. */
  signal?: AbortSignal;
  /** Stop the program (its whole process group, SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** How many of the last lines of output the error of a failed run carries. @defaultValue 20 */
  tailLines?: number;
  /** Which Debian package provides the program, for the "not installed" hint. */
  installHint?: string;
}

/** A line longer than this is passed on in pieces of this size: output never grows memory unbounded. */
const MAX_LINE = 64 * 1024;

/** Splits a byte stream into lines, keeping a UTF-8 sequence cut by a chunk boundary whole. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly emit: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.partial += this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      this.line(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
    }
    while (this.partial.length > MAX_LINE) {
      this.emit(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
  }

  end(): void {
    this.partial += this.decoder.end();
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(text: string): void {
    let rest = text.endsWith('\r') ? text.slice(0, -1) : text;
    for (; rest.length > MAX_LINE; rest = rest.slice(MAX_LINE)) this.emit(rest.slice(0, MAX_LINE));
    this.emit(rest);
  }
}

/** SIGKILL every process of the group `pgid` leads; one already gone is no error. */
function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (e) {
    if (!isErrno(e, 'ESRCH')) throw e;
  }
}

/**
 * Run `argv` (program first, never a shell) to completion, passing each line of its stdout
 * and stderr to `onLine` as it comes. Resolves when the program exits 0. Otherwise rejects
 * with E_EXEC_FAILED whose message names the command, how it ended (exit code, signal,
 * timeout, abort) and its last lines of output; E_EXEC_NOT_FOUND when the program is not
 * installed. The program leads a process group of its own (a new session): abort, the
 * timeout, and its own exit all SIGKILL that group, so nothing it started is left behind
 * (a process that moved to another session on purpose, a daemon, is out of reach).
 */
export function runStreaming(argv: readonly string[], options: StreamingOptions = {}): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') {
    return Promise.reject(new BerthError('E_EXEC_FAILED', 'no program to run: the argument list is empty', { details: { argv } }));
  }
  const command = formatCommand(file, args);
  if (options.signal?.aborted) {
    return Promise.reject(
      new BerthError('E_EXEC_FAILED', `${command} was aborted before it started`, { cause: options.signal.reason, details: { file, args, aborted: true } }),
    );
  }
  const tailLines = options.tailLines ?? 20;
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    let stopped: { why: string; cause?: unknown; aborted?: boolean; timedOut?: boolean } | undefined;
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: options.cwd,
        env: options.env,
        shell: false,
        detached: true, // setsid(): the child leads its own process group, which we can kill whole
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      // Some failures (E2BIG: the arguments are too long) are thrown before any process exists.
      reject(spawnFailure(file, args, options.installHint, e));
      return;
    }
    const stop = (why: NonNullable<typeof stopped>): void => {
      stopped ??= why;
      killGroup(child.pid);
    };
    const onAbort = (): void => stop({ why: 'was aborted', cause: options.signal?.reason, aborted: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => stop({ why: `timed out after ${options.timeoutMs} ms and was killed`, timedOut: true }), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanUp = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      if (stream === null) continue; // never: both are pipes
      const splitter = new LineSplitter((line) => {
        tail.push(line);
        if (tail.length > tailLines) tail.shift();
        if (stopped !== undefined || options.onLine === undefined) return;
        try {
          options.onLine(line, name);
        } catch (e) {
          stop({ why: 'was stopped because its output handler failed', cause: e });
        }
      });
      stream.on('data', (b: Buffer) => splitter.write(b));
      stream.on('end', () => splitter.end());
    }
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a child that exits without reading stdin is not our error
      child.stdin.end(options.input);
    }
    child.on('error', (e) => {
      cleanUp();
      reject(spawnFailure(file, args, options.installHint, e));
    });
    // The leader is gone: whatever it left running in its group goes too, or a background
    // process holding the pipes would keep this run open.
    child.on('exit', () => killGroup(child.pid));
    child.on('close', (code, signal) => {
      cleanUp();
      if (child.pid === undefined) return; // never started: the 'error' event has answered
      if (code === 0 && stopped === undefined) return resolve();
      const how = stopped?.why ?? (signal ? `was killed by ${signal}` : `exited with code ${code}`);
      const said = tail.join('\n').trim();
      const error = new BerthError('E_EXEC_FAILED', `${command} ${how}${said ? `:\n${said}` : ''}`, {
        cause: stopped?.cause,
        details: { file, args, code, signal, ...(stopped?.aborted ? { aborted: true } : {}), ...(stopped?.timedOut ? { timedOut: true } : {}) },
      });
      // An output handler's own error is the caller's, unchanged.
      reject(stopped !== undefined && !stopped.aborted && !stopped.timedOut && stopped.cause !== undefined ? stopped.cause : error);
    });
  });
}
