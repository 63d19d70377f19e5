import type { StatusReport } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';
import { versionLine } from '../../lib/version.js';

/** `berth version`: this CLI's version, then the daemon's. */
export async function version(): Promise<void> {
  process.stdout.write(`client: ${versionLine}\n`);
  const settings = resolveSettings();
  const s = await apiRequest<StatusReport>(settings, 'GET', '/v1/status');
  process.stdout.write(`daemon: berth ${s.berth.version} (node ${s.berth.node}) at ${settings.url}\n`);
}
