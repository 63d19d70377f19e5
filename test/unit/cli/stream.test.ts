/**
 * The CLI's side of an attach/exec stream over an in-memory socket pair: the far end plays
 * the API with the real frame codec.
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { duplexPair, PassThrough, type Duplex } from 'node:stream';
import { DetachScanner, openStream, relay } from '../../../server/cli/lib/stream.js';
import { decodeResize, encodeFrame, FrameDecoder, frameTypes, type Frame } from '../../../server/core/index.js';

/** Collects what the CLI sent to the far end, frame by frame. */
function farEnd(socket: Duplex): { frames: Frame[]; next: (type: number) => Promise<Frame> } {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    frames.push(...decoder.push(chunk));
    for (const w of waiters.splice(0)) w();
  });
  let seen = 0;
  const next = async (type: number): Promise<Frame> => {
    for (;;) {
      while (seen < frames.length) {
        const f = frames[seen++]!;
        if (f.type === type) return f;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { frames, next };
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (b: Buffer) => parts.push(b));
  return { stream, text: () => Buffer.concat(parts).toString() };
}

test('output frames go to stdout and stderr; the exit frame gives the status', async (t) => {
  const [cli, api] = duplexPair();
  const out = sink();
  const err = sink();
  const done = relay(cli, { stdout: out.stream, stderr: err.stream, tty: false });
  api.write(encodeFrame(frameTypes.stdout, 'hel'));
  // A frame split across writes, and two frames in one write.
  const two = Buffer.concat([encodeFrame(frameTypes.stdout, 'lo\n'), encodeFrame(frameTypes.stderr, 'oops\n')]);
  api.write(two.subarray(0, 5));
  api.write(two.subarray(5));
  api.end(encodeFrame(frameTypes.exit, JSON.stringify({ exitCode: 3 })));
  t.deepEqual(await done, { kind: 'exit', status: { exitCode: 3 } });
  t.is(out.text(), 'hello\n');
  t.is(err.text(), 'oops\n');
});

test('stdin becomes stdin frames, its end a closeStdin frame; the size goes first and on resize', async (t) => {
  const [cli, api] = duplexPair();
  const far = farEnd(api);
  const stdin = new PassThrough();
  let size = { rows: 24, cols: 80 };
  let resized: (() => void) | undefined;
  const done = relay(cli, {
    stdin,
    stdout: sink().stream,
    stderr: sink().stream,
    tty: true,
    size: () => size,
    onResize: (l) => {
      resized = l;
      return () => (resized = undefined);
    },
  });
  t.deepEqual(decodeResize((await far.next(frameTypes.resize)).payload), { rows: 24, cols: 80 });
  t.is(far.frames[0]?.type, frameTypes.resize, 'the size is the first frame');
  stdin.write('echo hi\r');
  t.is((await far.next(frameTypes.stdin)).payload.toString(), 'echo hi\r');
  size = { rows: 50, cols: 132 };
  resized?.();
  t.deepEqual(decodeResize((await far.next(frameTypes.resize)).payload), { rows: 50, cols: 132 });
  stdin.end();
  t.is((await far.next(frameTypes.closeStdin)).payload.length, 0);
  api.end(encodeFrame(frameTypes.exit, JSON.stringify({ exitCode: 0, signal: 'SIGTERM', oomKilled: true })));
  t.deepEqual(await done, { kind: 'exit', status: { exitCode: 0, signal: 'SIGTERM', oomKilled: true } });
  t.is(resized, undefined, 'the resize listener is removed at the end');
});

test('Ctrl-P Ctrl-Q detaches on a terminal: nothing of it is sent, the stream is ended', async (t) => {
  const [cli, api] = duplexPair();
  const far = farEnd(api);
  const stdin = new PassThrough();
  const done = relay(cli, { stdin, stdout: sink().stream, stderr: sink().stream, tty: true });
  stdin.write('ls\r\x10');
  stdin.write('\x11');
  t.deepEqual(await done, { kind: 'detached' });
  const ended = new Promise<void>((r) => api.once('end', () => r()));
  api.resume();
  await ended;
  const sent = Buffer.concat(far.frames.filter((f) => f.type === frameTypes.stdin).map((f) => f.payload)).toString();
  t.is(sent, 'ls\r');
});

test('without a terminal Ctrl-P Ctrl-Q are plain bytes; -i without input closes stdin at once', async (t) => {
  const [cli, api] = duplexPair();
  const far = farEnd(api);
  const stdin = new PassThrough();
  const done = relay(cli, { stdin, stdout: sink().stream, stderr: sink().stream, tty: false });
  stdin.end(Buffer.from([0x10, 0x11, 0x41]));
  t.deepEqual([...(await far.next(frameTypes.stdin)).payload], [0x10, 0x11, 0x41]);
  await far.next(frameTypes.closeStdin);
  api.end(encodeFrame(frameTypes.exit, '{"exitCode":0}'));
  t.like(await done, { kind: 'exit' });

  const [cli2, api2] = duplexPair();
  const far2 = farEnd(api2);
  const done2 = relay(cli2, { closeStdinAtOnce: true, stdout: sink().stream, stderr: sink().stream, tty: false });
  await far2.next(frameTypes.closeStdin);
  api2.end();
  t.deepEqual(await done2, { kind: 'closed' }, 'no exit frame: the caller asks the API');
});

test('a large stdin waits for the socket (backpressure) and arrives whole, in order', async (t) => {
  const [cli, api] = duplexPair();
  const stdin = new PassThrough();
  const done = relay(cli, { stdin, stdout: sink().stream, stderr: sink().stream, tty: false });
  const input = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < input.length; i++) input[i] = i % 251;
  let pausedOnce = false;
  stdin.on('pause', () => (pausedOnce = true));
  stdin.end(input);
  // Let the relay fill the socket before the far end reads anything.
  await new Promise((r) => setTimeout(r, 50));
  t.true(pausedOnce, 'stdin was paused while the socket was full');
  const far = farEnd(api);
  await far.next(frameTypes.closeStdin);
  const got = Buffer.concat(far.frames.filter((f) => f.type === frameTypes.stdin).map((f) => f.payload));
  t.true(got.equals(input));
  api.end(encodeFrame(frameTypes.exit, '{"exitCode":0}'));
  t.like(await done, { kind: 'exit' });
});

