import type { LogLine } from '../../../api/index.js';
import { BerthError } from '../../../core/index.js';
import { apiFetch } from '../../lib/client.js';
import { readEnvelopes } from '../../lib/ndjson.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `container:logs`: the log's lines to stdout and stderr as they were written; with -f until the container stops. */
export async function logs(r: string, o: { follow?: true; tail: string; timestamps?: true }): Promise<void> {
  if (o.tail !== 'all' && !/^\d+$/.test(o.tail)) throw new BerthError('E_CLI_USAGE', `--tail ${JSON.stringify(o.tail)} is not a number of lines or "all"`);
  const query = [o.follow ? 'follow=true' : '', o.tail === 'all' ? '' : `tail=${o.tail}`].filter(Boolean).join('&');
  const path = `${containerPath(r)}/logs`;
  const res = await apiFetch(resolveSettings(), 'GET', `${path}${query ? `?${query}` : ''}`);
  for await (const e of readEnvelopes<never, LogLine>(res.body as AsyncIterable<Uint8Array> | null, `GET ${path}`)) {
    if (!('line' in e)) continue;
    const l = e.line;
    (l.stream === 'stderr' ? process.stderr : process.stdout).write(o.timestamps ? `${l.time} ${l.log}` : l.log);
  }
}
