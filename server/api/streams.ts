/**
 * attach and exec: HTTP Upgrades to `berth-stream` (docs/api.md, "Streams: attach and
 * exec"). They arrive on the http server's 'upgrade' event, not through express, so
 * `containerUpgradeHandler` checks the token itself (the same check as every route)
 * before it switches protocols. After the 101, frames (server/core/frames.ts) go both
 * ways; the last one the daemon sends is type 3, the exit status as JSON, then it closes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { BerthError, cannotRunStatus, decodeResize, encodeFrame, FrameDecoder, frameTypes, toBerthError, type Logger } from '../core/index.js';
import type { ExecRequest } from '../containers/index.js';
import { tokenMatches } from './auth.js';
import type { ContainerService } from './services.js';
import { flagParam, jsonParam, numberParam, stringParam } from './params.js';
import type { ExitStatus } from './wire.js';

/** An HTTP error answer on a socket that was not upgraded. */
export function refuse(socket: Duplex, err: BerthError, extraHeaders: string[] = []): void {
  const text = JSON.stringify(err.toJSON());
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict' }[err.httpStatus] ?? 'Error';
  socket.end(
    [
      `HTTP/1.1 ${err.httpStatus} ${reason}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(text)}`,
      'Connection: close',
      ...extraHeaders,
      '',
      text,
    ].join('\r\n'),
  );
}

export function exitFrame(status: ExitStatus): Buffer {
  return encodeFrame(frameTypes.exit, Buffer.from(JSON.stringify(status)));
}

const stringArray = z.array(z.string());

function execRequest(query: URLSearchParams): ExecRequest {
  const cmd = jsonParam(query, 'cmd', stringArray, 'a JSON array of strings');
  if (cmd === undefined) throw new BerthError('E_API_BAD_REQUEST', 'exec needs ?cmd=<JSON array>, e.g. ?cmd=["ls","-l"]');
  const env = jsonParam(query, 'env', stringArray, 'a JSON array of strings');
  const rows = numberParam(query, 'rows');
  const cols = numberParam(query, 'cols');
  const workdir = stringParam(query, 'workdir');
  const user = stringParam(query, 'user');
  return {
    cmd,
    tty: flagParam(query, 'tty'),
    ...(env ? { env } : {}),
    ...(workdir ? { workdir } : {}),
    ...(user ? { user } : {}),
    ...(rows && cols ? { size: { rows, cols } } : {}),
  };
}

/** Client → daemon frames: stdin, resize, close stdin. A malformed frame ends the stream. */
function readClientFrames(socket: Duplex, head: Buffer, on: { stdin(b: Buffer): void; resize(rows: number, cols: number): void; closeStdin(): void }): void {
  const decoder = new FrameDecoder();
  const feed = (chunk: Buffer): void => {
    try {
      for (const f of decoder.push(chunk)) {
        if (f.type === frameTypes.stdin) on.stdin(f.payload);
        else if (f.type === frameTypes.resize) {
          const size = decodeResize(f.payload);
          on.resize(size.rows, size.cols);
        } else if (f.type === frameTypes.closeStdin) on.closeStdin();
      }
    } catch {
      socket.destroy();
    }
  };
  if (head.length > 0) feed(head);
  socket.on('data', feed);
}

/** Writes output frames; pauses `source` while the client reads slowly. */
export function sender(socket: Duplex, source: { pause(): void; resume(): void }): (frame: Buffer) => void {
  let waiting = false;
  return (frame) => {
    if (socket.destroyed) return;
    if (!socket.write(frame) && !waiting) {
      waiting = true;
      source.pause();
      socket.once('drain', () => {
        waiting = false;
        source.resume();
      });
    }
  };
}

async function attachStream(containers: ContainerService, ref: string, socket: Duplex, head: Buffer, switchProtocols: () => void): Promise<void> {
  const { session, exit } = await containers.attach(ref);
  switchProtocols();
  const send = sender(socket, session);
  session.on('data', (o) => send(encodeFrame(o.stream === 'stdout' ? frameTypes.stdout : frameTypes.stderr, o.data)));
  readClientFrames(socket, head, {
    stdin: (b) => session.write(b),
    resize: (rows, cols) => session.resize(rows, cols),
    closeStdin: () => session.closeStdin(),
  });
  socket.on('close', () => session.close());
  const end = await session.ended;
  if (!end.exited) {
    socket.end();
    return;
  }
  const status = await exit;
  if (status && !socket.destroyed) socket.write(exitFrame(status));
  socket.end();
}

