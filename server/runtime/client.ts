/**
 * The client of berth-runtime (STYLE.md 6.2): every call is one run of the binary with an
 * argv array, `--root <root> --log-format=json` first, never a shell. stdout carries JSON
 * only for `state`, `list` and `ps`; a failure is a non-zero exit plus JSON error lines on
 * stderr, turned into a RuntimeError. The command line is docs/runtime.md's.
 */
import { spawn as spawnChild, type ChildProcessByStdio } from 'node:child_process';
import { isAbsolute } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { BerthError, run, validateContainerId, type RunResult } from '../core/index.js';
import { defaultRuntimeBinary } from './binary.js';
import { describeIssues } from './bundle.js';
import { lastRuntimeError, parseRuntimeError, RuntimeError } from './errors.js';
import { containerStatsSchema, type ContainerStats, ociStateSchema, type OciState } from './oci-spec.js';

/** This checkout's build, for the sources (server/runtime/) and the build (dist/runtime/) alike. */

/** A signal as berth-runtime's `kill` takes it: a name (`SIGTERM`, `TERM`) or a number. */
export type RuntimeSignal = NodeJS.Signals | `SIGRTMIN+${number}` | number;

/** The flags every call starts with. */
export interface RuntimeGlobals {
  /** The state directory (`--root`). */
  root: string;
  /** Also append the runtime's error lines to this file (`--log`, as crun has it). */
  logFile?: string;
}

/** One runtime invocation, as data: what `runtimeArgv` turns into argv. */
export type RuntimeCall =
  | { command: 'create'; id: string; bundle: string; pidFile?: string; consoleSocket?: string }
  | { command: 'start'; id: string }
  | { command: 'run'; id: string; bundle: string; detach?: boolean; pidFile?: string; consoleSocket?: string }
  | { command: 'state'; id: string }
  | { command: 'stats'; id: string }
  | { command: 'kill'; id: string; signal?: RuntimeSignal; all?: boolean }
  | { command: 'delete'; id: string; force?: boolean }
  | { command: 'list' }
  | { command: 'ps'; id: string }
  | {
      command: 'exec';
      id: string;
      args: readonly string[];
      env?: Record<string, string>;
      cwd?: string;
      detach?: boolean;
      /** Run the program on a new pseudo-terminal (`-t`). */
      tty?: boolean;
      /** The terminal's size at start (`--tty-size ROWSxCOLS`). */
      ttySize?: { rows: number; cols: number };
      /** Read "ROWS COLS\n" resize requests from this inherited fd (`--resize-fd N`). */
      resizeFd?: number;
      /** Run as this user (`--user UID:GID`). @defaultValue the container's process.user */
      user?: { uid: number; gid: number };
    }
  | { command: 'network-gc' }
  | { command: 'version' };

function bad(message: string, details: Record<string, unknown> = {}): BerthError {
  return new BerthError('E_BERTH_INTERNAL', message, { details });
}

function absolute(what: string, path: string): string {
  if (!isAbsolute(path) || path.includes('\0')) throw bad(`${what} must be an absolute path, not ${JSON.stringify(path)}`, { [what]: path });
  return path;
}

function signalArg(signal: RuntimeSignal): string {
  if (typeof signal === 'number') {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) throw bad(`signal ${signal} is not a signal number (1-64)`, { signal });
    return String(signal);
  }
  // A name can never start with "-", so it is never read as an option.
  if (!/^(SIG)?[A-Z][A-Z0-9]*(\+\d+)?$/.test(signal)) throw bad(`signal ${JSON.stringify(signal)} is not a signal name such as SIGTERM`, { signal });
  return signal;
}

function sizeArg(size: { rows: number; cols: number }): string {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!ok(size.rows) || !ok(size.cols)) throw bad(`terminal size ${size.rows}x${size.cols}: rows and columns are 1 to 65535`, { size });
  return `${size.rows}x${size.cols}`;
}

function fdArg(fd: number): string {
  if (!Number.isInteger(fd) || fd < 3 || fd > 1023) throw bad(`resize fd ${fd} must be an inherited descriptor from 3 to 1023`, { fd });
  return String(fd);
}

