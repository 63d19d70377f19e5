/**
 * A fence around tar-stream 3.2.2 (docs/images.md, "Layers"; each package is used where it
 * serves, its known defects fenced off): it decodes and encodes every PAX record as UTF-8,
 * which corrupts binary extended attributes (`SCHILY.xattr.security.capability` is a binary struct).
 * We replace its two PAX helpers, which extract.js and pack.js call through the module
 * object, with byte-exact ones: values of `SCHILY.xattr.*` records are carried as latin1
 * strings (one char per byte, lossless); every other record stays UTF-8 as before.
 * Importing this module applies the fence once; `xattrBytes` turns such a value back into bytes.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';

const XATTR_PREFIX = 'SCHILY.xattr.';

interface HeadersModule {
  decodePax: (buf: Uint8Array) => Record<string, string>;
  encodePax: (opts: { name?: string; linkname?: string; pax?: Record<string, string> | null }) => Buffer;
}

function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  const len = body.length;
  let digits = String(len).length;
  if (len + digits >= 10 ** digits) digits++;
  return Buffer.concat([Buffer.from(String(len + digits), 'ascii'), body]);
}

function valueBytes(key: string, value: string): Buffer {
  return Buffer.from(value, key.startsWith(XATTR_PREFIX) ? 'latin1' : 'utf8');
}

function decodePax(input: Uint8Array): Record<string, string> {
  const result: Record<string, string> = {};
  let buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  while (buf.length > 0) {
    const space = buf.indexOf(0x20);
    if (space <= 0) break;
    const len = Number.parseInt(buf.subarray(0, space).toString('ascii'), 10);
    if (!Number.isSafeInteger(len) || len <= space + 1 || len > buf.length) break;
    const body = buf.subarray(space + 1, len - 1); // the record ends with "\n"
    const eq = body.indexOf(0x3d);
    if (eq < 0) break;
    const key = body.subarray(0, eq).toString('utf8');
    const raw = body.subarray(eq + 1);
    result[key] = raw.toString(key.startsWith(XATTR_PREFIX) ? 'latin1' : 'utf8');
    buf = buf.subarray(len);
  }
  return result;
}

function encodePax(opts: { name?: string; linkname?: string; pax?: Record<string, string> | null }): Buffer {
  const parts: Buffer[] = [];
  if (opts.name) parts.push(record('path', Buffer.from(opts.name, 'utf8')));
  if (opts.linkname) parts.push(record('linkpath', Buffer.from(opts.linkname, 'utf8')));
  for (const [key, value] of Object.entries(opts.pax ?? {})) parts.push(record(key, valueBytes(key, value)));
  return Buffer.concat(parts);
}

const require = createRequire(import.meta.url);
// tar-stream's package exports hide headers.js; load the very module its own files use.
const headers = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as HeadersModule;
headers.decodePax = decodePax;
headers.encodePax = encodePax;

export { XATTR_PREFIX };

/** The bytes of an xattr value as the fenced tar-stream carries it. */
export function xattrBytes(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

/** An xattr value as a PAX value for the fenced tar-stream's pack (for writing layers and tests). */
export function xattrPaxValue(value: Uint8Array): string {
  return Buffer.from(value).toString('latin1');
}

/**
 * One tar entry, awaited. A file entry always has a body (tar-stream waits forever for an
 * empty one to end), and a stream body is copied by hand: tar-stream's entry streams do not
 * work with Node's `pipeline`.
 */
export function packEntry(p: Pack, header: Parameters<Pack['entry']>[0], body?: Readable | Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body === undefined) {
      p.entry(header, cb);
      return;
    }
    if (Buffer.isBuffer(body)) {
      p.entry(header, body, cb);
      return;
    }
    const sink = p.entry(header, cb);
    body.on('error', (e) => {
      sink.destroy(e);
      reject(e);
    });
    body.on('data', (c: Buffer) => {
      if (!sink.write(c)) body.pause();
    });
    sink.on('drain', () => body.resume());
    body.on('end', () => (sink as unknown as { end(): void }).end());
  });
}
