/** `berth builds:list|info|output|cancel` through /v1/apps/:app/deploys (docs/api.md, "Deploys"). */
import type { CancelResult, DeployProgress, JobInfo } from '../../../api/index.js';
import { BerthError, renderError, validateAppName } from '../../../core/index.js';
import { errorFromAnswer } from '../../lib/api-error.js';
import { apiRequest, apiStream } from '../../lib/client.js';
import { readEnvelopes } from '../../lib/ndjson.js';
import { resolveSettings } from '../../lib/settings.js';
import { renderCancel, renderInfo, renderList } from './render.js';

type Format = { format: 'text' | 'json' };

const deploysPath = (app: string): string => `/v1/apps/${validateAppName(app)}/deploys`;

/** A deploy as the user names it: `12`, `hello.12` or `current`; anything else is a usage error. */
function idSegment(id: string): string {
  if (!/^(current|\d+|[a-z][a-z0-9-]*\.\d+)$/.test(id)) {
    throw new BerthError('E_CLI_USAGE', `${JSON.stringify(id)} is not a deploy: give its number (12), its id (hello.12) or current`);
  }
  return id;
}

export async function list(app: string | undefined, o: Format): Promise<void> {
  const jobs = await apiRequest<JobInfo[]>(resolveSettings(), 'GET', app === undefined ? '/v1/deploys' : deploysPath(app));
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(jobs, null, 2)}\n` : `${renderList(jobs)}\n`);
}

export async function info(app: string, id: string, o: Format): Promise<void> {
  const job = await apiRequest<JobInfo>(resolveSettings(), 'GET', `${deploysPath(app)}/${idSegment(id)}`);
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(job, null, 2)}\n` : `${renderInfo(job)}\n`);
}

/**
 * The deploy's lines to stdout as they come (with --format json, every envelope as a JSON line);
 * at the end, a failed deploy's error to stderr and status 1, as `git push` shows it.
 */
export async function output(app: string, id: string, o: Format & { follow: boolean }): Promise<void> {
  const path = `${deploysPath(app)}/${idSegment(id)}/output${o.follow ? '?follow=1' : ''}`;
  const body = await apiStream(resolveSettings(), 'GET', path);
  let last: JobInfo | undefined;
  for await (const e of readEnvelopes<DeployProgress, string, JobInfo>(body, `GET ${path}`)) {
    if (o.format === 'json') process.stdout.write(`${JSON.stringify(e)}\n`);
    else if ('line' in e) process.stdout.write(`${e.line}\n`);
    if ('result' in e) last = e.result;
  }
  if (last?.state === 'failed' && last.error !== undefined) {
    if (o.format === 'text') process.stderr.write(`${renderError(errorFromAnswer({ error: last.error }, `deploy ${last.id}`))}\n`);
    process.exitCode = 1;
  }
}

export async function cancel(app: string, o: Format): Promise<void> {
  const r = await apiRequest<CancelResult>(resolveSettings(), 'POST', `${deploysPath(app)}/cancel`);
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : `${renderCancel(app, r)}\n`);
}
