import type { AppInfo } from '../../../api/index.js';
import { markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `apps:rename OLD NEW`. */
export async function rename(from: string, to: string): Promise<void> {
  await apiRequest<AppInfo>(resolveSettings(), 'POST', `${appPath(from)}/rename`, { name: to });
  process.stdout.write(`${markers.step}Renamed ${from} to ${to}\n`);
}
