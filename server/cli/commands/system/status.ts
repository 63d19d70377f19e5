import type { ServiceHealth, StatusReport } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';

const formatUptime = (s: number): string =>
  [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ]
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

/** `berth status`: exits 1 when Redis or nginx is unhealthy, so scripts can wait on it. */
export async function status(o: { format: 'text' | 'json' }): Promise<void> {
  const report = await apiRequest<StatusReport>(resolveSettings(), 'GET', '/v1/status');
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${renderStatus(report)}\n`);
  if (!report.redis.healthy || !report.nginx.healthy) process.exitCode = 1;
}
