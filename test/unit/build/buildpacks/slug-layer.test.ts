import test from 'ava';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { contentDigest, ContentDigest } from '../../../../server/build/buildpacks/slug-layer.js';

interface Entry {
  name: string;
  body?: Buffer;
  mtime: Date;
  mode?: number;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.body === undefined) p.entry({ name: e.name, type: 'directory', mtime: e.mtime, mode: e.mode ?? 0o755 });
    else p.entry({ name: e.name, type: 'file', mtime: e.mtime, mode: e.mode ?? 0o644, ...(e.name.length > 100 ? { pax: { comment: 'long' } } : {}) }, e.body);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

const t1 = new Date('2024-01-01T00:00:00Z');
const t2 = new Date('2025-06-01T12:34:56Z');
const big = Buffer.alloc(70_000, 7);
const app = (mtime: Date, changes: Partial<Record<'body' | 'mode' | 'name', true>> = {}): Entry[] => [
  { name: 'app/', mtime },
  {
    name: changes.name ? 'app/server2.js' : 'app/server.js',
    body: Buffer.from(changes.body ? 'console.log(2)\n' : 'console.log(1)\n'),
    mtime,
    ...(changes.mode ? { mode: 0o755 } : {}),
  },
  { name: 'app/bin', body: big, mtime },
  { name: `app/${'x'.repeat(120)}`, body: Buffer.from('long name, a pax header first\n'), mtime },
];

test('the content digest ignores mtimes and nothing else', async (t) => {
  const base = await contentDigest(Readable.from([await tarOf(app(t1))]));
  t.regex(base, /^sha256:[0-9a-f]{64}$/);
  t.is(await contentDigest(Readable.from([await tarOf(app(t2))])), base, 'the same files with other mtimes');
  for (const change of ['body', 'mode', 'name'] as const) {
    t.not(await contentDigest(Readable.from([await tarOf(app(t1, { [change]: true }))])), base, change);
  }
});

test('the content digest does not depend on how the stream is cut into chunks', async (t) => {
  const tar = await tarOf(app(t1));
  const whole = new ContentDigest();
  whole.update(tar);
  const expected = whole.digest();
  for (const size of [1, 7, 511, 512, 513, 4096]) {
    const d = new ContentDigest();
    for (let at = 0; at < tar.length; at += size) d.update(tar.subarray(at, at + size));
    t.is(d.digest(), expected, `chunks of ${size}`);
  }
});
