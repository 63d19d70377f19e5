import type { AppInfo } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';

/** `apps:list`: Dokku's "=====> My Apps" and one name a line; `--format json` the records. */
export async function list(o: { format: 'text' | 'json' }): Promise<void> {
  const apps = await apiRequest<AppInfo[]>(resolveSettings(), 'GET', '/v1/apps');
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(apps, null, 2)}\n` : `=====> My Apps\n${apps.map((a) => `${a.name}\n`).join('')}`);
}
