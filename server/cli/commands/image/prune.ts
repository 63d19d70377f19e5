import type { PruneResult } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { humanSize } from '../../lib/format.js';
import { resolveSettings } from '../../lib/settings.js';

/** `image:prune [--build-cache]` and `builder:prune` (which is `image:prune --build-cache`). */
export async function prune(o: { format: 'text' | 'json'; buildCache?: true | boolean }): Promise<void> {
  const path = o.buildCache ? '/v1/images/prune?build-cache=true' : '/v1/images/prune';
  const r = await apiRequest<PruneResult>(resolveSettings(), 'POST', path, {}, 10 * 60_000);
  process.stdout.write(
    o.format === 'json'
      ? `${JSON.stringify(r, null, 2)}\n`
      : `${o.buildCache ? `Dropped ${r.buildCacheEntries} build cache entries. ` : ''}Deleted ${r.removedBlobs.length} blobs and ${r.removedLayers.length} unpacked layers; reclaimed ${humanSize(r.freedBytes)} of blobs\n`,
  );
}
