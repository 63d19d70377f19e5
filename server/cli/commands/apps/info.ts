import type { AppInfo } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** Dokku's report layout: a header, then `label:` padded to one column and the value. */
export function renderAppInfo(a: AppInfo): string {
  const rows: [string, string][] = [
    ['App created at', a.createdAt],
    ['App dir', a.paths.dir],
    ['Repo dir', a.paths.repo],
    ['Cache dir', a.paths.cache],
    ['Deploy branch', a.deployBranch ?? 'main, else master (default)'],
    ['Builder selected', a.builder ?? 'automatic (a Dockerfile → dockerfile, else herokuish)'],
    ['Buildpacks', a.buildpacks.length === 0 ? 'detected (none set)' : a.buildpacks.join(' ')],
    ['Config vars', String(Object.keys(a.env).length)],
    ['Domains', a.domains.length === 0 ? 'default' : a.domains.join(' ')],
    [
      'Scale',
      Object.keys(a.scale).length === 0
        ? 'not deployed yet'
        : Object.entries(a.scale)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
    ],
    ['Current release', a.currentRelease === undefined ? 'none' : `v${a.currentRelease}`],
    ['User namespace', `host ids ${a.userns.hostId}-${a.userns.hostId + a.userns.size - 1}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return [`=====> ${a.name} app information`, ...rows.map(([k, v]) => `       ${`${k}:`.padEnd(width)}${v}`)].join('\n');
}

/** `apps:info APP [--format json]`. */
export async function info(name: string, o: { format: 'text' | 'json' }): Promise<void> {
  const app = await apiRequest<AppInfo>(resolveSettings(), 'GET', appPath(name));
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(app, null, 2)}\n` : `${renderAppInfo(app)}\n`);
}
