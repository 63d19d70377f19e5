/**
 * The client of berth-runtime (docs/runtime.md): every call is one run of the binary with
 * an argv array (argv.ts), `--root <root> --log-format=json` first, never a shell. stdout
 * carries JSON only for `state`, `list`, `ps`, `stats` and `network inspect`; a failure is a
 * non-zero exit plus JSON error lines on stderr, turned into a RuntimeError. What a failure
 * means (no such container, no such network, one that exists already) is decided by the
 * errno on that line, never by the words of its message.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BerthError, run, validateContainerId, type RunResult } from '../core/index.js';
import { attachContainer, type AttachSession } from './attach.js';
import { absolutePath, runtimeArgv, type RuntimeCall, type RuntimeSignal } from './argv.js';
import { defaultRuntimeBinary } from './binary.js';
import { annotations, describeIssues } from './bundle.js';
import { isRuntimeMissing, lastRuntimeError, parseRuntimeError, RuntimeError } from './errors.js';
import { runtimeNotFound, spawnExecStream, type ExecStream, type ExecStreamOptions } from './exec-stream.js';
import { networkInfoSchema, type ContainerAddress, type NetworkCreateOptions, type NetworkInfo } from './network.js';
import { containerStatsSchema, type ContainerStats, type ContainerStatus, ociStateSchema, type OciState } from './oci-spec.js';

export interface RuntimeClientOptions {
  /** The berth-runtime binary. @defaultValue this checkout's native/build/berth-runtime */
  binary?: string;
  /** The state directory, passed as `--root`. */
  root: string;
  /** Also append the runtime's error lines to this file. */
  logFile?: string;
  /**
   * Kill a lifecycle call (create, start, state, kill, delete, list, ps, network) that
   * takes longer. Foreground `run` and `exec` wait for their program and have no limit
   * unless given one.
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

/** What a program run in a container (foreground `run`, `exec`) did. */
export interface ProcessResult {
  /** Its exit status; 128+N when signal N ended it (as the runtime reports it). */
  code: number;
  stdout: string;
  stderr: string;
}

/** How a container ended, as its monitor recorded it (`exit.json`, docs/runtime.md). */
export interface RuntimeExit {
  /** Absent when nothing was recorded (its create was interrupted). */
  exitCode?: number;
  /** The signal that ended the container's first process, in the C library's words. */
  signal?: string;
  finishedAt?: string;
  oomKilled?: boolean;
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
    this.root = absolutePath('root', options.root);
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

  /** The container's OCI state, or undefined when the runtime has no such container. */
  async stateIfExists(id: string): Promise<OciState | undefined> {
    try {
      return await this.state(id);
    } catch (e) {
      if (isRuntimeMissing(e)) return undefined;
      throw e;
    }
  }

  /** Whether the runtime has container `id` (in any status). */
  async exists(id: string): Promise<boolean> {
    return (await this.stateIfExists(id)) !== undefined;
  }

  /** The container's status, or undefined when the runtime has no such container. */
  async status(id: string): Promise<ContainerStatus | undefined> {
    return (await this.stateIfExists(id))?.status;
  }

  /**
   * How the container ended: undefined while it is created or running, and when the runtime
   * has no such container. `state` gives the status, exit code, time and OOM kill; the
   * signal, which `state` does not print, comes from the monitor's exit.json.
   */
  async exitStatus(id: string): Promise<RuntimeExit | undefined> {
    const s = await this.stateIfExists(id);
    if (s === undefined || s.status === 'created' || s.status === 'running') return undefined;
    if (s.exitCode === undefined) return {};
    const signal = await readFile(join(this.root, validateContainerId(id), 'exit.json'), 'utf8')
      .then((text) => (JSON.parse(text) as { signal?: unknown }).signal)
      .catch(() => undefined);
    return {
      exitCode: s.exitCode,
      ...(typeof signal === 'string' && signal !== '' ? { signal } : {}),
      ...(s.finishedAt === undefined ? {} : { finishedAt: s.finishedAt }),
      ...(s.oomKilled === undefined ? {} : { oomKilled: s.oomKilled }),
    };
  }

  /**
   * The container's network and address, from its lease (`network inspect`): undefined when
   * it has no network, no address (yet, or any more), or does not exist. `network` saves
   * the `state` call that finds the network in the container's annotations.
   */
  async address(id: string, network?: string): Promise<ContainerAddress | undefined> {
    const name = network ?? (await this.stateIfExists(id))?.annotations?.[annotations.network];
    if (name === undefined) return undefined;
    const info = await this.networkInspect(name);
    const lease = info?.containers.find((c) => c.id === id);
    return lease === undefined ? undefined : { network: name, address: lease.address };
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
    return spawnExecStream(this.binary, runtimeArgv({ root: this.root, logFile: this.logFile }, call), id);
  }

  /**
   * A connection to the container's attach socket (berth.attach; docs/runtime.md, "The
   * attach socket"): its output as it comes, stdin and resizes to it, and its exit frame.
   */
  attach(id: string): Promise<AttachSession> {
    return attachContainer(this.root, id);
  }

  /**
   * Create bridge network `name`. One that exists already is a RuntimeError with errno
   * EEXIST (as is a host link of that name).
   */
  async networkCreate(name: string, options: NetworkCreateOptions = {}): Promise<void> {
    await this.call({ command: 'network-create', name, nat: options.nat ?? true, ...(options.subnet === undefined ? {} : { subnet: options.subnet }) });
  }

  /** The network's settings, leases and links, or undefined when it does not exist. */
  async networkInspect(name: string): Promise<NetworkInfo | undefined> {
    try {
      const r = await this.call({ command: 'network-inspect', name });
      return this.parseOutput('network inspect', undefined, r.stdout, networkInfoSchema);
    } catch (e) {
      if (isRuntimeMissing(e)) return undefined;
      throw e;
    }
  }

  /** Turn the network's outbound NAT on or off; its running containers follow. */
  async networkUpdate(name: string, options: { nat: boolean }): Promise<void> {
    await this.call({ command: 'network-update', name, nat: options.nat });
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
      if (e instanceof BerthError && e.code === 'E_EXEC_NOT_FOUND') throw runtimeNotFound(this.binary, e);
      throw e;
    }
    if (result.signal !== null && timeoutMs !== undefined && Date.now() - startedAt >= timeoutMs) {
      throw new RuntimeError(`berth-runtime ${commandName(call)} timed out after ${timeoutMs} ms and was killed`, {
        command: commandName(call),
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
      throw parseRuntimeError(r.stderr, containerIdOf(call), { command: commandName(call), exitCode: r.code, signal: r.signal });
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

/** The command as the runtime's usage names it: `network inspect`, not `network-inspect`. */
function commandName(call: RuntimeCall): string {
  return call.command.replace(/^network-/, 'network ');
}
