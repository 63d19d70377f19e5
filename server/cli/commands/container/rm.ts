import type { RemoveResult } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { forEach } from '../../lib/each.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `container:rm`: -f kills a running one first; each container named back (Docker). */
export async function rm(refs: string[], o: { force?: true }): Promise<void> {
  const settings = resolveSettings();
  await forEach(refs, async (r) => {
    await apiRequest<RemoveResult>(settings, 'DELETE', `${containerPath(r)}${o.force ? '?force=true' : ''}`);
    process.stdout.write(`${r}\n`);
  });
}
