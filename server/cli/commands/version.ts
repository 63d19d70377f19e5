import { Command } from '@commander-js/extra-typings';
import type { StatusReport } from '../../api/index.js';
import { berthVersion, nodeVersion } from '../../core/index.js';
import { apiRequest } from '../client.js';
import { resolveSettings } from '../settings.js';

export const versionLine = `berth ${berthVersion} (node ${nodeVersion})`;

export const versionCommand = new Command('version')
  .description('show the versions of this CLI and of the daemon it talks to')
  .action(async () => {
    process.stdout.write(`client: ${versionLine}\n`);
    const settings = resolveSettings();
    const s = await apiRequest<StatusReport>(settings, 'GET', '/v1/status');
    process.stdout.write(`daemon: berth ${s.berth.version} (node ${s.berth.node}) at ${settings.url}\n`);
  });
