/**
 * berth-runtime's failures as BerthErrors. With `--log-format=json` the runtime writes one
 * JSON line per error on stderr (native/README.md, "Error convention"):
 * `{"level":"error","msg":"...","errno":22,"op":"mount","time":"..."}`; the last error line
 * is the outermost, fully wrapped message, so that is the one reported.
 */
import { constants } from 'node:os';
import { BerthError } from '../core/index.js';

export interface RuntimeErrorOptions {
  /** The failing call as the runtime names it (`mount`, `clone`, `usage`…). */
  op?: string;
  /** The container the command was about, when it was about one. */
  containerId?: string;
  /** errno of the failing call; absent when the runtime reported none. */
  errno?: number;
  /** The runtime subcommand that failed (`create`, `state`…). */
  command?: string;
  /** berth-runtime's exit status, or null when a signal ended it. */
  exitCode?: number | null;
  cause?: unknown;
}

/** A failed berth-runtime call: what the C side said, as it said it (docs/errors.md). */
export class RuntimeError extends BerthError {
  readonly op: string | undefined;
  readonly containerId: string | undefined;
  readonly errno: number | undefined;
  readonly command: string | undefined;

  constructor(message: string, options: RuntimeErrorOptions = {}) {
    const details: Record<string, unknown> = {};
    for (const key of ['command', 'containerId', 'op', 'errno', 'exitCode'] as const) {
      if (options[key] !== undefined) details[key] = options[key];
    }
    super('E_RUNTIME_FAILED', message, { cause: options.cause, details });
    this.name = 'RuntimeError';
    this.op = options.op;
    this.containerId = options.containerId;
    this.errno = options.errno;
    this.command = options.command;
  }
}

/** One line of the runtime's JSON log. */
export interface RuntimeLogLine {
  level: string;
  msg: string;
  errno?: number;
  op?: string;
  time?: string;
}

/** `line` as a runtime log line, or undefined when it is not one (program output, text). */
export function parseRuntimeLogLine(line: string): RuntimeLogLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.level !== 'string' || typeof o.msg !== 'string') return undefined;
  const parsed: RuntimeLogLine = { level: o.level, msg: o.msg };
  if (typeof o.errno === 'number' && Number.isInteger(o.errno)) parsed.errno = o.errno;
  if (typeof o.op === 'string') parsed.op = o.op;
  if (typeof o.time === 'string') parsed.time = o.time;
  return parsed;
}

/** The last `error` line of the runtime's stderr, if any. */
export function lastRuntimeError(stderr: string): RuntimeLogLine | undefined {
  const lines = stderr.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const parsed = parseRuntimeLogLine(lines[i] ?? '');
    if (parsed?.level === 'error') return parsed;
  }
  return undefined;
}

/** What to say about the call besides stderr, for the message and details. */
export interface RuntimeCallContext {
  command?: string;
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
}

const QUOTED_LINES = 20;

/**
 * The RuntimeError that the runtime's stderr describes: the last JSON error line when
 * there is one (its msg, op and errno), otherwise the text itself, quoted (a crash, a
 * sanitizer report, a runtime built without JSON logging).
 */
export function parseRuntimeError(stderr: string, containerId?: string, context: RuntimeCallContext = {}): RuntimeError {
  const prefix = context.command === undefined ? 'berth-runtime' : `berth-runtime ${context.command}`;
  const options = { containerId, command: context.command, exitCode: context.exitCode };
  const line = lastRuntimeError(stderr);
  if (line !== undefined) {
    return new RuntimeError(`${prefix}: ${line.msg}`, { ...options, op: line.op, errno: line.errno });
  }
  const how = context.signal ? `was killed by ${context.signal}` : context.exitCode != null ? `exited with status ${context.exitCode}` : 'failed';
  const text = stderr.trim().split('\n').slice(-QUOTED_LINES).join('\n');
  return new RuntimeError(text === '' ? `${prefix} ${how} without saying why` : `${prefix} ${how}:\n${text}`, options);
}

/**
 * Whether `e` is the runtime saying that what the call was about does not exist (no such
 * container, no such network): its error line carries ENOENT.
 */
export function isRuntimeMissing(e: unknown): boolean {
  return e instanceof RuntimeError && e.errno === constants.errno.ENOENT;
}
