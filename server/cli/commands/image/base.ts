import type { ImageView } from '../../../api/index.js';
import { transfer } from './transfer.js';

/** `image:base busybox|stack`: the build's output lines as they come, then the image. */
export async function base(name: 'busybox' | 'stack', o: { rebuild?: true }): Promise<void> {
  const view = await transfer<ImageView>('/v1/images/base', { name, ...(o.rebuild ? { rebuild: true } : {}) });
  process.stdout.write(`${view.tags.join(', ')} ${view.digest}\n`);
}
