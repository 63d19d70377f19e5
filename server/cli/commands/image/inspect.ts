import type { ImageView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { imageQuery } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

export async function inspect(image: string): Promise<void> {
  const view = await apiRequest<ImageView>(resolveSettings(), 'GET', `/v1/images/inspect?${imageQuery(image)}`);
  process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
}
