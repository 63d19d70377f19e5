import type { ContainerView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { forEach } from '../../lib/each.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `container:stop`: SIGTERM, SIGKILL after the timeout; each container named back as it stopped (Docker). */
export async function stop(refs: string[], o: { time: number }): Promise<void> {
  const settings = resolveSettings();
  await forEach(refs, async (r) => {
    await apiRequest<ContainerView>(settings, 'POST', `${containerPath(r)}/stop?timeout=${o.time}`, undefined, (o.time + 30) * 1000);
    process.stdout.write(`${r}\n`);
  });
}
