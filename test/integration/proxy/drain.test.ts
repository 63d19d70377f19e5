/**
 * ProxyRouter.drain (what release/ waits on before retiring old containers): after a switch,
 * it resolves once nginx's old workers have finished the requests they had, so a slow request
 * in flight to the old upstream completes first; a bound shorter than that request says
 * false. Real nginx on a random port, backends on loopback.
 */
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyRouter } from '../../../server/proxy/index.js';
import { startBackend } from '../../helpers/http-backend.js';
import { httpGet } from '../../helpers/http.js';
import { testLogger } from '../../helpers/logger.js';
import { startTestNginx } from '../../helpers/start-nginx.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';

test('drain() waits for the requests the old workers had; a shorter bound says false', async (t) => {
  const nginx = await startTestNginx(t);
  const router = await ProxyRouter.open({ nginx, log: testLogger(await tempDir(t, 'berth-drain-log-')) });
  const app = uniqueName('app');
  const host = `${app}.localhost`;
  let arrived!: () => void;
  let answeredAt = Infinity;
  /** The slow backend answers when the test says so: the request is surely in flight until then. */
  let answer = (): void => undefined;
  const inFlight = new Promise<void>((resolve) => (arrived = resolve));
  const slow = createServer((_req, res) => {
    arrived();
    answer = () => {
      answeredAt = Date.now();
      res.end('slow v1\n');
    };
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (slow.closeAllConnections(), slow.close(() => resolve()))));
  const v2 = await startBackend(t, 'v2\n');
  await router.apply({ app, domains: [host], upstreams: [{ address: '127.0.0.1', port: (slow.address() as AddressInfo).port }] });

  const request = httpGet(`http://127.0.0.1:${nginx.port}/`, { Host: host, Connection: 'close' }, 10_000);
  await inFlight;
  await router.apply({ app, domains: [host], upstreams: [{ address: '127.0.0.1', port: v2.port }] });
  t.is((await httpGet(`http://127.0.0.1:${nginx.port}/`, { Host: host, Connection: 'close' })).body, 'v2\n', 'new requests go to v2 at once');
  t.false(await router.drain(100), 'the old worker still has the slow request');
  setTimeout(() => answer(), 300);
  t.true(await router.drain(10_000));
  const drainedAt = Date.now();
  const slowAnswer = await request;
  t.is(slowAnswer.status, 200);
  t.is(slowAnswer.body, 'slow v1\n', 'the request in flight finished on the old upstream');
  t.true(drainedAt >= answeredAt, 'drain resolved only after the slow request was answered');
  t.true(await router.drain(0), 'nothing left to wait for');
});
