/**
 * `git push` to the real daemon (the built CLI, as scripts/up runs it) for the e2e push
 * tests: a daemon on random ports with short health-check timings and the stack image in
 * its store (imported from the test cache of test/helpers/stack.ts, built there first if
 * the cache has none), work trees of the Procfile fixture app, pushes over HTTP with the
 * token, and GETs through the daemon's nginx.
 */
import { cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { ImageStore } from '../../server/images/index.js';
import { commitFiles, gitOk, startGit, type GitChild, type GitRun } from './git-server.js';
import { httpGet, type HttpAnswer } from './http.js';
import { loadStackImage, stackArchivePath } from './stack.js';
import { runCli, startTestDaemon, type CliResult, type RunningTestDaemon } from './start-daemon.js';
import { tempDir } from './temp-dir.js';

/** The Procfile-only fixture: busybox httpd on $PORT answering the contents of VERSION. */
export const procfileFixture = fileURLToPath(new URL('../fixtures/apps/procfile/', import.meta.url));

/**
 * Health-check timings short enough for tests, long enough to be real: a web process has
 * 5 s to listen and must then stay up 1 s; old containers get 2 s between SIGTERM and SIGKILL.
 */
export const pushTimings = { BERTH_CHECKS_BOOT_TIMEOUT: '5', BERTH_CHECKS_UPTIME: '1', BERTH_STOP_TIMEOUT: '2' };

export interface PushDaemon extends RunningTestDaemon {
  /** `berth args…` against this daemon. */
  cli(...args: string[]): Promise<CliResult>;
  /** The HTTP remote of `app` with the token as password (what `scripts/up` prints). */
  remote(app: string, token?: string): string;
  /** GET / of `app` through the daemon's nginx (Host: `<app>.localhost`). */
  get(app: string): Promise<HttpAnswer>;
  /** The URL the request loop GETs for `app`, and its Host header. */
  target(app: string): { url: string; headers: Record<string, string> };
  /** The names of `app`'s containers in any state (label berth.app), sorted. */
  containersOf(app: string): Promise<string[]>;
}

/** Make sure the stack's cached OCI archive exists (building it the first time) and return its path. */
async function stackArchive(t: ExecutionContext): Promise<string> {
  const path = await stackArchivePath();
  if (existsSync(path)) return path;
  const scratch = await tempDir(t, 'berth-stack-');
  await loadStackImage(await ImageStore.open(join(scratch, 'images')), join(scratch, 'debs'));
  return path;
}

/** The real daemon, ready to take pushes of buildpack apps. */
export async function startPushDaemon(t: ExecutionContext, extra: NodeJS.ProcessEnv = {}): Promise<PushDaemon> {
  const archive = await stackArchive(t);
  const d = await startTestDaemon(t, { ...pushTimings, ...extra });
  const cli = (...args: string[]) => runCli(args, d.env);
  const loaded = await cli('image:import', archive);
  if (loaded.code !== 0 || !loaded.stdout.includes('stack:bookworm')) throw new Error(`image:import ${archive}: ${loaded.stdout}${loaded.stderr}`);
  const target = (app: string) => ({ url: `http://127.0.0.1:${d.httpPort}/`, headers: { Host: `${app}.localhost` } });
  return {
    ...d,
    cli,
    remote: (app, token = d.token) => `${d.url.replace('http://', `http://berth:${token}@`)}/${app}.git`,
    get: (app) => httpGet(target(app).url, { ...target(app).headers, Connection: 'close' }, 3000),
    target,
    containersOf: async (app) => {
      const label = encodeURIComponent(`berth.app=${app}`);
      const r = await httpGet(`${d.url}/v1/containers?all=1&label=${label}`, { Authorization: `Bearer ${d.token}` });
      if (r.status !== 200) throw new Error(`GET /v1/containers: ${r.status} ${r.body}`);
      return (JSON.parse(r.body) as { name: string }[]).map((c) => c.name).sort();
    },
  };
}

/**
 * A work tree holding the Procfile fixture with VERSION = `version` (and `files` over it),
 * committed on `main`; its directory.
 */
export async function fixtureTree(t: ExecutionContext, version: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir(t, 'berth-work-');
  await cp(procfileFixture, dir, { recursive: true });
  await gitOk(dir, 'init', '--quiet', '--initial-branch=main');
  await commitFiles(dir, { VERSION: `${version}\n`, ...files }, version);
  return dir;
}

/** Commit VERSION = `version` (and `files`) in the work tree `dir`; the commit. */
export const nextVersion = (dir: string, version: string, files: Record<string, string> = {}): Promise<string> =>
  commitFiles(dir, { VERSION: `${version}\n`, ...files }, version);

/** Start `git push remote ref` in `dir` (3 minutes at most). */
export const startPush = (dir: string, remote: string, ref = 'main'): GitChild => startGit(dir, ['push', remote, ref], 180_000);

/**
 * `git push remote ref` in `dir` to its end, its stderr without the spaces git pads each
 * `remote:` line with (to clear what a terminal showed there).
 */
export async function push(dir: string, remote: string, ref = 'main'): Promise<GitRun> {
  const r = await startPush(dir, remote, ref).done;
  return { ...r, stderr: unpad(r.stderr) };
}

/** git's sideband lines without the padding git adds at their end. */
export const unpad = (text: string): string => text.replace(/ +$/gm, '');
