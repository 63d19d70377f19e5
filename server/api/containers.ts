/**
 * /v1/containers: Docker-like containers through the API (docs/api.md, "Containers").
 * attach and exec are HTTP Upgrades to `berth-stream`: they arrive on the http server's
 * 'upgrade' event, not through express, so `containerUpgradeHandler` checks the token
 * itself (the same check as every route) before it switches protocols. After the 101,
 * frames (server/core/frames.ts) go both ways; the last one the daemon sends is type 3,
 * the exit status as JSON, then it closes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { BerthError, decodeResize, encodeFrame, FrameDecoder, frameTypes, toBerthError, type Logger } from '../core/index.js';
import { createRequestSchema, type ContainerManager, type ExecRequest, type ExitStatus } from '../containers/index.js';
import { tokenMatches } from './auth.js';
import { imageView } from './images.js';

const commitSchema = z.strictObject({
  reference: z.string().min(1).optional(),
  message: z.string().optional(),
  author: z.string().optional(),
  changes: z
    .strictObject({
      cmd: z.array(z.string()).optional(),
      entrypoint: z.array(z.string()).optional(),
      env: z.array(z.string()).optional(),
      workdir: z.string().optional(),
      exposedPorts: z.array(z.string()).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

function body<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const r = schema.safeParse(req.body ?? {});
  if (r.success) return r.data;
  throw new BerthError('E_API_BAD_REQUEST', `the request body is not what ${req.method} ${req.baseUrl}${req.path} takes: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
}

function flag(req: Request, name: string): boolean {
  const v = req.query[name];
  if (v === undefined) return false;
  if (v === 'true' || v === '1' || v === '') return true;
  if (v === 'false' || v === '0') return false;
  throw new BerthError('E_API_BAD_REQUEST', `?${name}= takes true or false, not ${JSON.stringify(v)}`);
}

function numberParam(query: Record<string, unknown>, name: string): number | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+(\.\d+)?$/.test(v)) throw new BerthError('E_API_BAD_REQUEST', `?${name}= takes a number, not ${JSON.stringify(v)}`);
  return Number(v);
}

function refParam(req: Request): string {
  return String(req.params.ref);
}

export function containersRouter(containers: ContainerManager, log: Logger): Router {
  const r = express.Router();
  r.get('/', (req, res) => {
    const label = req.query.label ?? [];
    const labels = Array.isArray(label) ? label : [label];
    if (!labels.every((l) => typeof l === 'string')) throw new BerthError('E_API_BAD_REQUEST', '?label= takes key or key=value, once per label');
    res.json(containers.list({ all: flag(req, 'all'), labels }));
  });
  r.post('/', async (req, res) => {
    res.status(201).json(await containers.create(body(createRequestSchema, req)));
  });
  r.get('/:ref', (req, res) => {
    res.json(containers.inspect(refParam(req)));
  });
  r.delete('/:ref', async (req, res) => {
    res.json({ removed: await containers.remove(refParam(req), flag(req, 'force')) });
  });
  r.post('/:ref/start', async (req, res) => {
    res.json(await containers.start(refParam(req)));
  });
  r.post('/:ref/stop', async (req, res) => {
    res.json(await containers.stop(refParam(req), numberParam(req.query, 'timeout') ?? 10));
  });
  r.post('/:ref/kill', async (req, res) => {
    const signal = req.query.signal;
    if (signal !== undefined && typeof signal !== 'string') throw new BerthError('E_API_BAD_REQUEST', '?signal= takes one signal');
    res.json(await containers.kill(refParam(req), signal ?? 'KILL'));
  });
  r.get('/:ref/stats', async (req, res) => {
    res.json(await containers.stats(refParam(req)));
  });
  r.post('/:ref/commit', async (req, res) => {
    const b = body(commitSchema, req);
    res.status(201).json(imageView(await containers.commit(refParam(req), b)));
  });
  r.get('/:ref/logs', async (req, res) => {
    const tail = req.query.tail === 'all' ? undefined : numberParam(req.query, 'tail'); // Docker's --tail all
    flag(req, 'timestamps'); // every line carries its time; the client shows it or not
    const abort = new AbortController();
    const lines = containers.logs(refParam(req), { follow: flag(req, 'follow'), ...(tail === undefined ? {} : { tail: Math.floor(tail) }), signal: abort.signal });
    res.on('close', () => abort.abort());
    res.status(200).setHeader('content-type', 'application/x-ndjson');
    res.flushHeaders();
    try {
      for await (const line of lines) {
        if (!res.write(`${JSON.stringify(line)}\n`)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
        if (abort.signal.aborted) break;
      }
    } catch (err) {
      log.error({ err }, 'reading a container log failed');
      res.write(`${JSON.stringify(toBerthError(err).toJSON())}\n`);
    }
    res.end();
  });
  for (const what of ['attach', 'exec']) {
    r.post(`/:ref/${what}`, () => {
      throw new BerthError('E_API_BAD_REQUEST', `POST /v1/containers/:ref/${what} is a stream: send it with \`Connection: Upgrade\` and \`Upgrade: berth-stream\``);
    });
  }
  return r;
}

// ---- the streams

/** An HTTP error answer on a socket that was not upgraded. */
function refuse(socket: Duplex, err: BerthError, extraHeaders: string[] = []): void {
  const text = JSON.stringify(err.toJSON());
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict' }[err.httpStatus] ?? 'Error';
  socket.end(
    [`HTTP/1.1 ${err.httpStatus} ${reason}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(text)}`, 'Connection: close', ...extraHeaders, '', text].join('\r\n'),
  );
}

