import type { ContainerView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { shortId } from '../../lib/format.js';
import { resolveSettings } from '../../lib/settings.js';
import { renderContainers } from './table.js';

export async function ls(o: { all?: true; quiet?: true; trunc: boolean; format: 'text' | 'json' }): Promise<void> {
  const list = await apiRequest<ContainerView[]>(resolveSettings(), 'GET', `/v1/containers${o.all ? '?all=true' : ''}`);
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else if (o.quiet) process.stdout.write(list.map((c) => `${o.trunc ? shortId(c.id) : c.id}\n`).join(''));
  else process.stdout.write(`${renderContainers(list, { noTrunc: !o.trunc })}\n`);
}
