/**
 * Crafting tarballs in tests with tar-stream (the same library Berth reads them with,
 * with Berth's PAX fence applied, so binary xattr values survive).
 */
import { extract, pack, type Header } from 'tar-stream';
import { createGunzip, gzipSync, zstdCompressSync } from 'node:zlib';
import type { Image, ImageStore } from '../../server/images/index.js';
import { xattrPaxValue } from '../../server/images/tar-compat.js';

export interface TarEntry extends Partial<Omit<Header, 'pax'>> {
  name: string;
  content?: string | Uint8Array;
  /** xattrs, written as SCHILY.xattr.<name> PAX records. */
  xattrs?: Record<string, string | Uint8Array>;
  pax?: Record<string, string>;
}

export async function tarball(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const { content, xattrs, pax, ...header } = e;
    const allPax: Record<string, string> = { ...(pax ?? {}) };
    for (const [k, v] of Object.entries(xattrs ?? {})) allPax[`SCHILY.xattr.${k}`] = typeof v === 'string' ? v : xattrPaxValue(v);
    const body = content === undefined ? undefined : typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    const h = {
      type: 'file' as const,
      mode: header.type === 'directory' ? 0o755 : 0o644,
      mtime: new Date(1_700_000_000_000),
      uid: 0,
      gid: 0,
      ...header,
      ...(body === undefined ? {} : { size: body.length }),
      ...(Object.keys(allPax).length > 0 ? { pax: allPax } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body === undefined) p.entry(h, cb);
      else p.entry(h, body, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const compress = {
  none: (b: Buffer) => b,
  gzip: (b: Buffer) => gzipSync(b),
  zstd: (b: Buffer) => zstdCompressSync(b),
};

/** The headers of every entry of an image's top (gzip) layer, in tar order, read from the stored blob. */
export async function topLayerHeaders(store: ImageStore, image: Image): Promise<Header[]> {
  const top = image.manifest.layers.at(-1);
  if (!top) throw new Error('the image has no layer');
  const out: Header[] = [];
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    out.push(h);
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise((resolve, reject) => {
    ex.on('finish', () => resolve(undefined));
    ex.on('error', reject);
  });
  (await store.openBlob(top.digest)).pipe(createGunzip()).pipe(ex);
  await done;
  return out;
}
