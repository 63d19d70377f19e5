import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ImageView } from '../../../api/index.js';
import { apiFetch } from '../../lib/client.js';
import { resolveSettings } from '../../lib/settings.js';

/** `image:import FILE|-`: the archive is the request's body, streamed. */
export async function importArchive(file: string, o: { tag?: string }): Promise<void> {
  const source = file === '-' ? process.stdin : createReadStream(file);
  const path = `/v1/images/import${o.tag ? `?tag=${encodeURIComponent(o.tag)}` : ''}`;
  const res = await apiFetch(resolveSettings(), 'POST', path, {
    body: Readable.toWeb(source) as unknown as RequestInit['body'],
    headers: { 'content-type': 'application/x-tar' },
  });
  const views = (await res.json()) as ImageView[];
  for (const v of views) process.stdout.write(`Loaded image: ${v.tags.join(', ') || v.digest}\n`);
}
