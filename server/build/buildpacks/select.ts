/**
 * Which builder a source gets (docs/buildpacks.md, "Which builder"): the app's setting
 * (`builder:set APP selected …`) when it has one; otherwise the Dockerfile builder when the
 * source has a Dockerfile at its top, else buildpacks (Dokku's rule).
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../core/index.js';

export type BuilderName = 'dockerfile' | 'herokuish';

export async function selectBuilder(dir: string, setting?: BuilderName): Promise<BuilderName> {
  if (setting !== undefined) {
    if (setting !== 'dockerfile' && setting !== 'herokuish') {
      throw new BerthError('E_BUILD_OPTIONS_INVALID', `the builder ${JSON.stringify(setting)} is not dockerfile or herokuish`, {
        details: { option: 'builder' },
      });
    }
    return setting;
  }
  const dockerfile = await lstat(join(dir, 'Dockerfile')).catch(() => undefined);
  return dockerfile?.isFile() ? 'dockerfile' : 'herokuish';
}
