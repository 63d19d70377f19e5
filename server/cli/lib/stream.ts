/**
 * The CLI's end of an attach or exec stream (docs/api.md, "Streams"): an HTTP Upgrade to
 * `berth-stream` (fetch cannot upgrade, so node:http), then frames both ways
 * (server/core/frames.ts). `relay` is the pure part, tested over an in-memory socket pair:
 * the terminal's size first and on every resize, stdin as stdin frames (Ctrl-P Ctrl-Q
 * detaches on a terminal, as Docker), closeStdin at stdin's EOF, stdout and stderr frames to
 * their streams, and the final exit frame's status.
 */
import { spawnSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { ExitStatus } from '../../api/index.js';
import { BerthError, encodeFrame, encodeResize, FrameDecoder, frameTypes, MAX_FRAME_PAYLOAD } from '../../core/index.js';
import { errorFromAnswer } from './api-error.js';
import { requestFor } from './client.js';
import type { CliSettings } from './settings.js';

/** Ctrl-P Ctrl-Q, Docker's default detach keys. */
export const detachKeys = Buffer.from([0x10, 0x11]);

/**
 * Finds the detach sequence in what the user types. A chunk ending in a prefix of it is held
 * back until the next chunk says whether the sequence completes (then nothing of it is sent)
 * or not (then the held bytes go first, as Docker's escape proxy does).
 */
export class DetachScanner {
  private held = 0;

  constructor(private readonly keys: Buffer = detachKeys) {}

  push(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      if (this.held > 0) {
        out.push(...this.keys.subarray(0, this.held));
        this.held = 0;
        if (byte === this.keys[0]) {
          this.held = 1;
          continue;
        }
      }
      out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

export type RelayResult = { kind: 'exit'; status: ExitStatus } | { kind: 'detached' } | { kind: 'closed' };

export interface RelayOptions {
  /** What the user types; undefined: nothing is read (no -i). */
  stdin?: Readable;
  /** Send closeStdin at once (an exec without -i: its stdin is empty, as Docker's). */
  closeStdinAtOnce?: boolean;
  stdout: Writable;
  stderr: Writable;
  /** A terminal: Ctrl-P Ctrl-Q detaches. */
  tty: boolean;
  /** The terminal's size now, if there is one. */
  size?: () => { rows: number; cols: number } | undefined;
  /** Subscribe to size changes; returns the unsubscribe function. */
  onResize?: (listener: () => void) => () => void;
}

function parseExit(payload: Buffer): ExitStatus {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new BerthError('E_CLI_BAD_RESPONSE', `the exit frame is not JSON: ${payload.toString('utf8').slice(0, 200)}`);
  }
  const e = v as Partial<ExitStatus>;
  if (typeof e.exitCode !== 'number') throw new BerthError('E_CLI_BAD_RESPONSE', `the exit frame has no exitCode: ${payload.toString('utf8').slice(0, 200)}`);
  return { exitCode: e.exitCode, ...(typeof e.signal === 'string' ? { signal: e.signal } : {}), ...(e.oomKilled === true ? { oomKilled: true } : {}) };
}

/**
 * Relay between a stream socket and the local stdio until the exit frame (then the result is
 * the container's status), the detach keys, or the socket's end without an exit frame
 * ('closed': the caller asks the API how the container ended). A malformed frame rejects.
 */
export function relay(socket: Duplex, o: RelayOptions): Promise<RelayResult> {
  return new Promise<RelayResult>((resolve, reject) => {
    const decoder = new FrameDecoder();
    const scanner = new DetachScanner();
    let exit: ExitStatus | undefined;
    let settled = false;
    const cleanups: (() => void)[] = [];
    const finish = (err: unknown, result?: RelayResult) => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      if (err) reject(err);
      else resolve(result!);
    };
    /** Write a frame; false when the socket's buffer is full (the caller may wait for 'drain'). */
    const send = (frame: Buffer): boolean => (!socket.destroyed && socket.writable ? socket.write(frame) : true);

    const size = o.size?.();
    if (size) send(encodeResize(size.rows, size.cols));
    if (o.onResize) {
      cleanups.push(
        o.onResize(() => {
          const s = o.size?.();
          if (s) send(encodeResize(s.rows, s.cols));
        }),
      );
    }
    if (o.closeStdinAtOnce) send(encodeFrame(frameTypes.closeStdin));

    const stdin = o.stdin;
    if (stdin) {
      const onData = (chunk: Buffer | string) => {
        let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (o.tty) {
          const r = scanner.push(data);
          data = r.forward;
          if (r.detach) {
            if (data.length > 0) send(encodeFrame(frameTypes.stdin, data));
            socket.end();
            finish(undefined, { kind: 'detached' });
            return;
          }
        }
        let room = true;
        for (let i = 0; i < data.length; i += MAX_FRAME_PAYLOAD) room = send(encodeFrame(frameTypes.stdin, data.subarray(i, i + MAX_FRAME_PAYLOAD))) && room;
        // A large input (`tar c . | berth container:run -i …`) waits for the API, not in memory.
        if (!room) {
          stdin.pause();
          socket.once('drain', () => {
            if (!settled) stdin.resume();
          });
        }
      };
      const onEnd = () => send(encodeFrame(frameTypes.closeStdin));
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      });
    }

    const onData = (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        socket.destroy();
        finish(new BerthError('E_CLI_BAD_RESPONSE', `the stream from the API is out of step: ${(err as Error).message}`, { cause: err }));
        return;
      }
      for (const f of frames) {
        if (f.type === frameTypes.stdout || f.type === frameTypes.stderr) {
          const out = f.type === frameTypes.stdout ? o.stdout : o.stderr;
          if (!out.write(f.payload)) {
            socket.pause();
            out.once('drain', () => socket.resume());
          }
        } else if (f.type === frameTypes.exit) {
          try {
            exit = parseExit(f.payload);
            // The API closes after the exit frame; should it not, do not hang on it.
            const status = exit;
            const timer = setTimeout(() => {
              socket.destroy();
              finish(undefined, { kind: 'exit', status });
            }, 2000);
            cleanups.push(() => clearTimeout(timer));
          } catch (err) {
            socket.destroy();
            finish(err);
            return;
          }
        }
        // Other types only travel client → container; a server sending them is ignored.
      }
    };
    const onEnd = () => finish(undefined, exit ? { kind: 'exit', status: exit } : { kind: 'closed' });
    const onError = (err: Error) => {
      if (exit) finish(undefined, { kind: 'exit', status: exit });
      else finish(new BerthError('E_CLI_UNREACHABLE', `the stream to the Berth API broke: ${err.message}`, { cause: err }));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    cleanups.push(() => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    });
  });
}

