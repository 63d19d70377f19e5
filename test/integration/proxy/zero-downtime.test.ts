/**
 * Zero downtime through the router: a bounded request loop (50 a second, at most 1,500
 * requests, loopback only, a fresh connection each) runs while the app's upstream is switched
 * from backend v1 to backend v2. No request fails, and the answers switch from v1 to v2
 * exactly once: after apply() resolves, no request reaches v1 again.
 */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProxyRouter } from '../../../server/proxy/index.js';
import { startTestNginx } from '../../helpers/start-nginx.js';
import { startBackend } from '../../helpers/http-backend.js';
import { httpGet } from '../../helpers/http.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';
import { testLogger } from '../../helpers/logger.js';

const RATE_PER_SECOND = 50;
const MAX_REQUESTS = 1500;

interface Sample {
  at: number;
  answer: string;
}

test('switching the upstream from v1 to v2 under a 50 req/s loop: 0 failed requests, one switch, no flapping back', async (t) => {
  const nginx = await startTestNginx(t);
  const router = await ProxyRouter.open({ nginx, log: testLogger(await tempDir(t, 'berth-router-log-')) });
  const app = uniqueName('app');
  const host = `${app}.localhost`;
  const [v1, v2] = [await startBackend(t, 'v1\n'), await startBackend(t, 'v2\n')];
  await router.apply({ app, domains: [host], upstreams: [{ address: '127.0.0.1', port: v1.port }] });

  const samples: Sample[] = [];
  let switchedAt = Infinity;
  let stop = false;
  const loop = (async () => {
    const start = Date.now();
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      const at = Date.now();
      const answer = await httpGet(`http://127.0.0.1:${nginx.port}/`, { Host: host, Connection: 'close' }, 3000).then(
        (a) => (a.status === 200 ? a.body.trim() : `HTTP ${a.status}`),
        (err: unknown) => `error: ${String(err)}`,
      );
      samples.push({ at, answer });
      // Stop by itself one second after the switch.
      if (at > switchedAt + 1000) break;
      await sleep(Math.max(0, start + ((i + 1) * 1000) / RATE_PER_SECOND - Date.now()));
    }
  })();
  t.teardown(() => {
    stop = true;
  });

  await sleep(1000);
  await router.apply({ app, domains: [host], upstreams: [{ address: '127.0.0.1', port: v2.port }] });
  switchedAt = Date.now();
  await loop;

  const failed = samples.filter((s) => s.answer !== 'v1' && s.answer !== 'v2');
  t.deepEqual(failed, [], 'no request failed');
  const answers = samples.map((s) => s.answer);
  const switches = answers.filter((a, i) => i > 0 && a !== answers[i - 1]).length;
  t.is(answers[0], 'v1');
  t.is(answers.at(-1), 'v2');
  t.is(switches, 1, `answers switched ${switches} times: ${answers.join(' ')}`);
  t.deepEqual(
    samples.filter((s) => s.at >= switchedAt && s.answer === 'v1'),
    [],
    'after apply() resolved, v1 got no new request',
  );
  t.true(samples.filter((s) => s.at > switchedAt).length >= 20, 'the loop ran on after the switch');
  t.true(samples.length <= MAX_REQUESTS);
  t.log(`${samples.length} requests, ${answers.indexOf('v2')} answered by v1`);
});
