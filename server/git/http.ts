/**
 * git's smart-HTTP transport (gitprotocol-http(5)) at `/<app>.git/…`: node-git-server, the
 * package the design names, mounted in the API's express app. It spawns the real
 * `git-upload-pack` and `git-receive-pack --stateless-rpc` on the app's bare repo and streams
 * the request body into git and git's output into the answer.
 *
 * Authentication is the API's own middleware, which runs before this router on every route
 * (api/app.ts), so an unauthenticated `POST /<app>.git/git-receive-pack` is answered 401
 * before git starts: node-git-server's `authenticate` would guard only `GET info/refs`, so it
 * is not used. Before node-git-server sees a request, this router checks the route and the
 * app name, and creates the app on its first push (BERTH_APPS_AUTOCREATE) or answers
 * E_APP_NOT_FOUND; node-git-server runs with `autoCreate: false`, its repos resolved to the
 * apps store's `paths(app).repo`. Nothing is decided on its events: the pre-receive hook
 * decides (docs/git.md). Its `response` API (which crashes the process) is never used, nor
 * its dumb-HTTP `GET /<app>.git/HEAD` route: only the smart routes reach it.
 *
 * Where node-git-server 1.0.0 gets something wrong, and the fence here (each seen in its
 * source, src/git.ts and src/service.ts, and the first three reproduced against it):
 * - `Git.handle` hands a POST's `Service` out (its push/fetch/tag event) only once a regex
 *   has matched the body's FIRST chunk: a push whose first command is not under refs/heads or
 *   refs/tags (`git push berth HEAD:refs/notes/x`), or a first chunk that ends mid-line, is
 *   never accepted and hangs. So POSTs do not go through `handle`: this router builds the
 *   same `Service` (node-git-server's transport) and accepts it at once.
 * - Its `Service` re-emits every `error` of the request it reads: a pusher that breaks off
 *   mid-upload crashes the process (unhandled 'error'), and so does a request body that is
 *   not valid gzip (its gunzip has no 'error' listener); `Content-Encoding: deflate` it
 *   compresses instead of inflating. So it reads the body from a stream this router feeds
 *   (`bodyOf`): inflated here, never erroring, ended when the pusher breaks off so git sees
 *   its input end and exits (a cut pack stores nothing).
 * - It never reads git's stderr (a git that writes more than a pipe's worth would block) and
 *   stops reading git's output when the answer is closed while paused (git would block). So
 *   git's stderr is drained into the log, and a closed answer drains git's output.
 * - It spawns git with the daemon's environment and nothing per request: no GIT_PROTOCOL
 *   (git over HTTP speaks protocol v0; v2 only over SSH), and nothing for the hook, which
 *   finds its app and the daemon from the repository it runs in (cli/commands/git-hook).
 * - `Git.handle` answers every git route with `Connection: close` (one connection per
 *   request: harmless on a push, which makes two).
 *
 * Memory: a pack is never held in memory. Until it is accepted, `Service` pipes the body
 * through a paused `through` stream (src/service.ts); `through.write` returns false while
 * paused, so the pipe pauses the body stream and the body stream pauses the socket: at most
 * a chunk per stage waits (and here it is accepted at once). After accept, the same
 * backpressure runs from git's stdin back to the socket, and from the answer's socket back to
 * git's stdout.
 */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import express, { type Request, type Response, type Router } from 'express';
import { Git, Service, noCache, type HttpDuplex } from 'node-git-server';
import { BerthError, validateAppName, type Logger } from '../core/index.js';
import { acquirePush } from './push-lock.js';
import type { GitApps, GitHttpOptions } from './types.js';

type ServiceName = 'git-upload-pack' | 'git-receive-pack';

const route = /^\/([^/]+)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;
const services: readonly string[] = ['git-upload-pack', 'git-receive-pack'];
/** How much of git's stderr the log quotes. */
const STDERR_KEPT = 4096;

