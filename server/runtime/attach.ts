/**
 * The client of a container's attach socket (docs/runtime.md, "The attach socket"): the
 * monitor of a container created with `berth.attach` listens on `<root>/<id>/attach.sock`
 * and speaks the frames of server/core/frames.ts both ways. Output is broadcast live to
 * every client; the monitor drops a client that falls more than 1 MiB behind. At the end
 * it writes exit.json, sends every client a last frame (type 3) with its content, then
 * closes them: a client that got the exit frame knows how the container ended. A client may
 * also start the created container (a start frame).
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { BerthError, encodeFrame, encodeResize, FrameDecoder, frameTypes, MAX_FRAME_PAYLOAD, validateContainerId } from '../core/index.js';

/** The attach socket of container `id` under the state root `root`. */
export function attachSocketPath(root: string, id: string): string {
  if (!isAbsolute(root)) throw new BerthError('E_BERTH_INTERNAL', `runtime root must be an absolute path, not ${JSON.stringify(root)}`);
  return join(root, validateContainerId(id), 'attach.sock');
}

/** A piece of the program's output. With a terminal, everything is 'stdout'. */
export interface AttachOutput {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** The container's end as the monitor recorded it (exit.json). */
export interface AttachExit {
  /** The status; 128+N when signal N ended it. */
  exitCode: number;
  /** The signal's description (strsignal), when one ended it. */
  signal?: string;
  finishedAt: string;
  /** The kernel's OOM killer killed a process of the container. */
  oomKilled: boolean;
  /** With `berth.delete-on-exit`: the monitor has deleted the container (no `delete` is needed). */
  deleted?: boolean;
}

/** How an attach connection ended. */
export interface AttachEnd {
  /**
   * true: the container exited; the monitor sent its exit status (exit.json is written),
   * then closed the connection. false: the connection ended otherwise (close() was called,
   * the monitor dropped this client for falling behind or for a bad frame, or died).
   */
  exited: boolean;
  /** With exited: what exit.json says. */
  exit?: AttachExit;
}

interface AttachEvents {
  data: [AttachOutput];
  end: [AttachEnd];
}

/**
 * One connection to a container's attach socket.
 *
 * Output arrives as 'data' events ({stream, data}); with no listener it is discarded, so a
 * session used only to learn when the container ends costs nothing. pause() stops reading
 * (the monitor drops the client past 1 MiB unsent), resume() reads again. 'end' (and the
 * `ended` promise) come once, at EOF; a socket error also ends the session (exited false).
 */
export class AttachSession extends EventEmitter<AttachEvents> {
  /** Resolves once the connection has ended; never rejects. */
  readonly ended: Promise<AttachEnd>;
  private readonly decoder = new FrameDecoder();
  private finished = false;
  private exit: AttachExit | undefined;

  constructor(private readonly socket: Socket) {
    super();
    let resolveEnded!: (end: AttachEnd) => void;
    this.ended = new Promise((r) => (resolveEnded = r));
    const finish = (): void => {
      if (this.finished) return;
      this.finished = true;
      const end: AttachEnd = this.exit === undefined ? { exited: false } : { exited: true, exit: this.exit };
      resolveEnded(end);
      this.emit('end', end);
    };
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = this.decoder.push(chunk);
      } catch {
        socket.destroy(); // out of step with the monitor: nothing more can be trusted
        return;
      }
      for (const f of frames) {
        if (f.type === frameTypes.stdout || f.type === frameTypes.stderr) {
          this.emit('data', { stream: f.type === frameTypes.stdout ? 'stdout' : 'stderr', data: f.payload });
        } else if (f.type === frameTypes.exit) {
          this.exit = parseExit(f.payload);
        }
      }
    });
    socket.on('error', () => undefined); // 'close' follows, and ends the session
    socket.on('close', finish);
  }

  /** Bytes for the program's stdin (or terminal); split into frames of at most 1 MiB. */
  write(data: Buffer | string): boolean {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let ok = true;
    for (let at = 0; at < bytes.length; at += MAX_FRAME_PAYLOAD) {
      ok = this.send(encodeFrame(frameTypes.stdin, bytes.subarray(at, at + MAX_FRAME_PAYLOAD)));
    }
    return ok;
  }

  /** Resize the container's terminal (ignored by the monitor without one). */
  resize(rows: number, cols: number): void {
    this.send(encodeResize(rows, cols));
  }

  /** End the program's stdin: EOF on a pipe, the EOF character (^D) on a terminal. */
  closeStdin(): void {
    this.send(encodeFrame(frameTypes.closeStdin));
  }

  /**
   * Start the created container (the start frame): the monitor does what the runtime's
   * `start` does, so attaching and starting cost no runtime run. A container that has
   * started already ignores it; one that cannot start ends, its reason on stderr and in its
   * exit status (126, 127). False when the connection has ended.
   */
  start(): boolean {
    return this.send(encodeFrame(frameTypes.start));
  }

  /** Stop reading output (backpressure); the monitor drops this client past 1 MiB unsent. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Leave the container running and close this connection. */
  close(): void {
    this.socket.destroy();
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.finished;
  }

  private send(frame: Buffer): boolean {
    if (this.finished || this.socket.destroyed) return false;
    return this.socket.write(frame);
  }
}

function parseExit(payload: Buffer): AttachExit {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Partial<AttachExit>;
    return {
      exitCode: typeof v.exitCode === 'number' ? v.exitCode : -1,
      ...(typeof v.signal === 'string' ? { signal: v.signal } : {}),
      finishedAt: typeof v.finishedAt === 'string' ? v.finishedAt : '',
      oomKilled: v.oomKilled === true,
      ...(v.deleted === true ? { deleted: true } : {}),
    };
  } catch {
    return { exitCode: -1, finishedAt: '', oomKilled: false }; // the monitor could not read exit.json back
  }
}

/**
 * Connect to the attach socket of container `id` (created with `berth.attach`). Connecting
 * between create and start misses no output. Fails with E_RUNTIME_FAILED when there is no
 * socket (no such container, not created with attach, or already exited).
 */
export function attachContainer(root: string, id: string): Promise<AttachSession> {
  const path = attachSocketPath(root, id);
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const onError = (e: NodeJS.ErrnoException): void => {
      socket.destroy();
      const why =
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? `container \`${id}\` has no attach socket: it does not exist, was not created with ${'berth.attach'}, or has exited`
          : `cannot connect to ${path}: ${e.message}`;
      reject(new BerthError('E_RUNTIME_FAILED', why, { cause: e, details: { containerId: id, socket: path } }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new AttachSession(socket));
    });
  });
}
