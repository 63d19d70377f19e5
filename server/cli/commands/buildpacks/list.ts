import type { BuildpackList } from '../../../api/index.js';
import { markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `buildpacks:list APP`: Dokku's "-----> APP buildpack urls" and one a line, indented. */
export async function list(app: string): Promise<void> {
  const { buildpacks } = await apiRequest<BuildpackList>(resolveSettings(), 'GET', `${appPath(app)}/buildpacks`);
  process.stdout.write(`${markers.step}${app} buildpack urls\n${buildpacks.map((b) => `${markers.detail}${b}\n`).join('')}`);
}