test('the detach scanner holds a Ctrl-P across chunks and gives it back when no Ctrl-Q follows', (t) => {
  const s = new DetachScanner();
  t.deepEqual(s.push(Buffer.from('a\x10')), { forward: Buffer.from('a'), detach: false });
  t.deepEqual(s.push(Buffer.from('b')), { forward: Buffer.from('\x10b'), detach: false });
  t.deepEqual(s.push(Buffer.from('\x10\x10')), { forward: Buffer.from('\x10'), detach: false });
  t.deepEqual(s.push(Buffer.from('\x11rest')), { forward: Buffer.alloc(0), detach: true });
});

test('a malformed frame or exit payload from the API is an error, not a hang', async (t) => {
  const [cli, api] = duplexPair();
  const done = relay(cli, { stdout: sink().stream, stderr: sink().stream, tty: false });
  api.write(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]));
  await t.throwsAsync(done, { message: /out of step: not a Berth stream frame/ });

  const [cli2, api2] = duplexPair();
  const done2 = relay(cli2, { stdout: sink().stream, stderr: sink().stream, tty: false });
  api2.write(encodeFrame(frameTypes.exit, 'nope'));
  await t.throwsAsync(done2, { message: /the exit frame is not JSON/ });
});

async function listen(t: import('ava').ExecutionContext, server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('openStream upgrades with the token and keeps bytes sent right after the 101', async (t) => {
  const server = createServer();
  let seen: { auth?: string; upgrade?: string; url?: string } = {};
  server.on('upgrade', (req, socket) => {
    if (req.url === '/v1/nope') {
      const body = JSON.stringify({ error: { code: 'E_API_NOT_FOUND', message: 'no route POST /v1/nope' } });
      socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    seen = { auth: req.headers.authorization, upgrade: req.headers.upgrade, url: req.url };
    socket.write(
      Buffer.concat([
        Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: berth-stream\r\n\r\n'),
        encodeFrame(frameTypes.stdout, 'early\n'),
        encodeFrame(frameTypes.exit, '{"exitCode":7}'),
      ]),
    );
    socket.end();
  });
  const url = await listen(t, server);
  const settings = { url, token: 'tok', source: 'test' };
  const socket = await openStream(settings, '/v1/containers/abc/attach');
  const out = sink();
  t.deepEqual(await relay(socket, { stdout: out.stream, stderr: sink().stream, tty: false }), { kind: 'exit', status: { exitCode: 7 } });
  t.is(out.text(), 'early\n');
  t.deepEqual(seen, { auth: 'Bearer tok', upgrade: 'berth-stream', url: '/v1/containers/abc/attach' });
  await t.throwsAsync(openStream(settings, '/v1/nope'), { message: 'no route POST /v1/nope' });
  await t.throwsAsync(openStream({ ...settings, url: 'http://127.0.0.1:1' }, '/x'), { message: /cannot reach the Berth API .*connection refused/ });
});
