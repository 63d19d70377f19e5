import type { ContainerStats, ContainerView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { table } from '../../lib/format.js';
import { containerPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';
import { statsHeader, statsRow } from './table.js';

/** `container:stats`: CPU % needs two samples, so the first table comes after half a second. */
export async function stats(refs: string[], o: { stream: boolean }): Promise<void> {
  const settings = resolveSettings();
  const views = await Promise.all(refs.map((r) => apiRequest<ContainerView>(settings, 'GET', containerPath(r))));
  const sample = () => Promise.all(views.map((v) => apiRequest<ContainerStats>(settings, 'GET', `${containerPath(v.id)}/stats`)));
  let before = await sample();
  let at = Date.now();
  for (let first = true; ; first = false) {
    await new Promise((res) => setTimeout(res, first ? 500 : 1000));
    const now = await sample();
    const t = Date.now();
    const text = table([statsHeader, ...views.map((v, i) => statsRow(v.name, before[i]!, now[i]!, t - at))]);
    if (o.stream && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
    process.stdout.write(`${text}\n`);
    if (!o.stream) return;
    before = now;
    at = t;
  }
}
