/**
 * One attached session of `container:run`, `container:start -a` and `container:exec`: the
 * stream opened, the local terminal raw for -it (and always restored), signals forwarded
 * without one, and the program's exit status at the end.
 */
import type { ContainerView } from '../../api/index.js';
import { BerthError, renderError, toBerthError } from '../../core/index.js';
import { apiRequest } from './client.js';
import { shortId } from './format.js';
import { containerPath } from './paths.js';
import type { CliSettings } from './settings.js';
import { localTerminal, openStream, relay, type RelayResult } from './stream.js';

const ref = containerPath;

/** Forward SIGINT and SIGTERM to the container while attached without a raw terminal (Docker's --sig-proxy). */
function proxySignals(settings: CliSettings, id: string): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const h = () => {
      apiRequest(settings, 'POST', `${ref(id)}/kill?signal=${signal.slice(3)}`).catch((err: unknown) =>
        process.stderr.write(`${renderError(toBerthError(err))}\n`),
      );
    };
    process.on(signal, h);
    return () => process.off(signal, h);
  });
  return () => handlers.forEach((off) => off());
}

export interface SessionOptions {
  interactive: boolean;
  tty: boolean;
  closeStdinAtOnce?: boolean;
  /** Runs once the stream is open (container:run starts the container here). */
  afterOpen?: () => Promise<void>;
  /** Forward signals to this container when no raw terminal takes them. */
  signalsTo?: string;
}

/** Open a stream, put the terminal in raw mode for -it, relay until the end; always restore the terminal. */
export async function session(settings: CliSettings, path: string, o: SessionOptions): Promise<RelayResult> {
  const socket = await openStream(settings, path);
  const term = localTerminal();
  const rawTerminal = o.tty && o.interactive && process.stdin.isTTY === true;
  const restore = rawTerminal ? term.raw() : () => {};
  const unproxy = !rawTerminal && o.signalsTo ? proxySignals(settings, o.signalsTo) : () => {};
  // A reader that went away (`| head -1`): end as a program killed by SIGPIPE does (141), as
  // Docker's CLI does; the container is left as it is. The 'exit' hook restores the terminal.
  const onPipeError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(128 + 13);
    throw err;
  };
  process.stdout.on('error', onPipeError);
  process.stderr.on('error', onPipeError);
  try {
    const relaying = relay(socket, {
      ...(o.interactive ? { stdin: process.stdin } : {}),
      closeStdinAtOnce: o.closeStdinAtOnce === true,
      stdout: process.stdout,
      stderr: process.stderr,
      tty: o.tty && o.interactive,
      ...(o.tty ? { size: term.size, onResize: term.onResize } : {}),
    });
    if (o.afterOpen) {
      try {
        await o.afterOpen();
      } catch (err) {
        socket.destroy();
        relaying.catch(() => {});
        throw err;
      }
    }
    return await relaying;
  } finally {
    process.stdout.off('error', onPipeError);
    process.stderr.off('error', onPipeError);
    unproxy();
    restore();
    if (o.interactive) process.stdin.pause();
  }
}

/** A stream that ended without an exit frame: ask how the container ended (bounded wait). */
async function exitCodeOf(settings: CliSettings, id: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const v = await apiRequest<ContainerView>(settings, 'GET', ref(id));
    if (v.state === 'exited') return v.exitCode ?? 0;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new BerthError('E_CLI_BAD_RESPONSE', `the stream of container ${shortId(id)} ended without its exit status, and it still runs`);
}

export async function statusOf(settings: CliSettings, id: string, r: RelayResult): Promise<number> {
  if (r.kind === 'detached') return 0;
  if (r.kind === 'exit') return r.status.exitCode;
  return exitCodeOf(settings, id);
}
