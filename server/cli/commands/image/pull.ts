import type { ImageView } from '../../../api/index.js';
import { credentials, transfer, type CredentialFlags } from './transfer.js';

export async function pull(reference: string, o: CredentialFlags): Promise<void> {
  const view = await transfer<ImageView>('/v1/images/pull', { reference, ...(await credentials(o)) });
  process.stdout.write(`Digest: ${view.digest}\nStatus: pulled ${reference}\n`);
}