function userArg(user: { uid: number; gid: number }): string {
  const id = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= 0xffff_ffff;
  if (!id(user.uid) || !id(user.gid)) throw bad(`user ${user.uid}:${user.gid}: ids are whole numbers from 0 to 2^32-1`, { user });
  return `${user.uid}:${user.gid}`;
}

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => {
    if (!/^[^=\0]+$/.test(k) || v.includes('\0')) throw bad(`environment variable ${JSON.stringify(k)} cannot be passed to a container`, { key: k });
    return ['--env', `${k}=${v}`];
  });
}

/**
 * The argv (without the binary) for `call`: global flags first, then the command, its
 * options, and the container id last before any program arguments. Ids are validated,
 * not repaired, so none can be taken for an option.
 */
export function runtimeArgv(globals: RuntimeGlobals, call: RuntimeCall): string[] {
  const argv = ['--root', absolute('root', globals.root), '--log-format=json'];
  if (globals.logFile !== undefined) argv.push('--log', absolute('logFile', globals.logFile));
  const opt = (flag: string, value: string | undefined, what: string): string[] => (value === undefined ? [] : [flag, absolute(what, value)]);
  switch (call.command) {
    case 'version':
      return [...argv, '--version'];
    case 'list':
      return [...argv, 'list', '--format', 'json'];
    case 'network-gc':
      return [...argv, 'network', 'gc'];
    case 'create':
    case 'run':
      return [
        ...argv,
        call.command,
        ...(call.command === 'run' && call.detach ? ['--detach'] : []),
        '--bundle',
        absolute('bundle', call.bundle),
        ...opt('--pid-file', call.pidFile, 'pidFile'),
        ...opt('--console-socket', call.consoleSocket, 'consoleSocket'),
        validateContainerId(call.id),
      ];
    case 'start':
    case 'state':
    case 'stats':
      return [...argv, call.command, validateContainerId(call.id)];
    case 'ps':
      return [...argv, 'ps', '--format', 'json', validateContainerId(call.id)];
    case 'kill':
      return [...argv, 'kill', ...(call.all ? ['--all'] : []), validateContainerId(call.id), signalArg(call.signal ?? 'SIGTERM')];
    case 'delete':
      return [...argv, 'delete', ...(call.force ? ['--force'] : []), validateContainerId(call.id)];
    case 'exec':
      if (call.args.length === 0) throw bad('exec needs a program to run', { id: call.id });
      return [
        ...argv,
        'exec',
        ...(call.detach ? ['--detach'] : []),
        ...(call.tty ? ['--tty'] : []),
        ...(call.ttySize === undefined ? [] : ['--tty-size', sizeArg(call.ttySize)]),
        ...(call.resizeFd === undefined ? [] : ['--resize-fd', fdArg(call.resizeFd)]),
        ...(call.user === undefined ? [] : ['--user', userArg(call.user)]),
        ...envArgs(call.env ?? {}),
        ...opt('--cwd', call.cwd, 'cwd'),
        validateContainerId(call.id),
        ...call.args,
      ];
  }
}

export interface RuntimeClientOptions {
  /** The berth-runtime binary. @defaultValue this checkout's native/build/berth-runtime */
  binary?: string;
  /** The state directory, passed as `--root`. */
  root: string;
  /** Also append the runtime's error lines to this file. */
  logFile?: string;
  /**
   * Kill a lifecycle call (create, start, state, kill, delete, list, ps) that takes longer.
   * Foreground `run` and `exec` wait for their program and have no limit unless given one.
   * @defaultValue 60000
   */
  timeoutMs?: number;
}

export interface CreateContainerOptions {
  /** The runtime writes the container's host pid here. */
  pidFile?: string;
  /** A unix socket that receives the terminal's master fd (process.terminal: true). */
  consoleSocket?: string;
}

