/**
 * core's extractTar beyond what the API's build-context tests show: the per-file limit with
 * its own error, and a stream cut off in the middle of a file by the byte limit, delivered in
 * many chunks as a socket or a pipe delivers it, fails once, without an uncaught error.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { BerthError, extractTar, type TarRules } from '../../../server/core/index.js';
import { tarball } from '../../helpers/tarball.js';
import { tempDir } from '../../helpers/temp-dir.js';

const rules = (o: Partial<TarRules>): TarRules => ({
  scope: 'the tree',
  maxBytes: 1 << 20,
  invalid: (entry, why) => new BerthError('E_BUILD_CONTEXT_INVALID', `entry ${entry} ${why}`),
  tooLarge: (max) => new BerthError('E_BUILD_CONTEXT_TOO_LARGE', `more than ${max} bytes`),
  unreadable: (cause) => new BerthError('E_BUILD_CONTEXT_INVALID', `not a tar: ${cause.message}`),
  ...o,
});

/** `buffer` as a stream of 64 KiB chunks (a pipe's size), each on its own turn of the event loop. */
function chunked(buffer: Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < buffer.length; at += 65536) {
        await new Promise((resolve) => setImmediate(resolve));
        yield buffer.subarray(at, at + 65536);
      }
    })(),
  );
}

for (const [what, cut] of [
  ['while the file is being written', 64 * 1024],
  ['right after its header, before its file is opened', 512],
] as const) {
  test(`a stream over the byte limit ${what} fails once with the limit error`, async (t) => {
    const dir = await tempDir(t);
    const tar = await tarball([{ name: 'big', content: Buffer.alloc(200 * 1024) }]);
    // The header alone, then the rest at once: the limit trips in the same turn as the entry starts.
    const body = cut === 512 ? Readable.from([tar.subarray(0, 512), tar.subarray(512)]) : chunked(tar);
    const e = await t.throwsAsync(extractTar(body, join(dir), rules({ maxBytes: cut === 512 ? 4096 : 64 * 1024 })), { instanceOf: BerthError });
    t.is(e?.code, 'E_BUILD_CONTEXT_TOO_LARGE');
    await new Promise((resolve) => setTimeout(resolve, 50)); // an error emitted late would surface here as an uncaught exception
  });
}

test('a file over maxFileBytes is refused before it is written, with the rules’ own error or the invalid one', async (t) => {
  const tar = await tarball([
    { name: 'ok', content: Buffer.alloc(100) },
    { name: 'sub/big', content: Buffer.alloc(5000) },
  ]);
  const dir = await tempDir(t);
  const own = await t.throwsAsync(
    extractTar(
      chunked(tar),
      dir,
      rules({ maxFileBytes: 4096, fileTooLarge: (entry, size, max) => new BerthError('E_NAME_INVALID', `${entry}: ${size} > ${max}`) }),
    ),
    { instanceOf: BerthError },
  );
  t.is(own?.message, 'sub/big: 5000 > 4096');
  t.deepEqual((await readdir(dir, { recursive: true })).sort(), ['ok', 'sub']);
  const dir2 = await tempDir(t);
  const plain = await t.throwsAsync(extractTar(Readable.from([tar]), dir2, rules({ maxFileBytes: 4096 })), { instanceOf: BerthError });
  t.is(plain?.message, 'entry sub/big is 5000 bytes, more than the 4096 bytes a file may have');
  const r = await extractTar(Readable.from([tar]), await tempDir(t), rules({ maxFileBytes: 5000 }));
  t.deepEqual(r, { files: 2, bytes: 5100 });
});
