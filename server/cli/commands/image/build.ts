import { Readable } from 'node:stream';
import type { BuildProgressView, BuildResultView } from '../../../api/index.js';
import { BerthError } from '../../../core/index.js';
import { apiFetch } from '../../lib/client.js';
import { readResult } from '../../lib/ndjson.js';
import { resolveSettings } from '../../lib/settings.js';
import { packContext } from './pack-context.js';

export interface BuildFlags {
  file?: string;
  tag: string[];
  buildArg: string[];
  target?: string;
  cache: boolean;
  label: string[];
  quiet?: true;
  format: 'text' | 'json';
  /** dockerfile or herokuish; absent: the daemon decides (a Dockerfile or not). */
  builder?: 'dockerfile' | 'herokuish';
  /** Buildpacks for a buildpack build (names, paths on the server, git URLs). */
  buildpack?: string[];
}

/** `--build-arg K=V`, or `K` alone: its value from this environment, left out when unset (Docker's rule). */
function buildArgs(args: string[]): string[] {
  return args.flatMap((a) => {
    if (a === '' || a.startsWith('=')) throw new BerthError('E_CLI_USAGE', `--build-arg ${JSON.stringify(a)} is not KEY=VALUE or KEY`);
    if (a.includes('=')) return [a];
    const v = process.env[a];
    return v === undefined ? [] : [`${a}=${v}`];
  });
}

function labels(args: string[]): string[] {
  for (const a of args) if (a.indexOf('=') <= 0) throw new BerthError('E_CLI_USAGE', `--label ${JSON.stringify(a)} is not KEY=VALUE`);
  return args;
}

/**
 * `image:build DIR`: the context is packed and streamed as the request's body; the build's
 * lines are printed as they come (Docker's classic builder), or its events as JSON lines
 * (`--format json`), or only the image's digest (`-q`).
 */
export async function build(dir: string, o: BuildFlags): Promise<void> {
  const warn = (message: string): void => void process.stderr.write(`WARNING: ${message}\n`);
  const context = await packContext(dir, o.file, warn, o.builder !== 'dockerfile');
  const q = new URLSearchParams();
  for (const t of o.tag) q.append('t', t);
  if (context.dockerfile !== undefined) q.set('dockerfile', context.dockerfile);
  if (o.builder !== undefined) q.set('builder', o.builder);
  for (const b of o.buildpack ?? []) q.append('buildpack', b);
  for (const a of buildArgs(o.buildArg)) q.append('buildarg', a);
  if (o.target !== undefined) q.set('target', o.target);
  if (!o.cache) q.set('nocache', 'true');
  for (const l of labels(o.label)) q.append('label', l);
  const path = `/v1/build?${q}`;
  const json = o.format === 'json';
  let result: BuildResultView;
  try {
    const res = await apiFetch(resolveSettings(), 'POST', path, {
      body: Readable.toWeb(Readable.from(context.stream)) as unknown as RequestInit['body'],
      headers: { 'content-type': 'application/x-tar' },
    });
    result = await readResult<BuildProgressView, never, BuildResultView>(res.body as AsyncIterable<Uint8Array> | null, 'POST /v1/build', {
      progress: (e) => {
        if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
        else if (!o.quiet) process.stdout.write(`${e.text}\n`);
      },
    });
  } catch (err) {
    throw context.failure() ?? err; // the request broke because the context could not be read
  }
  if (json) process.stdout.write(`${JSON.stringify({ result })}\n`);
  else if (o.quiet) process.stdout.write(`${result.digest}\n`);
}
