import type { BuildpackList } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `buildpacks:set [--index N] APP BUILDPACK`. */
export async function set(app: string, buildpack: string, o: { index?: number }): Promise<void> {
  await apiRequest<BuildpackList>(resolveSettings(), 'PUT', `${appPath(app)}/buildpacks`, { buildpack, ...(o.index === undefined ? {} : { index: o.index }) });
}
