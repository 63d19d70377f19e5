import type { ContainerView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { forEach } from '../../lib/each.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `container:inspect`: every container found, as JSON; the unknown ones as errors. */
export async function inspect(refs: string[]): Promise<void> {
  const settings = resolveSettings();
  const found: ContainerView[] = [];
  await forEach(refs, async (r) => void found.push(await apiRequest<ContainerView>(settings, 'GET', containerPath(r))));
  process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
}
