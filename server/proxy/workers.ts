/**
 * When has nginx applied a reload? SIGHUP only asks: the master parses the config again,
 * forks new workers, waits about 100 ms, then tells the old workers to stop accepting and
 * finish their requests (they rename themselves "worker process is shutting down"). A caller
 * that retires the old containers must wait for that point, so reload() watches the master's
 * children in /proc until the old workers are gone or shutting down and a new one serves.
 */
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface NginxChild {
  pid: number;
  /** The title nginx gave the process ("nginx: worker process"). */
  title: string;
}

/** The master's children with their titles, from /proc (children that vanish meanwhile are skipped). */
export async function nginxChildren(masterPid: number): Promise<NginxChild[]> {
  const out: NginxChild[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== masterPid) continue;
      const title = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim();
      out.push({ pid: Number(entry), title });
    } catch {
      // The process exited between readdir and read: not a child any more.
    }
  }
  return out;
}

const shuttingDown = (c: NginxChild) => c.title.includes('shutting down');
const serving = (c: NginxChild) => c.title.startsWith('nginx: worker process') && !shuttingDown(c);

/** The workers serving now: what a reload is expected to replace. */
export async function servingWorkers(masterPid: number): Promise<Set<number>> {
  return new Set((await nginxChildren(masterPid)).filter(serving).map((c) => c.pid));
}

/**
 * Wait until none of `before` serves any more and a worker not in `before` does. Resolves
 * true then, false when `timeoutMs` passes first (nginx kept its old config: its error log
 * says why).
 */
export async function waitWorkersReplaced(masterPid: number, before: ReadonlySet<number>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const children = await nginxChildren(masterPid);
    const oldServing = children.some((c) => before.has(c.pid) && serving(c));
    const newServing = children.some((c) => !before.has(c.pid) && serving(c));
    if (!oldServing && newServing) return true;
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
}

/**
 * Wait until no worker of the master is shutting down: each old worker has finished the
 * requests it had when a reload replaced it, so none can reach an upstream of the old
 * config any more. Resolves true then, false when `timeoutMs` passes first (a long request,
 * or a WebSocket, still holds one).
 */
export async function waitOldWorkersGone(masterPid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await nginxChildren(masterPid)).some(shuttingDown)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}
