/**
 * The CLI's one reader of streamed answers and its one turn of an API error body into a
 * BerthError; the reader against the API's one writer over real HTTP.
 */
import test from 'ava';
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { streamNdjson } from '../../../server/api/ndjson.js';
import { errorFromAnswer } from '../../../server/cli/lib/api-error.js';
import { readEnvelopes, readResult } from '../../../server/cli/lib/ndjson.js';
import { BerthError } from '../../../server/core/index.js';
import { testLogger } from '../../helpers/logger.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

test('envelopes in order, lines split anywhere across chunks (a multi-byte character too)', async (t) => {
  const text = `{"progress":{"n":1}}\n{"line":"héllo"}\n\n{"result":{"ok":true}}`;
  const bytes = Buffer.from(text);
  const cut = bytes.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
  const got = await collect(
    readEnvelopes<{ n: number }, string, { ok: boolean }>(chunks(bytes.subarray(0, 5), bytes.subarray(5, cut), bytes.subarray(cut)), 'GET /x'),
  );
  t.deepEqual(got, [{ progress: { n: 1 } }, { line: 'héllo' }, { result: { ok: true } }]);
});

test('an error line is thrown as the BerthError it carries: code, message, hint, details', async (t) => {
  const line = JSON.stringify({ error: { code: 'E_IMAGE_NOT_FOUND', message: 'no image x:1', hint: 'pull it', details: { ref: 'x:1' } } });
  const e = await t.throwsAsync(collect(readEnvelopes(chunks(`{"line":"a"}\n${line}\n`), 'POST /v1/images/pull')), { instanceOf: BerthError });
  t.is(e?.code, 'E_IMAGE_NOT_FOUND');
  t.is(e?.message, 'no image x:1');
  t.is(e?.hint, 'pull it');
  t.deepEqual(e?.details, { ref: 'x:1' });
});

test('a line that is not an envelope is E_CLI_BAD_RESPONSE naming the request and the line', async (t) => {
  for (const bad of ['not json', '{"stream":"stdout","log":"bare"}', '{"line":"a","result":1}', '[1]', '{"error":"words"}']) {
    const e = await t.throwsAsync(collect(readEnvelopes(chunks(`{"line":"ok"}\n${bad}\n`), 'GET /v1/containers/x/logs')), { instanceOf: BerthError }, bad);
    t.is(e?.code, 'E_CLI_BAD_RESPONSE', bad);
    t.regex(e?.message ?? '', /^GET \/v1\/containers\/x\/logs/, bad);
  }
  const e = await t.throwsAsync(readResult(chunks('{"progress":1}\n'), 'POST /v1/images/push'), { instanceOf: BerthError });
  t.is(e?.code, 'E_CLI_BAD_RESPONSE');
  t.regex(e?.message ?? '', /ended without a result/);
});

test('error bodies: a known code is that error, an unknown code or a foreign body E_CLI_BAD_RESPONSE', (t) => {
  const known = errorFromAnswer('{"error":{"code":"E_API_UNAUTHORIZED","message":"the API token is wrong","hint":"h"}}', 'GET /v1/status answered HTTP 401');
  t.is(known.code, 'E_API_UNAUTHORIZED');
  t.is(known.message, 'the API token is wrong');
  t.is(known.hint, 'h');
  const noHint = errorFromAnswer({ error: { code: 'E_CONTAINER_START_FAILED', message: 'm', details: { op: 'exec', errno: 2 } } }, 'x');
  t.deepEqual(noHint.details, { op: 'exec', errno: 2 });
  t.regex(noHint.hint, /\S/, "the table's hint when the body has none");
  const newer = errorFromAnswer('{"error":{"code":"E_FUTURE_THING","message":"from a newer daemon"}}', 'GET /v1/x answered HTTP 409');
  t.is(newer.code, 'E_CLI_BAD_RESPONSE');
  t.is(newer.message, 'GET /v1/x answered HTTP 409 with error E_FUTURE_THING, which this CLI does not know: from a newer daemon');
  const proxy = errorFromAnswer('<html>Bad Gateway</html>', 'GET /v1/status answered HTTP 502');
  t.is(proxy.code, 'E_CLI_BAD_RESPONSE');
  t.is(proxy.message, 'GET /v1/status answered HTTP 502: <html>Bad Gateway</html>');
});

test("the API's writer and the CLI's reader agree, over HTTP", async (t) => {
  const app = express();
  const log = testLogger(await tempDir(t));
  app.get('/ok', async (_req, res) => {
    await streamNdjson<{ blob: string }, string, { digest: string }>(res, log, 'a transfer', async (out) => {
      for (let i = 0; i < 200; i++) await out.progress({ blob: `b${i}` });
      await out.line('done');
      return { digest: 'sha256:x' };
    });
  });
  app.get('/fails', async (_req, res) => {
    await streamNdjson<{ blob: string }, never, never>(res, log, 'a transfer', async (out) => {
      await out.progress({ blob: 'b0' });
      throw new BerthError('E_IMAGE_NOT_FOUND', 'gone');
    });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const progress: string[] = [];
  const seen: string[] = [];
  const result = await readResult<{ blob: string }, string, { digest: string }>((await fetch(`${url}/ok`)).body, 'GET /ok', {
    progress: (e) => progress.push(e.blob),
    line: (l) => seen.push(l),
  });
  t.deepEqual(result, { digest: 'sha256:x' });
  t.is(progress.length, 200);
  t.deepEqual(seen, ['done']);
  const e = await t.throwsAsync(readResult((await fetch(`${url}/fails`)).body, 'GET /fails'), { instanceOf: BerthError });
  t.is(e?.code, 'E_IMAGE_NOT_FOUND');
});
