/**
 * git's smart-HTTP transport (git's gitprotocol-http(5)) under express, at `/<app>.git/…`:
 * `GET info/refs?service=…` advertises the refs, `POST git-upload-pack` serves a fetch or
 * clone, `POST git-receive-pack` takes a push. Each spawns the real git program with
 * `--stateless-rpc` on the app's bare repo and pipes the request body into it and its output
 * into the answer, so a pack of any size streams through and is never held in memory.
 *
 * Why not node-git-server, the package DESIGN.md names: it is not among the project's
 * dependencies (package.json), and what it would add is this file; its known defects (it
 * authenticates only `GET info/refs`, misparses refs in its push events, and its `response`
 * API crashes the process) would each need a fence. Authentication is the API's own
 * middleware, which runs before this router on every route (api/app.ts), so an
 * unauthenticated `POST /<app>.git/git-receive-pack` is answered 401 before git starts.
 * Dumb HTTP (`GET /<app>.git/HEAD`, `objects/…`) is not served: every git since 1.6.6 speaks
 * the smart protocol.
 */
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import express, { type Request, type Response, type Router } from 'express';
import { BerthError, isErrno, validateAppName, type Logger } from '../core/index.js';
import type { GitApps, GitHttpOptions } from './types.js';

type Service = 'git-upload-pack' | 'git-receive-pack';

const route = /^\/([^/]+)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;
const services: readonly string[] = ['git-upload-pack', 'git-receive-pack'];
/** `Git-Protocol: version=2`: passed on as GIT_PROTOCOL, so only a value of that shape. */
const protocolHeader = /^[A-Za-z0-9=:.,_-]{1,100}$/;
/** How much of git's stderr an error message quotes. */
const STDERR_KEPT = 4096;

/** A pkt-line (gitprotocol-common(5)): four hex digits of length, then the data. */
const pktLine = (data: string): string => `${(data.length + 4).toString(16).padStart(4, '0')}${data}`;

/** The app's bare repo; on the first push to an unknown app, the app is created when allowed. */
async function repoOf(apps: GitApps, name: string, createIfMissing: boolean): Promise<string> {
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

interface GitRun {
  service: Service;
  repo: string;
  advertise: boolean;
  env: NodeJS.ProcessEnv;
  body?: NodeJS.ReadableStream;
}

/**
 * Run one git program for one request, streaming both ways. The answer's headers go out with
 * git's first byte of output, so a git that fails before it says anything is a plain error
 * answer (E_GIT_FAILED with its stderr). The program is not killed when the client goes away:
 * a push whose pre-receive hook has handed a deploy to the queue then still finishes (its
 * refs are updated once the deploy succeeds), and git ends by itself when its input ends.
 */
function runGit(git: string, run: GitRun, res: Response, log: Logger): Promise<void> {
  const args = [run.service.slice('git-'.length), '--stateless-rpc', ...(run.advertise ? ['--advertise-refs'] : []), run.repo];
  return new Promise((resolve, reject) => {
    const child = spawn(git, args, { env: run.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < STDERR_KEPT) stderr += s.slice(0, STDERR_KEPT - stderr.length);
    });
    let started = false;
    const begin = (): void => {
      if (started) return;
      started = true;
      const kind = run.advertise ? 'advertisement' : 'result';
      res.status(200).setHeader('content-type', `application/x-${run.service}-${kind}`);
      res.setHeader('cache-control', 'no-cache, max-age=0, must-revalidate');
      if (run.advertise) res.write(`${pktLine(`# service=${run.service}\n`)}0000`);
    };
    child.stdout.once('data', begin);
    child.stdout.pipe(res, { end: false });
    // A client gone away: keep reading git's output (into a closed answer) so git never blocks.
    res.once('close', () => child.stdout.resume());
    if (run.body) {
      pipeline(run.body, child.stdin).catch((err: unknown) => {
        log.debug({ err, repo: run.repo }, `the ${run.service} request body ended early`);
        child.stdin.destroy();
      });
    } else child.stdin.end();
    child.once('error', (err) => {
      reject(
        new BerthError('E_GIT_FAILED', `cannot run ${git} ${args.join(' ')}: ${err.message}`, {
          cause: err,
          ...(isErrno(err, 'ENOENT') ? { hint: 'Install git on the server: apt-get install -y git' } : {}),
        }),
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0 || started) {
        if (code !== 0) log.warn({ repo: run.repo, code, signal, stderr }, `${run.service} ended with ${code ?? signal} after it answered`);
        if (!started) begin();
        res.end();
        resolve();
        return;
      }
      reject(
        new BerthError(
          'E_GIT_FAILED',
          `git ${args.join(' ')} ended with ${code === null ? `signal ${signal}` : `status ${code}`}: ${stderr.trim() || '(no output)'}`,
          {
            details: { repo: run.repo, code, signal },
          },
        ),
      );
    });
  });
}

/** The request body as git sent it: gzip-compressed bodies (fetches with many haves) are inflated on the way. */
function bodyOf(req: Request): NodeJS.ReadableStream {
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === '' || encoding === 'identity') return req;
  if (encoding === 'gzip' || encoding === 'x-gzip') return req.pipe(createGunzip());
  throw new BerthError('E_API_BAD_REQUEST', `a git request body encoded as ${JSON.stringify(encoding)}: only gzip or none is understood`);
}

/**
 * The router serving `/<app>.git/…` (mounted at the API's root, behind its token check).
 * Paths that are not a smart-HTTP route fall through to the API's 404.
 */
export function gitHttpRouter(o: GitHttpOptions, log: Logger): Router {
  const git = o.git ?? 'git';
  const autoCreate = o.autoCreate ?? true;
  const r = express.Router();
  r.use(async (req, res, next) => {
    const m = route.exec(req.path);
    if (m === null) return next();
    const [, name = '', what] = m;
    const advertise = what === 'info/refs';
    if (req.method !== (advertise ? 'GET' : 'POST')) return next();
    validateAppName(name);
    const service = (advertise ? req.query.service : what) as Service;
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
    const repo = await repoOf(o.apps, name, push && advertise && autoCreate);
    const protocol = req.headers['git-protocol'];
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (typeof protocol === 'string' && protocolHeader.test(protocol)) env.GIT_PROTOCOL = protocol;
    if (push) {
      // The pre-receive hook (a `berth git-hook` run) reads these: which app, and how to reach the daemon.
      const hook = o.hookEnvironment();
      Object.assign(env, { BERTH_APP: name, BERTH_API_URL: hook.url, BERTH_TOKEN: hook.token });
    }
    await runGit(git, { service, repo, advertise, env, ...(advertise ? {} : { body: bodyOf(req) }) }, res, log);
  });
  return r;
}
