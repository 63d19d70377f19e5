import type { AppInfo } from '../../../api/index.js';
import { markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';

/** `apps:create APP`: Dokku's "-----> Creating APP..." then "done". */
export async function create(name: string): Promise<void> {
  process.stdout.write(`${markers.step}Creating ${name}...\n`);
  await apiRequest<AppInfo>(resolveSettings(), 'POST', '/v1/apps', { name });
  process.stdout.write(`${markers.detail}done\n`);
}
