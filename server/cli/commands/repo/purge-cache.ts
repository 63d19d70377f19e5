import type { PurgeResult } from '../../../api/index.js';
import { markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `repo:purge-cache APP`. */
export async function purgeCache(app: string): Promise<void> {
  await apiRequest<PurgeResult>(resolveSettings(), 'POST', `${appPath(app)}/purge-cache`, undefined, 5 * 60_000);
  process.stdout.write(`${markers.step}Purged the build cache of ${app}\n`);
}
