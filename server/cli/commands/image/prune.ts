import type { GcResult } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { humanSize } from '../../lib/format.js';
import { resolveSettings } from '../../lib/settings.js';

export async function prune(o: { format: 'text' | 'json' }): Promise<void> {
  const r = await apiRequest<GcResult>(resolveSettings(), 'POST', '/v1/images/prune', {}, 10 * 60_000);
  process.stdout.write(
    o.format === 'json'
      ? `${JSON.stringify(r, null, 2)}\n`
      : `Deleted ${r.removedBlobs.length} blobs and ${r.removedLayers.length} unpacked layers; reclaimed ${humanSize(r.freedBytes)} of blobs\n`,
  );
}
