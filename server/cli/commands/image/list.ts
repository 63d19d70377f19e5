import type { ImageSummary } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';
import { renderImages } from './render.js';

/** `berth images`: one row per tag. */
export async function list(o: { format: 'text' | 'json' }): Promise<void> {
  const images = await apiRequest<ImageSummary[]>(resolveSettings(), 'GET', '/v1/images');
  process.stdout.write(o.format === 'json' ? `${JSON.stringify(images, null, 2)}\n` : `${renderImages(images)}\n`);
}
