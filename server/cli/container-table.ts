/**
 * What `berth container:ls` and `container:stats` print, in Docker's words and columns.
 * Pure (the clock is a parameter): unit-tested in test/unit/cli/container-table.test.ts.
 */

import type { ContainerStats, ContainerView } from '../api/index.js';

export type { ContainerView, ContainerStats };

/** Docker's units.HumanDuration: "Less than a second", "About a minute", "3 hours"… */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(seconds / 3600 / 24 / 365)} years`;
}

const since = (iso: string | undefined, now: number) => humanDuration(Math.max(0, now - Date.parse(iso ?? '')) || 0);

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

export const shortId = (id: string): string => id.slice(0, 12);

/** Columns left-aligned, three spaces apart, the last one unpadded (Docker's tabwriter). */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd()).join('\n');
}

export function renderContainers(list: readonly ContainerView[], options: { now?: number; noTrunc?: boolean } = {}): string {
  const now = options.now ?? Date.now();
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const c of list) {
    rows.push([
      options.noTrunc ? c.id : shortId(c.id),
      c.image,
      commandText(c.command, !options.noTrunc),
      `${since(c.created, now)} ago`,
      statusText(c, now),
      portsText(c.ports),
      c.name,
    ]);
  }
  return table(rows);
}

/** Docker's units.BytesSize: binary units, four significant digits ("1.523MiB"). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u]}`;
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
