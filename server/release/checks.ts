/**
 * Running the health checks of the new containers (docs/releases.md, "Health checks"): each
 * container's checks in parallel, all containers at once; the first failure stops the others
 * and fails the deploy with what the check saw and the container's last log lines. Every
 * wait looks at the container: one that exits fails its checks at once, with its exit status.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../core/index.js';
import type { ContainerManager } from '../containers/index.js';
import type { Check } from './healthchecks.js';
import { commandProbe, httpProbe, tcpProbe } from './probes.js';

/** A new container as the checks see it. */
export interface NewContainer {
  id: string;
  name: string;
  type: string;
  /** Its bridge address (web containers have one). */
  address?: string;
  /** When it started (Date.now()). */
  startedAt: number;
}

/** Why one check failed: the check's name, the reason, what it printed or answered. */
export class CheckFailed extends Error {
  constructor(
    readonly check: string,
    readonly why: string,
    readonly output: string[] = [],
  ) {
    super(why);
  }
}

/** How often the boot check knocks at the port. */
const BOOT_POLL_MS = 100;
/** One connect attempt's bound (a container on the bridge answers in well under a millisecond). */
const CONNECT_MS = 1000;

interface Context {
  containers: ContainerManager;
  signal: AbortSignal;
  /** A `warn: true` check failed: the deploy goes on, the line says so. */
  warn(text: string): void;
}

/** How the container ended, if it has (undefined: still running). */
function ended(containers: ContainerManager, c: NewContainer): string | undefined {
  let view;
  try {
    view = containers.inspect(c.id);
  } catch {
    return 'was removed';
  }
  if (view.state === 'running') return undefined;
  if (view.oomKilled) return 'was killed by the OOM killer (it needs more memory than its limit)';
  return view.signal ? `exited on ${view.signal} (status ${view.exitCode ?? '?'})` : `exited with status ${view.exitCode ?? '?'}`;
}

/** Wait `ms`, failing at once when the deploy is cancelled or the container ends. */
async function pause(ctx: Context, c: NewContainer, check: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    ctx.signal.throwIfAborted();
    const gone = ended(ctx.containers, c);
    if (gone) throw new CheckFailed(check, `the container ${gone}`);
    const left = end - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(left, BOOT_POLL_MS));
  }
}

function needAddress(c: NewContainer, check: string): string {
  if (c.address === undefined) throw new CheckFailed(check, 'the container has no address on the bridge to probe');
  return c.address;
}

/** Listening on the port within the boot timeout, then still up and listening `uptimeMs` later. */
async function boot(ctx: Context, c: NewContainer, k: Extract<Check, { kind: 'boot' }>): Promise<void> {
  const address = needAddress(c, k.name);
  const deadline = c.startedAt + k.bootTimeoutMs;
  let why = 'not probed';
  for (;;) {
    await pause(ctx, c, k.name, 0);
    const r = await tcpProbe(address, k.port, CONNECT_MS);
    if (r.ok) break;
    why = r.why;
    if (Date.now() >= deadline) {
      throw new CheckFailed(k.name, `nothing listened on ${address}:${k.port} (PORT) within ${k.bootTimeoutMs / 1000} s of the start: ${why}`);
    }
    await pause(ctx, c, k.name, BOOT_POLL_MS);
  }
  await pause(ctx, c, k.name, k.uptimeMs);
  const again = await tcpProbe(address, k.port, CONNECT_MS);
  if (!again.ok) throw new CheckFailed(k.name, `${address}:${k.port} answered, then stopped listening within ${k.uptimeMs / 1000} s: ${again.why}`);
}

