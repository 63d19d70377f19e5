/**
 * The slug layer of a buildpack build (docs/buildpacks.md, "The image" and "Speed").
 *
 * Compression is most of a slug's cost: a Node.js slug is ~150 MB, most of it the node
 * binary. Two things keep it down:
 * - zstd (level 3), not gzip: on the node binary zstd-3 is ~4x faster than gzip-6 and makes
 *   a smaller blob (measured in docs/buildpacks.md); OCI image-spec 1.1 defines
 *   `tar+zstd` layers and the image store unpacks them;
 * - an unchanged slug is not compressed at all: when the new slug's content digest equals
 *   the one of this app's previous slug, the previous layer (blob, diff_id, and so its
 *   files' mtimes) is reused as it is. The content digest is the sha256 of the layer's tar
 *   with every header's mtime (and so its checksum) zeroed: a build of the same source makes
 *   the same bytes, names, modes and owners, but fresh mtimes (a new checkout, files copied
 *   again), and herokuish keeps mtimes in the slug, so Berth does not rewrite them. Reusing
 *   the whole previous layer keeps its mtimes consistent with each other (a .pyc's recorded
 *   source mtime, an ETag made of mtime and size still names the same bytes).
 *
 * What this module remembers (app → its last slug) lives in the daemon's memory: after a
 * restart the first build of an app compresses its slug again.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeLayerStream, type Descriptor, type ImageStore, type Lease } from '../../images/index.js';

/** A layer as a build records it: the stored blob and the uncompressed tar's digest. */
export interface SlugLayer {
  descriptor: Descriptor;
  diffId: string;
}

const BLOCK = 512;
/** ustar header fields zeroed for the content digest: mtime (136, 12 bytes) and chksum (148, 8 bytes). */
const MTIME = 136;
const CHKSUM_END = 156;
/** The size field of a ustar header. */
const SIZE = 124;

/**
 * The sha256 of a tar stream with each header's mtime and checksum zeroed, fed chunk by
 * chunk. Every header (a file's, a pax extended header's) is followed by its data padded to
 * 512 bytes; the data is hashed as it is.
 */
export class ContentDigest {
  private readonly hash: Hash = createHash('sha256');
  private readonly header = Buffer.alloc(BLOCK);
  private have = 0;
  /** Data bytes (with padding) still to come after the last header. */
  private data = 0;

  update(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.data > 0) {
        const n = Math.min(this.data, chunk.length - at);
        this.hash.update(chunk.subarray(at, at + n));
        this.data -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.have, chunk.length - at);
      chunk.copy(this.header, this.have, at, at + n);
      this.have += n;
      at += n;
      if (this.have < BLOCK) continue;
      this.have = 0;
      const size = headerSize(this.header);
      this.header.fill(0, MTIME, CHKSUM_END);
      this.hash.update(this.header);
      this.data = Math.ceil(size / BLOCK) * BLOCK;
    }
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** The data size a ustar header announces (octal, or GNU base-256 when the high bit is set); 0 for the end blocks. */
function headerSize(h: Buffer): number {
  const field = h.subarray(SIZE, SIZE + 12);
  if (((field[0] as number) & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < 12; i++) n = n * 256 + (field[i] as number);
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** A sink that feeds a ContentDigest. */
function digestSink(d: ContentDigest): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      d.update(chunk);
      done();
    },
  });
}

/** The content digest of a tar stream, read to its end. */
export async function contentDigest(tar: Readable): Promise<string> {
  const d = new ContentDigest();
  await pipeline(tar, digestSink(d));
  return d.digest();
}

/** Each app's last slug: its content digest and its layer. */
const lastSlugs = new Map<string, { content: string; layer: SlugLayer }>();
/** Apps remembered at most (the oldest is forgotten first); an entry is ~200 bytes. */
const REMEMBERED = 4096;

/** What writeSlugLayer reports: the layer, and whether it is the previous build's. */
export interface SlugResult {
  layer: SlugLayer;
  reused: boolean;
}

/**
 * The slug layer of `app`: its previous one when the content is the same and its blob is
 * still stored, else a new zstd layer. `tar` is called once or twice (a digest pass
 * first, when there is a previous slug to compare with).
 */
export async function writeSlugLayer(store: ImageStore, app: string, tar: () => Promise<Readable>, lease: Lease): Promise<SlugResult> {
  const last = lastSlugs.get(app);
  if (last !== undefined) {
    // Leased before it is looked for, so a gc cannot take it between the check and the image.
    lease.add(last.layer.descriptor.digest);
    if ((await store.hasBlob(last.layer.descriptor.digest)) && (await contentDigest(await tar())) === last.content) {
      remember(app, last);
      return { layer: last.layer, reused: true };
    }
  }
  const d = new ContentDigest();
  const source = await tar();
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      d.update(chunk);
      done(null, chunk);
    },
  });
  source.on('error', (e) => tee.destroy(e));
  const layer = await writeLayerStream(store, source.pipe(tee), 'zstd', lease);
  remember(app, { content: d.digest(), layer });
  return { layer, reused: false };
}

function remember(app: string, entry: { content: string; layer: SlugLayer }): void {
  lastSlugs.delete(app);
  lastSlugs.set(app, entry);
  if (lastSlugs.size > REMEMBERED) lastSlugs.delete(lastSlugs.keys().next().value as string);
}
