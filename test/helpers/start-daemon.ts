import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { freePort } from '../../server/core/index.js';
import { requireBinary } from './prereq.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './http.js';
import { isAlive, pidsMatching } from './processes.js';
import { runtimeBinary } from './runtime.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI, as users run it (scripts/test builds before the e2e tier). */
export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

export interface RunningTestDaemon {
  child: ChildProcess;
  home: string;
  env: NodeJS.ProcessEnv;
  url: string;
  token: string;
  httpPort: number;
  /** Everything the daemon printed so far (its log). */
  output(): string;
  /** Resolves with the exit code once the daemon has exited. */
  exited: Promise<number | null>;
}

function requireBuild(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first with \`npm run build\` (scripts/test does)`);
}

/**
 * Remove what containers of a test daemon left in its runtime root and on its network
 * (after the daemon stopped: containers outlive it by design). Throws when that fails.
 */
export function cleanDaemonRuntime(env: NodeJS.ProcessEnv): void {
  const root = env.BERTH_RUNTIME_ROOT;
  const network = env.BERTH_NETWORK;
  if (!root || !network || !existsSync(runtimeBinary)) return;
  const rt = (args: string[]) => spawnSync(runtimeBinary, ['--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
  for (const id of existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('.')) : []) rt(['delete', '--force', id]);
  if (!existsSync(`${root}/.network/${network}`)) return;
  const rm = rt(['network', 'rm', '--force', network]);
  if (rm.status !== 0 && !/does not exist/.test(rm.stderr ?? '')) throw new Error(`network rm --force ${network} failed: ${rm.stderr}`);
}

/**
 * The environment a daemon (or CLI) of this test runs with: its own home, config file and
 * ports, and its own runtime root and network name (bridge names are host-wide), so test
 * daemons never share containers or a bridge.
 */
export async function daemonEnv(t: ExecutionContext, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const dir = await tempDir(t, 'berth-e2e-');
  const configFile = join(dir, 'berth.conf');
  await writeFile(configFile, '# empty: every value comes from the environment\n');
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_')));
  return {
    ...base,
    BERTH_HOME: join(dir, 'home'),
    BERTH_CONFIG: configFile,
    BERTH_API_HOST: '127.0.0.1',
    BERTH_API_PORT: '0',
    BERTH_HTTP_PORT: String(await freePort()),
    BERTH_CLI_CONFIG: join(dir, 'home', 'cli.json'),
    // Short (the attach socket's path must fit a unix socket address), unique per test.
    BERTH_RUNTIME_ROOT: join(dir, 'run'),
    BERTH_NETWORK: `bt${randomBytes(3).toString('hex')}`,
    BERTH_NETWORK_NAT: 'false',
    ...extra,
  };
}

/** Spawn `berth daemon` with `env` (no waiting). */
export function spawnDaemon(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  requireBuild();
  const child = spawn(process.execPath, [cliPath, 'daemon'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/**
 * Start the real daemon (the built CLI) on random ports in a fresh BERTH_HOME and wait
 * until the API answers. Teardown stops it with SIGTERM (SIGKILL if it hangs) and checks
 * that nothing of it is left.
 */
export async function startTestDaemon(t: ExecutionContext, extra: NodeJS.ProcessEnv = {}): Promise<RunningTestDaemon> {
  requireBinary('/usr/bin/redis-server', 'redis-server');
  requireBinary('/usr/sbin/nginx', 'nginx');
  const env = await daemonEnv(t, extra);
  const home = env.BERTH_HOME!;
  const { child, output, exited } = spawnDaemon(env);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    for (const pid of pidsMatching(home)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    cleanDaemonRuntime(env);
  });
  const cli = await Promise.race([
    waitFor(
      'the daemon to write cli.json',
      async () => {
        const text = await readFile(join(home, 'cli.json'), 'utf8').catch(() => undefined);
        return text === undefined ? undefined : (JSON.parse(text) as { url: string; token: string });
      },
      30_000,
    ),
    exited.then((code) => {
      throw new Error(`the daemon exited with ${code}:\n${output()}`);
    }),
  ]);
  return { child, home, env, url: cli.url, token: cli.token, httpPort: Number(env.BERTH_HTTP_PORT), output, exited };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built `berth` CLI with `args` and `env`; `input`, when given, is its stdin (a pipe). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  requireBuild();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    child.stdin.on('error', () => undefined); // EPIPE when the CLI exits before reading it all: its status says why
    child.stdin.end(input); // without input: EOF at once, as from /dev/null
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