/** One attempt of a listening, path or command check: undefined when it passed, else why and what it saw. */
async function attempt(ctx: Context, c: NewContainer, k: Exclude<Check, { kind: 'boot' | 'uptime' }>): Promise<{ why: string; output: string[] } | undefined> {
  if (k.kind === 'listening') {
    const address = needAddress(c, k.name);
    const r = await tcpProbe(address, k.port, k.timeoutMs);
    return r.ok ? undefined : { why: `nothing listens on ${address}:${k.port}: ${r.why}`, output: [] };
  }
  if (k.kind === 'path') {
    const address = needAddress(c, k.name);
    const url = `${k.scheme}://${address}:${k.port}${k.path}`;
    const r = await httpProbe({ scheme: k.scheme, address, port: k.port, path: k.path, headers: k.headers, timeoutMs: k.timeoutMs });
    if ('error' in r) return { why: `GET ${url} failed: ${r.error}`, output: [] };
    const body = r.body.split('\n').slice(0, 10);
    if (r.status < 200 || r.status > 299) return { why: `GET ${url} answered HTTP ${r.status}, not 2xx`, output: body };
    if (k.content !== undefined && !r.body.includes(k.content))
      return { why: `GET ${url} answered HTTP ${r.status} without ${JSON.stringify(k.content)} in its body`, output: body };
    return undefined;
  }
  const r = await commandProbe(ctx.containers, c.id, k.argv, k.timeoutMs);
  if (r.exitCode === 0) return undefined;
  const shown = JSON.stringify(k.argv);
  return {
    why: r.exitCode === undefined ? `${shown} did not finish within ${k.timeoutMs / 1000} s` : `${shown} exited with status ${r.exitCode}`,
    output: r.tail,
  };
}

async function runCheck(ctx: Context, c: NewContainer, k: Check): Promise<void> {
  if (k.kind === 'boot') return boot(ctx, c, k);
  if (k.kind === 'uptime') return pause(ctx, c, k.name, c.startedAt + k.uptimeMs - Date.now());
  await pause(ctx, c, k.name, k.initialDelayMs);
  let last: { why: string; output: string[] } | undefined;
  for (let i = 1; i <= k.attempts; i++) {
    await pause(ctx, c, k.name, 0);
    last = await attempt(ctx, c, k).catch((e: unknown) => ({ why: e instanceof Error ? e.message : String(e), output: [] }));
    if (last === undefined) return;
    if (i < k.attempts) await pause(ctx, c, k.name, k.waitMs);
  }
  const failure = new CheckFailed(k.name, `${last?.why ?? 'failed'} (attempt ${k.attempts} of ${k.attempts})`, last?.output ?? []);
  if (!k.warn) throw failure;
  ctx.warn(`health check "${k.name}" of ${c.name} failed, ignored (warn: true): ${failure.why}`);
}

/**
 * Run every container's checks; resolves when all passed. The first failure aborts the
 * rest (they stop at their next wait) and is thrown as E_RELEASE_CHECK_FAILED, with the
 * check's output and the container's last log lines.
 */
export async function runChecks(
  o: { containers: ContainerManager; signal: AbortSignal; warn(text: string): void },
  work: { container: NewContainer; checks: Check[] }[],
): Promise<void> {
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const ctx: Context = { containers: o.containers, signal, warn: o.warn };
  let first: { container: NewContainer; failure: CheckFailed } | undefined;
  const all = work.flatMap(({ container, checks }) =>
    checks.map((k) =>
      runCheck(ctx, container, k).catch((e: unknown) => {
        if (e instanceof CheckFailed && first === undefined) {
          first = { container, failure: e };
          stop.abort();
          return;
        }
        if (!(e instanceof CheckFailed) && !signal.aborted) throw e;
      }),
    ),
  );
  const settled = await Promise.allSettled(all);
  o.signal.throwIfAborted();
  if (first) throw await checkError(o.containers, first.container, first.failure);
  const broken = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (broken) throw broken.reason;
}

/** The lines a failure quotes of the container's log. */
const LOG_TAIL = 10;

async function checkError(containers: ContainerManager, c: NewContainer, f: CheckFailed): Promise<BerthError> {
  const log: string[] = [];
  try {
    for await (const l of containers.logs(c.id, { tail: LOG_TAIL })) log.push(l.log.replace(/\n$/, ''));
  } catch {
    // The container was removed already: its log went with it.
  }
  const parts = [`health check "${f.check}" of container ${c.name} failed: ${f.why}`];
  if (f.output.length > 0) parts.push(`the check's output:\n${f.output.map((l) => `  ${l}`).join('\n')}`);
  parts.push(log.length > 0 ? `the container's last log lines:\n${log.map((l) => `  ${l}`).join('\n')}` : 'the container logged nothing');
  return new BerthError('E_RELEASE_CHECK_FAILED', parts.join('\n'), {
    details: { container: c.name, type: c.type, check: f.check, why: f.why, output: f.output, log },
  });
}
