/**
 * What `berth builds:*` print. Pure (the clock is a parameter): unit-tested in
 * test/unit/cli/builds-render.test.ts.
 */
import type { CancelResult, JobInfo } from '../../../api/index.js';
import { table, timeAgo } from '../../lib/format.js';

/** What a job is about, in a few words: `push 1a2b3c4 (main)`, `config FOO, BAR`, `scale web=2`, `rollback to v3`. */
export function describeRequest(request: JobInfo['request']): string {
  switch (request.kind) {
    case 'push':
      return `push ${request.commit.slice(0, 7)} (${request.ref.replace(/^refs\/heads\//, '')})`;
    case 'config':
      return `config ${request.keys.join(', ')}`;
    case 'scale':
      return `scale ${Object.entries(request.scale)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`;
    case 'rollback':
      return `rollback to v${request.release}`;
  }
}

export function renderList(jobs: readonly JobInfo[], now = Date.now()): string {
  const rows = [['ID', 'STATE', 'STAGE', 'CREATED', 'DESCRIPTION']];
  for (const j of jobs) rows.push([j.id, j.state, j.stage ?? '-', timeAgo(j.enqueuedAt, now), describeRequest(j.request)]);
  return table(rows);
}

export function renderInfo(j: JobInfo): string {
  const rows: [string, string | undefined][] = [
    ['Id', j.id],
    ['App', j.app],
    ['What', describeRequest(j.request)],
    ['State', j.state],
    ['Stage', j.stage],
    ['Waiting for', j.waitingFor],
    ['Enqueued', j.enqueuedAt],
    ['Started', j.startedAt],
    ['Finished', j.finishedAt],
    ['Time limit', `${Math.round(j.timeoutMs / 1000)} s`],
    ['Result', j.result === undefined ? undefined : JSON.stringify(j.result)],
    ['Error', j.error === undefined ? undefined : `${j.error.message} [${j.error.code}]`],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

export function renderCancel(app: string, r: CancelResult): string {
  if (r.running === undefined && r.removed.length === 0) return `Nothing to cancel: app ${app} has no running or queued deploy.`;
  const lines: string[] = [];
  if (r.running !== undefined) lines.push(`Stopping ${r.running}; the release that was serving keeps serving.`);
  if (r.removed.length > 0) lines.push(`Removed from the queue: ${r.removed.join(', ')}.`);
  return lines.join('\n');
}