export interface RunContainerOptions extends CreateContainerOptions {
  /** Return once started (`run -d`); otherwise wait for the program to end. @defaultValue false */
  detach?: boolean;
  /** Kill berth-runtime after this many ms. @defaultValue no limit */
  timeoutMs?: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  /** @defaultValue the container's process.cwd */
  cwd?: string;
  /** Return once the program started. @defaultValue false */
  detach?: boolean;
  /** Kill berth-runtime after this many ms. @defaultValue no limit */
  timeoutMs?: number;
}

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

/** What a program run in a container (foreground `run`, `exec`) did. */
export interface ProcessResult {
  /** Its exit status; 128+N when signal N ended it (as the runtime reports it). */
  code: number;
  stdout: string;
  stderr: string;
}

function containerIdOf(call: RuntimeCall): string | undefined {
  return 'id' in call ? call.id : undefined;
}

/** Drives berth-runtime, one process per call. Safe to share: it holds no state but its options. */
export class RuntimeClient {
  readonly binary: string;
  readonly root: string;
  readonly logFile: string | undefined;
  readonly timeoutMs: number;

  constructor(options: RuntimeClientOptions) {
    this.binary = options.binary ?? defaultRuntimeBinary;
    this.root = absolute('root', options.root);
    this.logFile = options.logFile;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Create the container from `bundle`; it waits for `start`. */
  async create(id: string, bundle: string, options: CreateContainerOptions = {}): Promise<void> {
    await this.call({ command: 'create', id, bundle, ...options });
  }

  async start(id: string): Promise<void> {
    await this.call({ command: 'start', id });
  }

  /**
   * Create and start. Detached, it returns once the program runs (code 0). In the
   * foreground it returns the program's status and output; the runtime deletes the
   * container when it ends. Throws RuntimeError when the runtime itself failed.
   */
  async run(id: string, bundle: string, options: RunContainerOptions = {}): Promise<ProcessResult> {
    const { timeoutMs, ...rest } = options;
    return this.program({ command: 'run', id, bundle, ...rest }, options.detach ? this.timeoutMs : timeoutMs);
  }

  /** The container's OCI state, validated. */
  async state(id: string): Promise<OciState> {
    const r = await this.call({ command: 'state', id });
    return this.parseOutput('state', id, r.stdout, ociStateSchema);
  }

  /** Memory, CPU and pids usage and limits from the container's cgroup (null: unknown or no limit). */
  async stats(id: string): Promise<ContainerStats> {
    const r = await this.call({ command: 'stats', id });
    return this.parseOutput('stats', id, r.stdout, containerStatsSchema);
  }

  async kill(id: string, signal: RuntimeSignal = 'SIGTERM', options: { all?: boolean } = {}): Promise<void> {
    await this.call({ command: 'kill', id, signal, ...options });
  }

  /** Delete a stopped container; `force` kills it first if it still runs. */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    await this.call({ command: 'delete', id, ...options });
  }

  /** Every container under the root, as OCI states. */
  async list(): Promise<OciState[]> {
    const r = await this.call({ command: 'list' });
    return this.parseOutput('list', undefined, r.stdout, z.array(ociStateSchema));
  }

  /** The host pids of the container's processes. */
  async ps(id: string): Promise<number[]> {
    const r = await this.call({ command: 'ps', id });
    return this.parseOutput('ps', id, r.stdout, z.array(z.number().int().positive()));
  }

  /** Run `args` in the running container; like `run`, the program's failure is a result, the runtime's a RuntimeError. */
  async exec(id: string, args: readonly string[], options: ExecOptions = {}): Promise<ProcessResult> {
    const { timeoutMs, ...rest } = options;
    return this.program({ command: 'exec', id, args, ...rest }, options.detach ? this.timeoutMs : timeoutMs);
  }

