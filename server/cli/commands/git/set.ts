import type { AppInfo } from '../../../api/index.js';
import { BerthError, markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `git:set APP deploy-branch [BRANCH|'']`. */
export async function set(app: string, key: string, value = ''): Promise<void> {
  if (key !== 'deploy-branch') throw new BerthError('E_CLI_USAGE', `git:set has no property ${JSON.stringify(key)}; the one property is deploy-branch`);
  await apiRequest<AppInfo>(resolveSettings(), 'PUT', `${appPath(app)}/git`, { 'deploy-branch': value });
  process.stdout.write(value === '' ? `${markers.step}Unsetting deploy-branch\n` : `${markers.step}Setting deploy-branch to ${value}\n`);
}
