import type { ImageView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';
import { parseChanges } from './options.js';

/** `container:commit`: the container's changes as a new image; prints its id (the config digest), as Docker. */
export async function commit(r: string, repository: string | undefined, o: { message?: string; author?: string; change: string[] }): Promise<void> {
  const changes = parseChanges(o.change);
  const body = {
    ...(repository === undefined ? {} : { reference: repository }),
    ...(o.message === undefined ? {} : { message: o.message }),
    ...(o.author === undefined ? {} : { author: o.author }),
    ...(Object.keys(changes).length > 0 ? { changes } : {}),
  };
  const view = await apiRequest<ImageView>(resolveSettings(), 'POST', `${containerPath(r)}/commit`, body, 10 * 60_000);
  process.stdout.write(`${view.configDigest}\n`);
}