async function execStream(
  containers: ContainerService,
  ref: string,
  query: URLSearchParams,
  socket: Duplex,
  head: Buffer,
  switchProtocols: () => void,
): Promise<void> {
  const req = execRequest(query);
  const p = await containers.exec(ref, req);
  switchProtocols();
  let exited = false;
  const pausable = {
    pause: () => {
      p.stdout.pause();
      p.stderr.pause();
    },
    resume: () => {
      p.stdout.resume();
      p.stderr.resume();
    },
  };
  const send = sender(socket, pausable);
  p.stdout.on('data', (b: Buffer) => send(encodeFrame(frameTypes.stdout, b)));
  p.stderr.on('data', (b: Buffer) => send(encodeFrame(frameTypes.stderr, b)));
  readClientFrames(socket, head, {
    stdin: (b) => {
      if (!p.stdin.writableEnded) p.stdin.write(b);
    },
    resize: (rows, cols) => p.resize(rows, cols),
    closeStdin: () => p.stdin.end(),
  });
  socket.on('close', () => {
    if (!exited) p.kill();
  });
  const outputDone = Promise.all(
    [p.stdout, p.stderr].map((s) => new Promise<void>((resolve) => (s.readableEnded ? resolve() : s.once('close', () => resolve())))),
  );
  let status: ExitStatus;
  try {
    status = await p.exit;
  } catch (err) {
    const e = toBerthError(err);
    status = { exitCode: cannotRunStatus(e.details) ?? 126 }; // Docker's exec: the program could not be run
    await outputDone;
    send(encodeFrame(frameTypes.stderr, Buffer.from(`${e.message}\n`)));
  }
  exited = true;
  await outputDone;
  if (!socket.destroyed) socket.write(exitFrame(status));
  socket.end();
}

/** The token check of every upgrade request; an unauthorized one is answered (401) and false returned. */
export function authorizeUpgrade(token: string, req: IncomingMessage, socket: Duplex): boolean {
  if (tokenMatches(token, req.headers.authorization)) return true;
  const given = req.headers.authorization !== undefined;
  refuse(socket, new BerthError('E_API_UNAUTHORIZED', given ? 'the API token is wrong' : 'this request carries no API token'), [
    'WWW-Authenticate: Basic realm="berth", Bearer realm="berth"',
  ]);
  return false;
}

export interface UpgradeOptions {
  token: string;
  log: Logger;
  containers?: ContainerService;
}

/**
 * The http server's 'upgrade' listener: `POST /v1/containers/:ref/attach` and `/exec` with
 * `Upgrade: berth-stream` and the API token. Anything else is answered with the error it is.
 */
export function containerUpgradeHandler(o: UpgradeOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://berth');
    if (!authorizeUpgrade(o.token, req, socket)) return;
    const m = /^\/v1\/containers\/([^/]+)\/(attach|exec)$/.exec(url.pathname);
    if (!m || req.method !== 'POST' || !o.containers) {
      refuse(socket, new BerthError('E_API_NOT_FOUND', `no stream route for ${req.method} ${url.pathname}`));
      return;
    }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'berth-stream') {
      refuse(socket, new BerthError('E_API_BAD_REQUEST', `${url.pathname} speaks the berth-stream protocol, not ${JSON.stringify(req.headers.upgrade)}`));
      return;
    }
    const ref = decodeURIComponent(m[1]!);
    let switched = false;
    const switchProtocols = (): void => {
      switched = true;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: berth-stream\r\n\r\n');
    };
    const work =
      m[2] === 'attach'
        ? attachStream(o.containers, ref, socket, head, switchProtocols)
        : execStream(o.containers, ref, url.searchParams, socket, head, switchProtocols);
    work.catch((err: unknown) => {
      const e = toBerthError(err);
      if (e.code === 'E_BERTH_INTERNAL') o.log.error({ err, path: url.pathname }, 'stream failed');
      if (!switched) refuse(socket, e);
      else socket.destroy();
    });
  };
}
