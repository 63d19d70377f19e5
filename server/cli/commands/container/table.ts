/**
 * What `berth container:ls` and `container:stats` print, in Docker's words and columns.
 * Pure (the clock is a parameter): unit-tested in test/unit/cli/container-table.test.ts.
 */
import type { ContainerStats, ContainerView } from '../../../api/index.js';
import { bytesSize, shortId, since, table, timeAgo } from '../../lib/format.js';

/** The STATUS column: `Created`, `Up 3 minutes`, `Exited (0) 2 minutes ago`. */
export function statusText(c: Pick<ContainerView, 'state' | 'startedAt' | 'finishedAt' | 'exitCode' | 'created'>, now = Date.now()): string {
  switch (c.state) {
    case 'running':
      return `Up ${since(c.startedAt ?? c.created, now)}`;
    case 'exited':
      return `Exited (${c.exitCode ?? 0}) ${since(c.finishedAt ?? c.created, now)} ago`;
    default:
      return 'Created';
  }
}

/** The COMMAND column: the command line quoted, cut to 20 characters with … (as Docker). */
export function commandText(command: readonly string[], truncate = true): string {
  const line = command.join(' ');
  return JSON.stringify(truncate && line.length > 20 ? `${line.slice(0, 19)}…` : line);
}

export function portsText(ports: ContainerView['ports']): string {
  return ports.map((p) => `127.0.0.1:${p.hostPort}->${p.containerPort}/tcp`).join(', ');
}

export function renderContainers(list: readonly ContainerView[], options: { now?: number; noTrunc?: boolean } = {}): string {
  const now = options.now ?? Date.now();
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const c of list) {
    rows.push([
      options.noTrunc ? c.id : shortId(c.id),
      c.image,
      commandText(c.command, !options.noTrunc),
      timeAgo(c.created, now),
      statusText(c, now),
      portsText(c.ports),
      c.name,
    ]);
  }
  return table(rows);
}

/** One `container:stats` row from two samples `ms` apart (CPU % needs two). */
export function statsRow(name: string, first: ContainerStats, second: ContainerStats, ms: number): string[] {
  const a = first.cpu.usageNanoseconds;
  const b = second.cpu.usageNanoseconds;
  const cpu = a === null || b === null || ms <= 0 ? '--' : `${(((b - a) / (ms * 1e6)) * 100).toFixed(2)}%`;
  const usage = second.memory.usage;
  const limit = second.memory.limit;
  const mem = usage === null ? '--' : `${bytesSize(usage)} / ${limit === null ? 'unlimited' : bytesSize(limit)}`;
  const memPct = usage === null || limit === null || limit === 0 ? '--' : `${((usage / limit) * 100).toFixed(2)}%`;
  return [shortId(second.id), name, cpu, mem, memPct, second.pids.current === null ? '--' : String(second.pids.current)];
}

export const statsHeader = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'];