/** The app's bare repo; on the first push to an unknown app, the app is created when allowed. */
export async function repoOf(apps: GitApps, name: string, createIfMissing: boolean): Promise<string> {
  if ((await apps.find(name)) === undefined) {
    if (!createIfMissing)
      await apps.get(name); // throws E_APP_NOT_FOUND, hinting at apps:create
    else {
      try {
        await apps.create(name);
      } catch (err) {
        // Two first pushes at once: the other one created it.
        if ((await apps.find(name)) === undefined) throw err;
      }
    }
  }
  return apps.paths(name).repo;
}

/** node-git-server's `repos`: the name in its URLs (`hello.git`) → the app's bare repo. */
function repoDirectory(apps: GitApps): (dir?: string) => string {
  return (dir) => {
    const name = dir?.endsWith('.git') ? dir.slice(0, -'.git'.length) : dir;
    if (!name) throw new BerthError('E_BERTH_INTERNAL', `node-git-server asked for the repository of ${JSON.stringify(dir ?? '')}`);
    validateAppName(name);
    return apps.paths(name).repo;
  };
}

/**
 * The request node-git-server reads a POST from: the body, inflated here when gzip-encoded
 * (git compresses large fetch requests), that never errors and ends when the pusher breaks
 * off. It carries only the headers node-git-server reads (no encoding, no credentials).
 * `broken` is called when the body cannot be read (a gzip error); a pusher gone away is not
 * an error: git's input just ends.
 */
function bodyOf(req: Request, log: Logger, broken: (err: BerthError) => void): IncomingMessage {
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (!['', 'identity', 'gzip', 'x-gzip'].includes(encoding)) {
    throw new BerthError('E_API_BAD_REQUEST', `a git request body encoded as ${JSON.stringify(encoding)}: only gzip or none is understood`);
  }
  const body = Object.assign(new PassThrough(), { headers: { 'content-type': req.headers['content-type'] }, method: req.method, url: req.url });
  const gunzip = encoding === 'identity' || encoding === '' ? undefined : createGunzip();
  const source: Readable = gunzip ? req.pipe(gunzip) : req;
  source.pipe(body);
  let cut = false;
  const end = (why: string, err?: unknown): void => {
    if (cut) return;
    cut = true;
    log.debug({ err, path: req.path }, `the git request body ${why}: git's input ends here`);
    source.unpipe(body);
    gunzip?.destroy();
    body.end();
  };
  req.on('error', (err) => end('broke off', err)); // the pusher went away (ECONNRESET)
  req.once('close', () => {
    if (!req.complete) end('broke off');
  });
  gunzip?.on('error', (err) => {
    end('is not valid gzip', err);
    broken(new BerthError('E_API_BAD_REQUEST', `the body of ${req.method} ${req.path} is not valid gzip: ${err.message}`, { cause: err }));
  });
  return body as unknown as IncomingMessage;
}

/** What git wrote on stderr (the first STDERR_KEPT characters), and its end in the log. */
function watchGit(ps: ChildProcess, service: string, repo: string, log: Logger): void {
  let stderr = '';
  ps.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < STDERR_KEPT) stderr += s.slice(0, STDERR_KEPT - stderr.length);
  });
  ps.once('close', (code, signal) => {
    if (code !== 0) log.warn({ repo, code, signal, stderr }, `${service} ended with ${code ?? signal}`);
  });
}

/**
 * Serve one POST (`git-upload-pack`, `git-receive-pack`) with node-git-server's `Service`,
 * accepted at once. Resolves when the answer is closed; rejects (to the API's error handler)
 * when something fails before a byte of the answer went out, else cuts the connection.
 * git is not killed when the pusher goes away: a push whose pre-receive hook has handed a
 * deploy to the queue then still finishes (its refs are updated once the deploy succeeds).
 * A push first waits for the app's push lock and holds it until git has exited (push-lock.ts).
 */
