import type { ImageView } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';

export async function tag(source: string, target: string): Promise<void> {
  await apiRequest<ImageView>(resolveSettings(), 'POST', '/v1/images/tag', { source, target });
}