function exitFrame(status: ExitStatus): Buffer {
  return encodeFrame(frameTypes.exit, Buffer.from(JSON.stringify(status)));
}

function jsonParam<T>(query: URLSearchParams, name: string, schema: z.ZodType<T>): T | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new BerthError('E_API_BAD_REQUEST', `?${name}= must be a JSON array of strings, not ${JSON.stringify(v.slice(0, 100))}`);
  }
  const r = schema.safeParse(parsed);
  if (!r.success) throw new BerthError('E_API_BAD_REQUEST', `?${name}= must be a JSON array of strings`);
  return r.data;
}

function execRequest(query: URLSearchParams): ExecRequest {
  const cmd = jsonParam(query, 'cmd', z.array(z.string()));
  if (cmd === undefined) throw new BerthError('E_API_BAD_REQUEST', 'exec needs ?cmd=<JSON array>, e.g. ?cmd=["ls","-l"]');
  const env = jsonParam(query, 'env', z.array(z.string()));
  const bool = (n: string): boolean => {
    const v = query.get(n);
    if (v === null || v === 'false' || v === '0') return false;
    if (v === 'true' || v === '1' || v === '') return true;
    throw new BerthError('E_API_BAD_REQUEST', `?${n}= takes true or false, not ${JSON.stringify(v)}`);
  };
  const rows = numberParam(Object.fromEntries(query), 'rows');
  const cols = numberParam(Object.fromEntries(query), 'cols');
  return {
    cmd,
    tty: bool('tty'),
    ...(env ? { env } : {}),
    ...(query.get('workdir') ? { workdir: query.get('workdir')! } : {}),
    ...(query.get('user') ? { user: query.get('user')! } : {}),
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
function sender(socket: Duplex, source: { pause(): void; resume(): void }): (frame: Buffer) => void {
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

async function attachStream(containers: ContainerManager, ref: string, socket: Duplex, head: Buffer, switchProtocols: () => void): Promise<void> {
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

function execFailureStatus(err: BerthError): number {
  return /no such file|not found/i.test(err.message) ? 127 : 126;
}

async function execStream(containers: ContainerManager, ref: string, query: URLSearchParams, socket: Duplex, head: Buffer, switchProtocols: () => void): Promise<void> {
  const req = execRequest(query);
  const p = await containers.exec(ref, req);
  switchProtocols();
  let exited = false;
  const pausable = { pause: () => { p.stdout.pause(); p.stderr.pause(); }, resume: () => { p.stdout.resume(); p.stderr.resume(); } };
  const send = sender(socket, pausable);
  p.stdout.on('data', (b: Buffer) => send(encodeFrame(frameTypes.stdout, b)));
  p.stderr.on('data', (b: Buffer) => send(encodeFrame(frameTypes.stderr, b)));
  readClientFrames(socket, head, {
    stdin: (b) => { if (!p.stdin.writableEnded) p.stdin.write(b); },
    resize: (rows, cols) => p.resize(rows, cols),
    closeStdin: () => p.stdin.end(),
  });
  socket.on('close', () => {
    if (!exited) p.kill();
  });
  const outputDone = Promise.all([p.stdout, p.stderr].map((s) => new Promise<void>((resolve) => (s.readableEnded ? resolve() : s.once('close', () => resolve())))));
  let status: ExitStatus;
  try {
    status = await p.exit;
  } catch (err) {
    const e = toBerthError(err);
    status = { exitCode: execFailureStatus(e) };
    await outputDone;
    send(encodeFrame(frameTypes.stderr, Buffer.from(`${e.message}\n`)));
  }
  exited = true;
  await outputDone;
  if (!socket.destroyed) socket.write(exitFrame(status));
  socket.end();
}

export interface UpgradeOptions {
  token: string;
  log: Logger;
  containers?: ContainerManager;
}

/**
 * The http server's 'upgrade' listener: `POST /v1/containers/:ref/attach` and `/exec` with
 * `Upgrade: berth-stream` and the API token. Anything else is answered with the error it is.
 */
export function containerUpgradeHandler(o: UpgradeOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://berth');
    if (!tokenMatches(o.token, req.headers.authorization)) {
      const given = req.headers.authorization !== undefined;
      refuse(socket, new BerthError('E_API_UNAUTHORIZED', given ? 'the API token is wrong' : 'this request carries no API token'), ['WWW-Authenticate: Basic realm="berth", Bearer realm="berth"']);
      return;
    }
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
    const work = m[2] === 'attach'
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
