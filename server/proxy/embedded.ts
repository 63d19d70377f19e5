/**
 * Berth's own nginx: its own prefix under BERTH_HOME/nginx, started in the foreground
 * (`daemon off`) under a Supervisor, checked with `nginx -t` before every start and reload.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { BerthError, Supervisor, describePortHolder, killStale, run, start, writeFileAtomic, type Logger } from '../core/index.js';
import { nginxPaths, renderMainConfig } from './main-config.js';
import { probeNginx } from './health.js';
import { servingWorkers, waitWorkersReplaced } from './workers.js';

export interface EmbeddedNginxOptions {
  prefix: string;
  port: number;
  /** @defaultValue '/usr/sbin/nginx' */
  binary?: string;
  log: Logger;
}

export interface EmbeddedNginx {
  supervisor: Supervisor;
  /** The nginx prefix (BERTH_HOME/nginx). */
  readonly prefix: string;
  /** The port apps are served on. */
  readonly port: number;
  /** Whether the main config also listens on [::] (app server blocks must do the same). */
  readonly ipv6: boolean;
  /** The nginx binary. */
  readonly binary: string;
  /**
   * Check the current configuration and reload; a rejected configuration is not applied.
   * Resolves once nginx serves with the new configuration: its old workers no longer accept
   * connections (they finish the requests they have).
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

const baseArgs = (prefix: string, config = nginxPaths(prefix).config) => ['-p', `${prefix}/`, '-c', config, '-e', nginxPaths(prefix).errorLog];

/**
 * `nginx -t` on the configuration under `prefix` (or on `config`, a candidate main config
 * elsewhere); throws E_NGINX_CONFIG_REJECTED quoting nginx, with its words in `details.nginx`.
 */
export async function testNginxConfig(binary: string, prefix: string, config = nginxPaths(prefix).config): Promise<void> {
  const result = await run(binary, [...baseArgs(prefix, config), '-t', '-q'], { allowFailure: true, installHint: 'nginx' });
  if (result.code !== 0) {
    const words = result.stderr.trim();
    throw new BerthError('E_NGINX_CONFIG_REJECTED', `nginx -t rejected ${config}:\n${words}`, { details: { config, nginx: words } });
  }
}

/** How long reload() waits for nginx to replace its workers. */
const RELOAD_TIMEOUT_MS = 10_000;

/** The last lines `file` gained after byte `from`: what this start of nginx logged. */
async function linesSince(file: string, from: number, n: number): Promise<string> {
  const text = (await readFile(file).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
  return text.trim().split('\n').slice(-n).join('\n');
}

async function waitReady(child: ChildProcess, o: EmbeddedNginxOptions, logOffset: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const probe = await probeNginx(o.port, 1000);
      if (probe.defaultServer) return;
      last = new Error(`something else answers on port ${o.port} (HTTP ${probe.status}, without Berth's marker)`);
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  const { errorLog } = nginxPaths(o.prefix);
  const tail = await linesSince(errorLog, logOffset, 5);
  if (/Address already in use/.test(tail) || /without Berth's marker/.test(String(last))) {
    throw new BerthError('E_DAEMON_PORT_IN_USE', `nginx cannot listen: ${await describePortHolder(o.port)}`, { cause: last, details: { port: o.port } });
  }
  throw new BerthError(
    'E_NGINX_UNAVAILABLE',
    `nginx did not come up on port ${o.port}${child.exitCode !== null ? ` (exited with code ${child.exitCode})` : ''}:\n${tail}`,
    { cause: last },
  );
}

/** Write the main config, check it, start nginx and wait until it answers. */
export async function startEmbeddedNginx(o: EmbeddedNginxOptions): Promise<EmbeddedNginx> {
  const binary = o.binary ?? '/usr/sbin/nginx';
  const p = nginxPaths(o.prefix);
  for (const dir of [o.prefix, p.sites, p.temp, `${o.prefix}/logs`]) await mkdir(dir, { recursive: true, mode: 0o755 });
  const isRoot = process.getuid?.() === 0;
  const ipv6 = existsSync('/proc/net/if_inet6');
  const config = renderMainConfig({ prefix: o.prefix, port: o.port, ipv6, user: isRoot ? 'www-data' : undefined });
  await writeFileAtomic(p.config, config, { mode: 0o644 });
  await testNginxConfig(binary, o.prefix);
  // An nginx left running by a daemon that was SIGKILLed still holds the port.
  await killStale(p.pid, p.config);
  let logOffset = 0;
  const supervisor = new Supervisor({
    name: 'nginx',
    log: o.log,
    spawn: async () => {
      logOffset = (await stat(p.errorLog).catch(() => ({ size: 0 }))).size;
      return start(binary, [...baseArgs(o.prefix), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, installHint: 'nginx' });
    },
    ready: (child) => waitReady(child, o, logOffset),
  });
  await supervisor.start();
  return {
    supervisor,
    prefix: o.prefix,
    port: o.port,
    ipv6,
    binary,
    async reload() {
      await testNginxConfig(binary, o.prefix);
      const pid = supervisor.pid;
      if (pid === undefined) throw new BerthError('E_NGINX_UNAVAILABLE', 'nginx is not running; it cannot be reloaded');
      const before = await servingWorkers(pid);
      const logOffset = (await stat(p.errorLog).catch(() => ({ size: 0 }))).size;
      process.kill(pid, 'SIGHUP');
      if (!(await waitWorkersReplaced(pid, before, RELOAD_TIMEOUT_MS))) {
        throw new BerthError(
          'E_NGINX_UNAVAILABLE',
          `nginx (pid ${pid}) did not apply the reload within ${RELOAD_TIMEOUT_MS / 1000} s:\n${await linesSince(p.errorLog, logOffset, 5)}`,
        );
      }
    },
    stop: () => supervisor.stop(),
  };
}

/** `nginx -v` → "1.22.1". */
export async function nginxVersion(binary: string): Promise<string> {
  const r = await run(binary, ['-v'], { installHint: 'nginx' });
  return /nginx\/(\S+)/.exec(r.stderr)?.[1] ?? 'unknown';
}
