import { Command, Option } from '@commander-js/extra-typings';
import type { ServiceHealth, StatusReport } from '../../api/index.js';
import { apiRequest } from '../client.js';
import { resolveSettings } from '../settings.js';

const formatUptime = (s: number): string =>
  [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']]
    .filter(([n], i, all) => (n as number) > 0 || i === all.length - 1)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');

function serviceLine(name: string, h: ServiceHealth, extra = ''): string {
  const facts = [h.version, h.pid === undefined ? undefined : `pid ${h.pid}`, h.restarts ? `restarted ${h.restarts}×` : undefined, extra || undefined]
    .filter(Boolean)
    .join(', ');
  return `${name.padEnd(6)} ${h.mode.padEnd(9)} ${h.healthy ? 'healthy' : `UNHEALTHY: ${h.error ?? 'unknown'}`}${facts ? `  (${facts})` : ''}`;
}

export function renderStatus(s: StatusReport): string {
  return [
    `Berth ${s.berth.version} on Node ${s.berth.node}, up ${formatUptime(s.berth.uptimeSeconds)} (pid ${s.berth.pid}, home ${s.berth.home})`,
    serviceLine('redis', s.redis),
    serviceLine('nginx', s.nginx, `port ${s.nginx.port}`),
  ].join('\n');
}

export const statusCommand = new Command('status')
  .description('show the daemon\'s version, uptime and the health of its Redis and nginx')
  .addOption(new Option('--format <format>', 'output format').choices(['text', 'json'] as const).default('text' as const))
  .action(async (options) => {
    const report = await apiRequest<StatusReport>(resolveSettings(), 'GET', '/v1/status');
    process.stdout.write(options.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${renderStatus(report)}\n`);
    if (!report.redis.healthy || !report.nginx.healthy) process.exitCode = 1;
  });
