import type { AppInfo } from '../../../api/index.js';
import { BerthError, markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `builder:set APP selected [dockerfile|herokuish|'']`. */
export async function set(app: string, key: string, value = ''): Promise<void> {
  if (key !== 'selected') throw new BerthError('E_CLI_USAGE', `builder:set has no property ${JSON.stringify(key)}; the one property is selected`);
  await apiRequest<AppInfo>(resolveSettings(), 'PUT', `${appPath(app)}/builder`, { selected: value });
  process.stdout.write(value === '' ? `${markers.step}Unsetting selected\n` : `${markers.step}Setting selected to ${value}\n`);
}
