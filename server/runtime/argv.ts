/**
 * berth-runtime's command line as data: a `RuntimeCall` becomes the argv array the client
 * runs (docs/runtime.md, docs/networking.md). Every value that lands in argv is validated
 * here, never repaired, so none can be taken for an option.
 */
import { isAbsolute } from 'node:path';
import { BerthError, validateContainerId } from '../core/index.js';

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
  | { command: 'network-create'; name: string; subnet?: string; nat: boolean }
  | { command: 'network-inspect'; name: string }
  | { command: 'network-update'; name: string; nat: boolean }
  | { command: 'network-gc' }
  | { command: 'version' };

function bad(message: string, details: Record<string, unknown> = {}): BerthError {
  return new BerthError('E_BERTH_INTERNAL', message, { details });
}

/** `path` when it is absolute and has no NUL byte. */
export function absolutePath(what: string, path: string): string {
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

/** Whether `n` is a terminal dimension the runtime takes (1 to 65535). */
export function validTerminalDimension(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

function sizeArg(size: { rows: number; cols: number }): string {
  if (!validTerminalDimension(size.rows) || !validTerminalDimension(size.cols)) {
    throw bad(`terminal size ${size.rows}x${size.cols}: rows and columns are 1 to 65535`, { size });
  }
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

/** A network name as docs/networking.md allows it (it is the bridge's name too). */
function networkArg(name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,14}$/.test(name)) {
    throw bad(`network name ${JSON.stringify(name)}: use 1 to 15 of a-z, 0-9, and - _ after the first`, { network: name });
  }
  return name;
}

function subnetArg(subnet: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(subnet)) throw bad(`subnet ${JSON.stringify(subnet)} is not an IPv4 CIDR such as 10.88.0.0/16`, { subnet });
  return subnet;
}

function programArgs(call: Extract<RuntimeCall, { command: 'exec' }>, opt: (flag: string, value: string | undefined, what: string) => string[]): string[] {
  if (call.args.length === 0) throw bad('exec needs a program to run', { id: call.id });
  return [
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

/**
 * The argv (without the binary) for `call`: global flags first, then the command, its
 * options, and the container id last before any program arguments. Ids are validated,
 * not repaired, so none can be taken for an option.
 */
export function runtimeArgv(globals: RuntimeGlobals, call: RuntimeCall): string[] {
  const argv = ['--root', absolutePath('root', globals.root), '--log-format=json'];
  if (globals.logFile !== undefined) argv.push('--log', absolutePath('logFile', globals.logFile));
  const opt = (flag: string, value: string | undefined, what: string): string[] => (value === undefined ? [] : [flag, absolutePath(what, value)]);
  switch (call.command) {
    case 'version':
      return [...argv, '--version'];
    case 'list':
      return [...argv, 'list', '--format', 'json'];
    case 'network-gc':
      return [...argv, 'network', 'gc'];
    case 'network-create':
      return [
        ...argv,
        'network',
        'create',
        ...(call.subnet === undefined ? [] : ['--subnet', subnetArg(call.subnet)]),
        ...(call.nat ? [] : ['--no-nat']),
        networkArg(call.name),
      ];
    case 'network-inspect':
      return [...argv, 'network', 'inspect', networkArg(call.name)];
    case 'network-update':
      return [...argv, 'network', 'update', call.nat ? '--nat' : '--no-nat', networkArg(call.name)];
    case 'create':
    case 'run':
      return [
        ...argv,
        call.command,
        ...(call.command === 'run' && call.detach ? ['--detach'] : []),
        '--bundle',
        absolutePath('bundle', call.bundle),
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
      return [...argv, ...programArgs(call, opt)];
  }
}
