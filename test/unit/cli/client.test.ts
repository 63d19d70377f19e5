/** The CLI's API client over real HTTP on loopback: answers, error answers, and the API out of reach. */
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiRequest } from '../../../server/cli/lib/client.js';
import { BerthError } from '../../../server/core/index.js';

async function server(t: ExecutionContext, handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, body, res));
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

test("a request carries the token and the JSON body; the answer's JSON comes back", async (t) => {
  const seen: unknown[] = [];
  const url = await server(t, (req, body, res) => {
    seen.push([req.method, req.url, req.headers.authorization, req.headers['content-type'], body]);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: 'é' }));
  });
  const settings = { url, token: 'sekrit', source: 'test' };
  t.deepEqual(await apiRequest(settings, 'POST', '/v1/containers', { image: 'busybox' }), { ok: 'é' });
  t.deepEqual(await apiRequest(settings, 'GET', '/v1/status'), { ok: 'é' });
  t.deepEqual(seen, [
    ['POST', '/v1/containers', 'Bearer sekrit', 'application/json', '{"image":"busybox"}'],
    ['GET', '/v1/status', 'Bearer sekrit', undefined, ''],
  ]);
});

test('an error answer is the BerthError it carries; a body that is not JSON is E_CLI_BAD_RESPONSE', async (t) => {
  const url = await server(t, (req, _body, res) => {
    if (req.url === '/v1/missing') {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'E_CONTAINER_NOT_FOUND', message: 'no container x', hint: 'h', details: { ref: 'x' } } }));
    } else if (req.url === '/v1/proxy') {
      res.statusCode = 502;
      res.end('<html>bad gateway</html>');
    } else res.end('not json');
  });
  const settings = { url, token: 't', source: 'test' };
  const missing = await t.throwsAsync(apiRequest(settings, 'GET', '/v1/missing'), { instanceOf: BerthError });
  t.like(missing, { code: 'E_CONTAINER_NOT_FOUND', message: 'no container x', hint: 'h', details: { ref: 'x' } });
  const proxy = await t.throwsAsync(apiRequest(settings, 'GET', '/v1/proxy'), { instanceOf: BerthError });
  t.is(proxy?.code, 'E_CLI_BAD_RESPONSE');
  t.is(proxy?.message, 'GET /v1/proxy answered HTTP 502: <html>bad gateway</html>');
  const text = await t.throwsAsync(apiRequest(settings, 'GET', '/v1/text'), { instanceOf: BerthError });
  t.is(text?.code, 'E_CLI_BAD_RESPONSE');
  t.regex(text?.message ?? '', /answered HTTP 200 with a body that is not JSON: not json/);
});

test('the API out of reach: refused, or no answer in time, is E_CLI_UNREACHABLE naming the URL and where it came from', async (t) => {
  const refused = await t.throwsAsync(apiRequest({ url: 'http://127.0.0.1:1', token: 't', source: '/x/cli.json' }, 'GET', '/v1/status'), {
    instanceOf: BerthError,
  });
  t.is(refused?.code, 'E_CLI_UNREACHABLE');
  t.is(refused?.message, 'cannot reach the Berth API at http://127.0.0.1:1 (from /x/cli.json): connection refused');
  const url = await server(t, () => undefined); // never answers
  const slow = await t.throwsAsync(apiRequest({ url, token: 't', source: 'environment' }, 'GET', '/v1/status', undefined, 300), { instanceOf: BerthError });
  t.is(slow?.code, 'E_CLI_UNREACHABLE');
  t.regex(slow?.message ?? '', /: no answer in time$/);
});
