import type { BuildpackList } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `buildpacks:clear APP`. */
export async function clear(app: string): Promise<void> {
  await apiRequest<BuildpackList>(resolveSettings(), 'DELETE', `${appPath(app)}/buildpacks?all=true`);
}
