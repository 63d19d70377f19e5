import type { BuildpackList } from '../../../api/index.js';
import { BerthError, markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `buildpacks:remove APP BUILDPACK` or `buildpacks:remove APP --index N`: one of the two. */
export async function remove(app: string, buildpack: string | undefined, o: { index?: number }): Promise<void> {
  if ((buildpack === undefined) === (o.index === undefined)) {
    throw new BerthError('E_CLI_USAGE', 'buildpacks:remove takes either a buildpack or --index N, not both and not neither');
  }
  const query = buildpack === undefined ? `index=${o.index}` : `buildpack=${encodeURIComponent(buildpack)}`;
  const before = buildpack === undefined ? await apiRequest<BuildpackList>(resolveSettings(), 'GET', `${appPath(app)}/buildpacks`) : undefined;
  await apiRequest<BuildpackList>(resolveSettings(), 'DELETE', `${appPath(app)}/buildpacks?${query}`);
  process.stdout.write(`${markers.step}Removing ${buildpack ?? before?.buildpacks[o.index! - 1] ?? `the buildpack at position ${o.index}`}\n`);
}
