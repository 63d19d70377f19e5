import type { UntagResult } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { imageQuery } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `image:rm`: untag each; the blobs stay until `image:prune`. */
export async function rm(images: string[], o: { force?: true }): Promise<void> {
  for (const image of images) {
    const r = await apiRequest<UntagResult>(resolveSettings(), 'DELETE', `/v1/images?${imageQuery(image)}${o.force ? '&force=true' : ''}`);
    process.stdout.write(`Untagged: ${r.untagged} (${r.digest})\n`);
  }
}
