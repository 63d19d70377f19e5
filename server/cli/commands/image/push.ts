import type { PushResult } from '../../../api/index.js';
import { credentials, transfer, type CredentialFlags } from './transfer.js';

export async function push(image: string, target: string | undefined, o: CredentialFlags): Promise<void> {
  const r = await transfer<PushResult>('/v1/images/push', { source: image, ...(target === undefined ? {} : { target }), ...(await credentials(o)) });
  process.stdout.write(
    `${target ?? image}: digest: ${r.digest} (${r.pushed.length} blobs pushed, ${r.existed.length} already there${r.mounted.length > 0 ? `, ${r.mounted.length} mounted from another repository` : ''})\n`,
  );
}
