/**
 * Keeps one child process running: starts it, waits until it is ready, restarts it with
 * backoff when it dies unexpectedly (saying so in the log), and stops it on request
 * (SIGTERM, then SIGKILL after a grace period).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './log.js';

export interface SupervisorOptions {
  /** Name used in log lines ("redis", "nginx"). */
  name: string;
  log: Logger;
  /**
   * Spawn the process, `detached` so it leads its own process group (the group is killed
   * when the child exits); piped stdout/stderr are forwarded to the log.
   */
  spawn: () => Promise<ChildProcess>;
  /** Resolve when the freshly started child serves; reject when it cannot. */
  ready: (child: ChildProcess) => Promise<void>;
  /** Grace period between SIGTERM and SIGKILL. @defaultValue 10000 */
  stopTimeoutMs?: number;
  /** Called after every successful (re)start, e.g. to reconnect clients. */
  onStarted?: (child: ChildProcess) => void;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

/**
 * Kill what the child left in its process group: nginx workers outlive a master that was
 * SIGKILLed and keep the port. Children are spawned `detached`, so the group id is their pid.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already empty.
  }
}

export class Supervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartCount = 0;
  /** A restart in progress, which stop() waits for so it never misses the new child. */
  private relaunch: Promise<void> | undefined;
  private readonly options: SupervisorOptions;

  constructor(options: SupervisorOptions) {
    this.options = options;
  }

  /** PID of the running child, if any. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** How many times the child was restarted after dying. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Start the child and wait until it is ready; a failure here is the caller's. */
  async start(): Promise<void> {
    this.stopping = false;
    await this.launch();
  }

  private async launch(): Promise<void> {
    const { name, log } = this.options;
    const child = await this.options.spawn();
    this.child = child;
    // What a server prints on stderr (nginx's [emerg] lines, say) is worth a warning.
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => log.info({ child: name }, line));
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (line) => log.warn({ child: name }, line));
    try {
      await this.options.ready(child);
    } catch (err) {
      child.kill('SIGKILL');
      await exited(child);
      killGroup(child);
      throw err;
    }
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      killGroup(child);
      if (this.stopping || this.child !== child) return;
      const upFor = Date.now() - startedAt;
      log.warn(
        { child: name, code, signal, childPid: child.pid },
        `${name} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); restarting it`,
      );
      void this.restartLoop(upFor > 30_000 ? 0 : 1);
    });
    this.options.onStarted?.(child);
  }

  private async restartLoop(attempt: number): Promise<void> {
    const { name, log } = this.options;
    for (let n = attempt; !this.stopping; n++) {
      const delay = n === 0 ? 0 : Math.min(10_000, 250 * 2 ** n);
      await sleep(delay);
      if (this.stopping) return;
      try {
        this.relaunch = this.launch();
        await this.relaunch;
        this.restartCount++;
        log.info({ child: name, childPid: this.child?.pid }, `${name} restarted (pid ${this.child?.pid})`);
        return;
      } catch (err) {
        log.error({ child: name, err }, `${name} failed to restart; trying again`);
      }
    }
  }

  /** Stop the child and wait until it has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.relaunch?.catch(() => undefined);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // Cancel the grace timer once the child has exited: left running, it would hold the
    // event loop open for the whole grace period after stop() resolved.
    const grace = new AbortController();
    const timeout = sleep(this.options.stopTimeoutMs ?? 10_000, undefined, { signal: grace.signal }).then(
      () => 'timeout' as const,
      () => 'exited' as const,
    );
    const outcome = await Promise.race([exited(child).then(() => 'exited' as const), timeout]);
    grace.abort();
    if (outcome === 'timeout') {
      this.options.log.warn({ child: this.options.name }, `${this.options.name} did not stop on SIGTERM; killing it`);
      child.kill('SIGKILL');
      await exited(child);
    }
  }
}
