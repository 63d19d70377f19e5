import type { ContainerView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { forEach } from '../../lib/each.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `container:kill`: `-s KILL`, `SIGUSR1` or `9`; each container named back (Docker). */
export async function kill(refs: string[], o: { signal: string }): Promise<void> {
  const settings = resolveSettings();
  await forEach(refs, async (r) => {
    await apiRequest<ContainerView>(settings, 'POST', `${containerPath(r)}/kill?signal=${encodeURIComponent(o.signal.replace(/^SIG/i, ''))}`);
    process.stdout.write(`${r}\n`);
  });
}
