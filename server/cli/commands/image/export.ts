import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { apiFetch } from '../../lib/client.js';
import { imageQuery } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** `image:export -o FILE|-`: written to FILE.partial, renamed once whole (a failed export leaves no archive). */
export async function exportArchive(images: string[], o: { output: string; format: 'oci-archive' | 'docker-archive' }): Promise<void> {
  const query = [...images.map(imageQuery), `format=${o.format}`].join('&');
  const res = await apiFetch(resolveSettings(), 'GET', `/v1/images/export?${query}`);
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  if (o.output === '-') {
    await pipeline(body, process.stdout);
    return;
  }
  const temp = `${o.output}.partial`;
  try {
    await pipeline(body, createWriteStream(temp));
    await rename(temp, o.output);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