async function servePost(repos: Git, name: string, service: ServiceName, req: Request, res: Response, log: Logger): Promise<void> {
  const cwd = repos.dirMap(`${name}.git`);
  // A push holds the app's push lock until its git has exited (push-lock.ts); a fetch never waits.
  const release = service === 'git-receive-pack' ? await acquirePush(cwd) : () => undefined;
  return new Promise((resolve, reject) => {
    const fail = (err: BerthError): void => {
      if (!res.headersSent) {
        res.removeHeader('content-type'); // git's, set below: the error answer is JSON
        reject(err);
      } else {
        log.warn({ err, app: name }, `${service} for ${name} broke off after it answered: ${err.message}`);
        res.destroy();
      }
    };
    let body: IncomingMessage;
    try {
      body = bodyOf(req, log, fail);
    } catch (err) {
      release(); // git never started
      throw err;
    }
    res.setHeader('content-type', `application/x-${service}-result`);
    noCache(res);
    const action = new Service({ repo: `${name}.git`, service: service === 'git-receive-pack' ? 'receive-pack' : 'upload-pack', cwd }, body, res);
    let git: ChildProcess | undefined;
    let closed = false;
    /** An answer closed early leaves git's output unread; read it into nothing so git never blocks. */
    const drain = (): void => {
      git?.stdout?.unpipe();
      git?.stdout?.resume();
    };
    res.once('close', () => {
      closed = true;
      drain();
      resolve();
    });
    action.on('error', (err: Error & { code?: string }) => {
      // git's output arriving after `fail` answered with an error: nothing more to say.
      if (err.code === 'ERR_STREAM_WRITE_AFTER_END') return;
      if (git === undefined || git.exitCode !== null || git.signalCode !== null) release(); // git could not start, or is gone
      fail(
        new BerthError('E_GIT_FAILED', `${service} on ${cwd} failed: ${err.message}`, {
          cause: err,
          ...(/ENOENT/.test(err.message)
            ? { hint: 'Install git on the server (apt-get install -y git); the daemon runs git-receive-pack and git-upload-pack from its PATH.' }
            : {}),
        }),
      );
    });
    action.once('service', (ps: ChildProcess) => {
      git = ps;
      ps.once('close', release);
      watchGit(ps, service, cwd, log);
      if (closed) drain();
    });
    action.accept();
  });
}

/**
 * The router serving `/<app>.git/…` (mounted at the API's root, behind its token check).
 * Paths that are not a smart-HTTP route fall through to the API's 404.
 */
export function gitHttpRouter(o: GitHttpOptions, log: Logger): Router {
  const autoCreate = o.autoCreate ?? true;
  const repos = new Git(repoDirectory(o.apps), { autoCreate: false });
  repos.on('info', (info: HttpDuplex) => {
    info.on('error', (err: Error) => log.debug({ err, path: info.url }, 'a git advertisement broke off'));
    info.accept();
  });
  // git-upload-pack/git-receive-pack --advertise-refs could not be spawned (its answer has begun).
  repos.on('error', (err: Error) => log.warn({ err }, `git over HTTP: ${err.message}`));
  const r = express.Router();
  r.use(async (req, res, next) => {
    const m = route.exec(req.path);
    if (m === null) return next();
    const [, name = '', what] = m;
    const advertise = what === 'info/refs';
    if (req.method !== (advertise ? 'GET' : 'POST')) return next();
    validateAppName(name);
    const service = (advertise ? req.query.service : what) as ServiceName;
    if (typeof service !== 'string' || !services.includes(service)) {
      throw new BerthError(
        'E_API_BAD_REQUEST',
        `GET /${name}.git/info/refs needs ?service=git-upload-pack or ?service=git-receive-pack: Berth serves git's smart HTTP only`,
        {
          hint: 'Use git 1.6.6 or later, which speaks smart HTTP.',
        },
      );
    }
    if (!advertise && req.headers['content-type'] !== `application/x-${service}-request`) {
      throw new BerthError(
        'E_API_BAD_REQUEST',
        `POST /${name}.git/${service} takes a body of type application/x-${service}-request, not ${req.headers['content-type'] ?? 'none'}`,
      );
    }
    const push = service === 'git-receive-pack';
    await repoOf(o.apps, name, push && advertise && autoCreate);
    if (advertise) repos.handle(req, res);
    else await servePost(repos, name, service, req, res, log);
  });
  return r;
}
