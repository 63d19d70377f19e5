/**
 * git over SSH, the API's end (docs/api.md, "Streams: git over SSH"; docs/ssh.md):
 * `POST /v1/ssh/<app>/<git-receive-pack|git-upload-pack>?key=<name>` upgraded to
 * `berth-stream`. git-shell (run by sshd) sends its stdin as stdin frames and closeStdin at
 * its end; the daemon runs the git service on the app's repository and sends its stdout and
 * stderr frames, then the exit frame. Both directions wait for the slower side, so a pack
 * of any size streams through without being held in memory.
 *
 * The pusher going away does not kill git: its stdin ends (an unfinished pack is refused
 * by git itself) and its output is drained, so a pre-receive hook that already enqueued a
 * deploy finishes, as over HTTP.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError, encodeFrame, FrameDecoder, frameTypes, renderError, toBerthError, validateKeyName, type Logger } from '../core/index.js';
import { gitSshService, type GitProcess, type GitSshRequest } from '../git/index.js';
import { stringParam } from './params.js';
import { authorizeUpgrade, exitFrame, refuse, sender } from './streams.js';

/** What the handler needs of git: the service started for a request (the daemon binds the apps store and the hook's environment). */
export interface GitSshStreams {
  start(request: GitSshRequest): Promise<GitProcess>;
}

export interface SshUpgradeOptions {
  token: string;
  log: Logger;
  git: GitSshStreams;
}

type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Client → daemon: stdin frames into git's stdin, pausing the socket while git is behind; closeStdin ends it. */
function feedStdin(socket: Duplex, head: Buffer, git: GitProcess): void {
  const decoder = new FrameDecoder();
  const feed = (chunk: Buffer): void => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const f of frames) {
      if (git.stdin.writableEnded) return;
      if (f.type === frameTypes.stdin) {
        if (!git.stdin.write(f.payload)) {
          socket.pause();
          git.stdin.once('drain', () => socket.resume());
        }
      } else if (f.type === frameTypes.closeStdin) git.stdin.end();
    }
  };
  git.stdin.on('error', () => undefined); // git exited before reading all: its status says why
  if (head.length > 0) feed(head);
  socket.on('data', feed);
  socket.once('close', () => {
    if (!git.stdin.writableEnded) git.stdin.end();
  });
}

async function relayGit(o: SshUpgradeOptions, request: GitSshRequest, socket: Duplex, head: Buffer, switchProtocols: () => void): Promise<void> {
  let switched = false;
  const switchOnce = (): void => {
    if (!switched) switchProtocols();
    switched = true;
  };
  // A push waiting for another one to the same app says so at once (git shows ssh's stderr as is).
  const waiting = (message: string): void => {
    switchOnce();
    socket.write(encodeFrame(frameTypes.stderr, Buffer.from(`${message}\n`)));
  };
  let git: GitProcess;
  try {
    git = await o.git.start({ ...request, waiting });
  } catch (err) {
    if (!switched) throw err;
    // Already switched to tell the pusher it waits: the error goes the same way.
    socket.write(encodeFrame(frameTypes.stderr, Buffer.from(`${renderError(toBerthError(err))}\n`)));
    socket.end(exitFrame({ exitCode: 128 }));
    return;
  }
  switchOnce();
  const outputs = [git.stdout, git.stderr];
  const send = sender(socket, { pause: () => outputs.forEach((s) => s.pause()), resume: () => outputs.forEach((s) => s.resume()) });
  git.stdout.on('data', (b: Buffer) => send(encodeFrame(frameTypes.stdout, b)));
  git.stderr.on('data', (b: Buffer) => send(encodeFrame(frameTypes.stderr, b)));
  // A client gone: keep draining git's output (a paused stream would block git forever).
  socket.once('close', () => outputs.forEach((s) => s.resume()));
  feedStdin(socket, head, git);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => git.once('close', (c, s) => resolve([c, s])));
  if (!socket.destroyed) socket.write(exitFrame({ exitCode: code ?? 128 + 9, ...(signal ? { signal } : {}) }));
  socket.end();
  o.log.info({ app: request.app, key: request.key, service: request.service, exitCode: code, signal }, `git over SSH: ${request.service} ${request.app} ended`);
}

/**
 * Wraps the daemon's other upgrade handler: `/v1/ssh/…` is git over SSH, anything else goes
 * on to `next` (attach and exec). The token is checked first, as on every route.
 */
export function sshUpgradeHandler(o: SshUpgradeOptions, next: UpgradeHandler): UpgradeHandler {
  return (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://berth');
    if (!url.pathname.startsWith('/v1/ssh/')) return next(req, socket, head);
    socket.on('error', () => undefined);
    if (!authorizeUpgrade(o.token, req, socket)) return;
    const m = /^\/v1\/ssh\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const service = m ? gitSshService(m[2]!) : undefined;
    if (!m || !service || req.method !== 'POST') {
      refuse(socket, new BerthError('E_API_NOT_FOUND', `no stream route for ${req.method} ${url.pathname}`));
      return;
    }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'berth-stream') {
      refuse(socket, new BerthError('E_API_BAD_REQUEST', `${url.pathname} speaks the berth-stream protocol, not ${JSON.stringify(req.headers.upgrade)}`));
      return;
    }
    let switched = false;
    const switchProtocols = (): void => {
      switched = true;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: berth-stream\r\n\r\n');
    };
    const work = async () => {
      const key = validateKeyName(stringParam(url.searchParams, 'key') ?? '');
      const protocol = stringParam(url.searchParams, 'protocol');
      await relayGit(o, { app: decodeURIComponent(m[1]!), service, key, ...(protocol ? { protocol } : {}) }, socket, head, switchProtocols);
    };
    work().catch((err: unknown) => {
      const e = toBerthError(err);
      if (e.code === 'E_BERTH_INTERNAL') o.log.error({ err, path: url.pathname }, 'git over SSH failed');
      if (!switched) refuse(socket, e);
      else socket.destroy();
    });
  };
}
