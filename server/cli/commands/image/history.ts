import type { ImageView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { imageQuery } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';
import { renderHistory } from './render.js';

export async function history(image: string, o: { format: 'text' | 'json' }): Promise<void> {
  const view = await apiRequest<ImageView>(resolveSettings(), 'GET', `/v1/images/inspect?${imageQuery(image)}`);
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(view.history, null, 2)}\n` : `${renderHistory(view)}\n`);
}
