/**
 * The client of a container's attach socket (docs/runtime.md, "The attach socket"): the
 * monitor of a container created with `berth.attach` listens on `<root>/<id>/attach.sock`
 * and speaks the frames of server/core/frames.ts both ways. Output is broadcast live to
 * every client; the monitor drops a client that falls more than 1 MiB behind. At the end
 * it writes exit.json, then closes every client: EOF means the status can be read at once.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
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

/** How an attach connection ended. */
export interface AttachEnd {
  /**
   * true: the monitor closed it after the container exited (exit.json is written);
   * false: the connection ended otherwise (close() was called, the monitor dropped this
   * client for falling behind or for a bad frame, or the monitor died).
   */
  exited: boolean;
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

  constructor(
    private readonly socket: Socket,
    private readonly exitFile: string,
  ) {
    super();
    let resolveEnded!: (end: AttachEnd) => void;
    this.ended = new Promise((r) => (resolveEnded = r));
    const finish = (): void => {
      if (this.finished) return;
      this.finished = true;
      const end = { exited: existsSync(this.exitFile) };
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

/**
 * Connect to the attach socket of container `id` (created with `berth.attach`). Connecting
 * between create and start misses no output. Fails with E_RUNTIME_FAILED when there is no
 * socket (no such container, not created with attach, or already exited).
 */
export function attachContainer(root: string, id: string): Promise<AttachSession> {
  const path = attachSocketPath(root, id);
  const exitFile = join(root, id, 'exit.json');
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
      resolve(new AttachSession(socket, exitFile));
    });
  });
}
