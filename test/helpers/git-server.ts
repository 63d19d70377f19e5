/**
 * A test wiring of git's side of Berth, as daemon.ts wires it: the real apps store in a fresh
 * BERTH_HOME (its `created` hook installs the real pre-receive hook), the real deploy queue on
 * a private Redis with a worker running the test's processor, and the real API (token check,
 * git smart HTTP, deploys routes) on a random loopback port, its URL and token in
 * BERTH_HOME/cli.json as the daemon writes them. The hook runs the CLI from source
 * (tsx), by this Node's absolute path. Everything stops in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { createApi } from '../../server/api/index.js';
import { AppStore } from '../../server/apps/index.js';
import { installHook } from '../../server/git/index.js';
import type { DeployQueue, JobContext, Processor } from '../../server/queue/index.js';
import { testLogger } from './logger.js';
import { requireBinary } from './prereq.js';
import { repoRoot } from './start-daemon.js';
import { queuePrefix, startQueue } from './start-queue.js';
import { startTestRedis } from './start-redis.js';
import { tempDir } from './temp-dir.js';

export interface TestGitServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  token: string;
  home: string;
  apps: AppStore;
  queue: DeployQueue;
  /** The push URL of `app`, with the token as password (or without credentials). */
  remote(app: string, credentials?: boolean | string): string;
}

/** The hook's command in tests: the CLI from source under tsx, run by this Node. */
export const sourceHookCommand = (): string[] => [
  process.execPath,
  `--import=${join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')}`,
  join(repoRoot, 'server', 'cli', 'main.ts'),
  'git-hook',
  'pre-receive',
];

export async function startGitServer(
  t: ExecutionContext,
  o: { processor: Processor; autoCreate?: boolean; maxFileBytes?: number; concurrency?: number },
): Promise<TestGitServer> {
  requireBinary('/usr/bin/git', 'git');
  const redis = await startTestRedis(t);
  const dir = await tempDir(t, 'berth-git-');
  const log = testLogger(dir);
  const home = join(dir, 'home');
  const apps = new AppStore({ home });
  const hookCommand = sourceHookCommand();
  apps.addHooks({ created: (app) => installHook(apps.paths(app.name).repo, hookCommand) });
  const queue = await startQueue(t, redis.endpoint, dir, queuePrefix());
  await queue.work({ processor: o.processor, concurrency: o.concurrency ?? 2 });
  const token = randomBytes(32).toString('hex');
  let url = '';
  const api = createApi({
    token,
    log,
    status: () => Promise.reject(new Error('no status in this wiring')),
    git: { apps, autoCreate: o.autoCreate ?? true, hookEnvironment: () => ({ url, token }) },
    deploys: { queue, apps, limits: { maxFileBytes: o.maxFileBytes ?? 1024 * 1024 } },
  });
  const server = createServer({ requestTimeout: 0 }, api);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
  // As the daemon does once it listens: the hook reads the API's URL and token from here (docs/git.md, "The hook").
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'cli.json'), `${JSON.stringify({ url, token })}\n`, { mode: 0o600 });
  return {
    url,
    token,
    home,
    apps,
    queue,
    remote: (app, credentials = true) =>
      `http://${credentials === false ? '' : `berth:${credentials === true ? token : credentials}@`}127.0.0.1:${port}/${app}.git`,
  };
}

/** git with no user or system configuration, never prompting, as a fresh machine's user. */
export const gitEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_') && !k.startsWith('BERTH_'))),
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
});

export interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running git command: its output so far, and its end. */
export interface GitChild {
  child: ChildProcess;
  stderr(): string;
  done: Promise<GitRun>;
}

/** Start `git args` in `cwd` (its own process group, so a test can kill it and its helpers). */
export function startGit(cwd: string, args: string[], timeoutMs = 90_000): GitChild {
  const child = spawn('git', args, { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<GitRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, stderr: () => stderr, done };
}

/** Run `git args` in `cwd` to its end. */
export const git = (cwd: string, ...args: string[]): Promise<GitRun> => startGit(cwd, args).done;

/** Run `git args` in `cwd`; throw with its stderr unless it exits 0. Its stdout, trimmed. */
export async function gitOk(cwd: string, ...args: string[]): Promise<string> {
  const r = await git(cwd, ...args);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} in ${cwd} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A fresh work tree with one commit of `files` (path → content) on `main`; its directory. */
export async function workTree(t: ExecutionContext, files: Record<string, string> = { 'README.md': 'hello\n' }): Promise<string> {
  const dir = await tempDir(t, 'berth-work-');
  await gitOk(dir, 'init', '--quiet', '--initial-branch=main');
  await commitFiles(dir, files, 'first');
  return dir;
}

/** Write `files` into the work tree and commit them; the new commit's id. */
export async function commitFiles(dir: string, files: Record<string, string>, message: string): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, dirname(path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await gitOk(dir, 'add', '-A');
  await gitOk(dir, 'commit', '--quiet', '--allow-empty', '-m', message);
  return gitOk(dir, 'rev-parse', 'HEAD');
}

/** Resolves when `check()` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A gate a processor waits on; fails the job (not the test's wait) if nobody opens it in time. */
export function gate(timeoutMs = 120_000): { open(): void; wait(job: JobContext): Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    open,
    wait: (job) =>
      Promise.race([
        opened,
        new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`gate of ${job.id} not opened in ${timeoutMs} ms`)), timeoutMs).unref()),
      ]),
  };
}