  /**
   * Run `args` in the running container with pipes for stdio, as the daemon needs for
   * `container exec` (ExecStream). With tty the runtime gives the program a pseudo-terminal
   * and copies it to and from the pipes; resize() writes "ROWS COLS\n" to fd 3.
   */
  execStream(id: string, args: readonly string[], options: ExecStreamOptions = {}): ExecStream {
    const call: RuntimeCall = {
      command: 'exec',
      id,
      args,
      env: options.env,
      cwd: options.cwd,
      user: options.user,
      tty: options.tty ?? false,
      ...(options.tty ? { resizeFd: 3, ...(options.size ? { ttySize: options.size } : {}) } : {}),
    };
    const argv = runtimeArgv({ root: this.root, logFile: this.logFile }, call);
    const child = spawnChild(this.binary, argv, { shell: false, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
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
            ? new BerthError('E_EXEC_NOT_FOUND', `${this.binary} does not exist`, { cause: e, hint: 'Build it: make -C native (or npm run build).', details: { file: this.binary } })
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
        const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
        if (!ok(rows) || !ok(cols) || resizeStream === null || resizeStream.destroyed) return;
        resizeStream.write(`${rows} ${cols}\n`);
      },
      kill: () => {
        child.kill('SIGKILL');
      },
      exit,
    };
  }

  /**
   * Reclaim the network leases of containers whose state is gone (a crash, a lost /run):
   * their veths, nft elements and addresses. Returns what was reclaimed, one line each.
   * The daemon calls it when it starts.
   */
  async networkGc(): Promise<string[]> {
    const r = await this.call({ command: 'network-gc' });
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  /** The first line of `berth-runtime --version` ("berth-runtime 0.1.0"). */
  async version(): Promise<string> {
    const r = await this.call({ command: 'version' });
    return r.stdout.split('\n')[0] ?? '';
  }

  private async spawn(call: RuntimeCall, timeoutMs: number | undefined): Promise<RunResult> {
    const argv = runtimeArgv({ root: this.root, logFile: this.logFile }, call);
    const startedAt = Date.now();
    let result: RunResult;
    try {
      result = await run(this.binary, argv, { allowFailure: true, timeoutMs });
    } catch (e) {
      if (e instanceof BerthError && e.code === 'E_EXEC_NOT_FOUND') {
        throw new BerthError('E_EXEC_NOT_FOUND', `${this.binary} does not exist`, {
          cause: e,
          hint: 'Build it: make -C native (or npm run build).',
          details: { file: this.binary },
        });
      }
      throw e;
    }
    if (result.signal !== null && timeoutMs !== undefined && Date.now() - startedAt >= timeoutMs) {
      throw new RuntimeError(`berth-runtime ${call.command} timed out after ${timeoutMs} ms and was killed`, {
        command: call.command,
        containerId: containerIdOf(call),
        exitCode: null,
      });
    }
    return result;
  }

  /** A lifecycle call: anything but exit status 0 is the runtime's failure. */
  private async call(call: RuntimeCall): Promise<RunResult> {
    const r = await this.spawn(call, this.timeoutMs);
    if (r.code !== 0) {
      throw parseRuntimeError(r.stderr, containerIdOf(call), { command: call.command, exitCode: r.code, signal: r.signal });
    }
    return r;
  }

  /**
   * A call whose exit status may be the program's (foreground run, exec): it is the
   * runtime's own failure when the last line on stderr is its JSON error line.
   */
  private async program(call: RuntimeCall, timeoutMs: number | undefined): Promise<ProcessResult> {
    const r = await this.spawn(call, timeoutMs);
    const lastLine = r.stderr.trimEnd().split('\n').at(-1) ?? '';
    const runtimeFailed = r.code === null || (r.code !== 0 && lastRuntimeError(lastLine) !== undefined);
    if (runtimeFailed) {
      throw parseRuntimeError(r.stderr, containerIdOf(call), { command: call.command, exitCode: r.code, signal: r.signal });
    }
    return { code: r.code ?? 0, stdout: r.stdout, stderr: r.stderr };
  }

  private parseOutput<T>(command: string, containerId: string | undefined, stdout: string, schema: z.ZodType<T>): T {
    let value: unknown;
    try {
      value = JSON.parse(stdout);
    } catch (cause) {
      throw new RuntimeError(`berth-runtime ${command} printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`, {
        command,
        containerId,
        cause,
      });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new RuntimeError(`berth-runtime ${command} printed JSON of the wrong shape: ${describeIssues(parsed.error).join('; ')}`, {
        command,
        containerId,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }
}