/** An error answer to the upgrade request, as the BerthError it was. */
async function upgradeRefused(res: IncomingMessage, what: string): Promise<BerthError> {
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return errorFromAnswer(text, `${what} answered HTTP ${res.statusCode} instead of switching to a stream`);
}

/**
 * POST `path` with `Connection: Upgrade, Upgrade: berth-stream` and the token; resolves with
 * the upgraded socket (bytes already read after the 101 are put back), or rejects with the
 * API's error.
 */
export async function openStream(settings: CliSettings, path: string, timeoutMs = 30_000): Promise<Duplex> {
  const url = new URL(`${settings.url}${path}`);
  const request = await requestFor(url);
  return new Promise<Duplex>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { connection: 'Upgrade', upgrade: 'berth-stream', authorization: `Bearer ${settings.token}` },
      timeout: timeoutMs,
    });
    req.once('upgrade', (res, socket, head) => {
      req.setTimeout(0);
      socket.setTimeout(0);
      if (res.headers.upgrade?.toLowerCase() !== 'berth-stream') {
        socket.destroy();
        reject(new BerthError('E_CLI_BAD_RESPONSE', `POST ${path} switched to ${JSON.stringify(res.headers.upgrade)}, not berth-stream`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      socket.setNoDelay(true);
      resolve(socket);
    });
    req.once('response', (res) => {
      upgradeRefused(res, `POST ${path}`).then(reject, reject);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { name: 'TimeoutError' })));
    req.once('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ECONNREFUSED' ? 'connection refused' : err.message;
      reject(new BerthError('E_CLI_UNREACHABLE', `cannot reach the Berth API at ${settings.url} (from ${settings.source}): ${reason}`, { cause: err }));
    });
    req.end();
  });
}

/** The local terminal: its size and size changes, raw mode that is always undone. */
export interface LocalTerminal {
  size: () => { rows: number; cols: number } | undefined;
  onResize: (listener: () => void) => () => void;
  /** Put stdin in raw mode (when it is a terminal); returns the function that restores it. */
  raw: () => () => void;
}

export function localTerminal(stdin: NodeJS.ReadStream = process.stdin, outs: NodeJS.WriteStream[] = [process.stdout, process.stderr]): LocalTerminal {
  const tty = outs.find((s) => s.isTTY);
  return {
    size: () => (tty && tty.rows && tty.columns ? { rows: tty.rows, cols: tty.columns } : undefined),
    onResize: (listener) => {
      if (!tty) return () => {};
      tty.on('resize', listener);
      return () => tty.off('resize', listener);
    },
    raw: () => {
      if (!stdin.isTTY) return () => {};
      stdin.setRawMode(true);
      // libuv's raw mode keeps output processing (ONLCR), so the container's "\r\n" would
      // reach the screen as "\r\r\n"; Docker's raw mode turns it off. setRawMode(false)
      // puts back the termios saved before, OPOST included.
      if (stdin === process.stdin) spawnSync('stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'], timeout: 5000 });
      let restored = false;
      const restore = () => {
        if (restored) return;
        restored = true;
        try {
          stdin.setRawMode(false);
        } catch {
          // stdin already closed: nothing left to restore.
        }
      };
      // main.ts ends the process with process.exit: restore on that path too.
      process.once('exit', restore);
      return () => {
        process.off('exit', restore);
        restore();
      };
    },
  };
}
