/**
 * The API's streamed answers: the one NDJSON writer's envelope (on its own and under the
 * logs route), and the upgrade handler of attach and exec refusing before it switches.
 */
import test, { type ExecutionContext } from 'ava';
import express from 'express';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { containerUpgradeHandler } from '../../../server/api/index.js';
import { streamNdjson } from '../../../server/api/ndjson.js';
import { BerthError } from '../../../server/core/index.js';
import { testLogger } from '../../helpers/logger.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { apiFixture, fakeContainers, token } from './fixture.js';

const lines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('the writer: 200 NDJSON, progress and lines as they come, then the result', async (t) => {
  const app = express();
  const log = testLogger(await tempDir(t));
  app.get('/', async (_req, res) => {
    await streamNdjson<{ n: number }, string, { done: boolean }>(res, log, 'a test', async (out) => {
      await out.progress({ n: 1 });
      await out.line('building');
      await out.progress({ n: 2 });
      return { done: true };
    });
  });
  const r = await request(app)
    .get('/')
    .buffer(true)
    .parse((res, cb) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => cb(null, s));
    });
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/x-ndjson');
  t.deepEqual(lines(r.body as string), [{ progress: { n: 1 } }, { line: 'building' }, { progress: { n: 2 } }, { result: { done: true } }]);
});

test('the writer: a failure after the 200 is the last line, as the error body; undefined work ends without a result', async (t) => {
  const app = express();
  const log = testLogger(await tempDir(t));
  app.get('/fails', async (_req, res) => {
    await streamNdjson<never, string, never>(res, log, 'a test', async (out) => {
      await out.line('half');
      throw new BerthError('E_IMAGE_NOT_FOUND', 'no image x:1 in the store', { details: { ref: 'x:1' } });
    });
  });
  app.get('/crashes', async (_req, res) => {
    await streamNdjson(res, log, 'a test', async () => {
      throw new Error('boom');
    });
  });
  app.get('/log', async (_req, res) => {
    await streamNdjson<never, string>(res, log, 'a test', async (out) => {
      await out.line('only line');
      return undefined;
    });
  });
  const text = async (path: string) => (await request(app).get(path)).text;
  const failed = lines(await text('/fails'));
  t.deepEqual(failed[0], { line: 'half' });
  t.like(failed[1], { error: { code: 'E_IMAGE_NOT_FOUND', message: 'no image x:1 in the store', details: { ref: 'x:1' } } });
  t.is(failed.length, 2);
  t.like(lines(await text('/crashes'))[0], { error: { code: 'E_BERTH_INTERNAL', message: 'boom' } });
  t.deepEqual(lines(await text('/log')), [{ line: 'only line' }]);
});

test('the logs route writes one {"line": LogLine} per line; a failing log ends with the error line', async (t) => {
  const logLine = { stream: 'stdout' as const, log: 'hi\n', time: '2026-01-01T00:00:00.000Z' };
  const ok = await apiFixture(t, [logLine, { ...logLine, stream: 'stderr', log: 'oops\n' }]);
  const r = await request(ok.app).get('/v1/containers/web-1/logs?tail=5&follow=false').set('authorization', `Bearer ${token}`);
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/x-ndjson');
  t.deepEqual(lines(r.text), [{ line: logLine }, { line: { ...logLine, stream: 'stderr', log: 'oops\n' } }]);
  t.deepEqual(ok.calls, [['logs', 'web-1', { follow: false, tail: 5 }]]);

  const failing = await apiFixture(t, new BerthError('E_FILE_WRITE_FAILED', 'the log is unreadable'));
  const f = await request(failing.app).get('/v1/containers/web-1/logs').set('authorization', `Bearer ${token}`);
  t.like(lines(f.text)[0], { error: { code: 'E_FILE_WRITE_FAILED' } });
  const unknown = await request(failing.app).get('/v1/containers/nosuch/logs').set('authorization', `Bearer ${token}`);
  t.is(unknown.status, 404, 'an unknown container is known before the stream starts');
  t.is(unknown.body.error.code, 'E_CONTAINER_NOT_FOUND');
});

/** Send an upgrade request to a server running only the upgrade handler; resolves with the refusal. */
async function upgrade(
  t: ExecutionContext,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: { error: { code: string; message: string } }; headers: IncomingMessage['headers'] }> {
  const server = createServer();
  const log = testLogger(await tempDir(t));
  server.on('upgrade', containerUpgradeHandler({ token, log, containers: fakeContainers([]) }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: { connection: 'Upgrade', upgrade: 'berth-stream', ...headers },
      timeout: 10_000,
    });
    req.once('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error(`${path} switched protocols`));
    });
    req.once('response', async (res) => {
      let text = '';
      for await (const chunk of res) text += String(chunk);
      resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers });
    });
    req.once('timeout', () => req.destroy(new Error('no answer')));
    req.once('error', reject);
    req.end();
  });
}

test('the stream (upgrade) handler refuses without the token, and with a wrong one, before anything else', async (t) => {
  for (const path of ['/v1/containers/web-1/attach', `/v1/containers/web-1/exec?cmd=${encodeURIComponent('["id"]')}`, '/v1/nope']) {
    const none = await upgrade(t, path, {});
    t.is(none.status, 401, path);
    t.is(none.body.error.code, 'E_API_UNAUTHORIZED');
    t.regex(String(none.headers['www-authenticate']), /Bearer realm="berth"/);
    const wrong = await upgrade(t, path, { authorization: 'Bearer nope' });
    t.is(wrong.status, 401, path);
    t.is(wrong.body.error.message, 'the API token is wrong');
  }
});

test('the stream handler with the token: unknown route 404, another protocol 400, bad exec parameters 400', async (t) => {
  const auth = { authorization: `Bearer ${token}` };
  const nope = await upgrade(t, '/v1/containers/web-1/nope', auth);
  t.is(nope.status, 404);
  t.is(nope.body.error.code, 'E_API_NOT_FOUND');
  const proto = await upgrade(t, '/v1/containers/web-1/attach', { ...auth, upgrade: 'websocket' });
  t.is(proto.status, 400);
  t.regex(proto.body.error.message, /speaks the berth-stream protocol, not "websocket"/);
  const noCmd = await upgrade(t, '/v1/containers/web-1/exec', auth);
  t.is(noCmd.status, 400);
  t.regex(noCmd.body.error.message, /exec needs \?cmd=/);
  const badTty = await upgrade(t, `/v1/containers/web-1/exec?cmd=${encodeURIComponent('["id"]')}&tty=yes`, auth);
  t.is(badTty.status, 400);
  t.regex(badTty.body.error.message, /\?tty= takes true, false, 1 or 0, not "yes"/);
  const missing = await upgrade(t, '/v1/containers/nosuch/attach', auth);
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'E_CONTAINER_NOT_FOUND');
});
