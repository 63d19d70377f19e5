/**
 * The proxy router against a real nginx and real HTTP backends on loopback: routing by Host,
 * the headers the app gets, the 503 of an app without containers, the default 404, a refused
 * candidate that leaves the other app's change and its own last good config in place, domain
 * ownership, removal, and a router reopened on the same prefix.
 */
import test, { type ExecutionContext } from 'ava';
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../../server/core/index.js';
import { ProxyRouter } from '../../../server/proxy/index.js';
import { routerPaths } from '../../../server/proxy/router.js';
import { startTestNginx, type TestNginx } from '../../helpers/start-nginx.js';
import { startBackend, startEchoBackend } from '../../helpers/http-backend.js';
import { httpGet, waitFor, type HttpAnswer } from '../../helpers/http.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';
import { testLogger } from '../../helpers/logger.js';

const get = (nginx: TestNginx, host: string, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
  httpGet(`http://127.0.0.1:${nginx.port}/some/path?q=1`, { Host: host, Connection: 'close', ...headers }, 3000);

async function routerOn(t: ExecutionContext): Promise<{ nginx: TestNginx; router: ProxyRouter }> {
  const nginx = await startTestNginx(t);
  const router = await ProxyRouter.open({ nginx, log: testLogger(await tempDir(t, 'berth-router-log-')) });
  return { nginx, router };
}

const app = () => uniqueName('app');
const local = (port: number) => [{ address: '127.0.0.1', port }];

async function rejection(t: ExecutionContext, promise: Promise<unknown>): Promise<BerthError> {
  const err = await t.throwsAsync(promise);
  if (!(err instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(err)}`);
  return err;
}

test('two apps are routed by Host, each to its own backend; an unknown host gets the default 404', async (t) => {
  const { nginx, router } = await routerOn(t);
  const [a, b] = [app(), app()];
  const [ba, bb] = [await startBackend(t, `this is ${a}\n`), await startBackend(t, `this is ${b}\n`)];
  await router.apply({ app: a, domains: [`${a}.localhost`], upstreams: local(ba.port) });
  await router.apply({ app: b, domains: [`${b}.localhost`, `www.${b}.example.com`], upstreams: local(bb.port) });

  // reload() resolved after nginx replaced its workers: the first request already sees the change.
  for (let i = 0; i < 3; i++) {
    t.is((await get(nginx, `${a}.localhost`)).body, ba.body);
    t.is((await get(nginx, `${b}.localhost`)).body, bb.body);
    t.is((await get(nginx, `www.${b}.example.com`)).body, bb.body);
    t.is((await get(nginx, `${b}.localhost:${nginx.port}`)).body, bb.body, 'a Host with the port is the same host');
  }
  const unknown = await get(nginx, 'nobody.localhost');
  t.is(unknown.status, 404);
  t.is(unknown.headers['x-berth-default-server'], '1');
  t.deepEqual(router.apps(), [a, b].sort());
});

test('the app gets X-Forwarded-For/-Proto/-Port and X-Request-Id, which comes back to the client and into the access log', async (t) => {
  const { nginx, router } = await routerOn(t);
  const name = app();
  const echo = await startEchoBackend(t, name);
  await router.apply({ app: name, domains: [`${name}.localhost`], upstreams: local(echo.port) });

  const answer = await get(nginx, `${name}.localhost`, { 'X-Forwarded-For': '203.0.113.7' });
  t.is(answer.status, 200);
  const seen = echo.requests.at(-1)?.headers ?? {};
  t.is(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1', 'nginx appends the peer it saw');
  t.is(seen['x-forwarded-proto'], 'http');
  t.is(seen['x-forwarded-port'], String(nginx.port));
  t.is(seen['x-real-ip'], '127.0.0.1');
  t.is(seen.host, `${name}.localhost`);
  t.is(echo.requests.at(-1)?.url, '/some/path?q=1');
  const id = seen['x-request-id'];
  t.regex(String(id), /^[0-9a-f]{32}$/, "nginx's $request_id");
  t.is(answer.headers['x-request-id'], id, 'the same id comes back to the client, once');

  // A client's own id that looks like one is kept (as Heroku does); a hostile one is replaced.
  const mine = 'client-trace-0123456789abcdef';
  const kept = await get(nginx, `${name}.localhost`, { 'X-Request-Id': mine });
  t.is(echo.requests.at(-1)?.headers['x-request-id'], mine);
  t.is(kept.headers['x-request-id'], mine);
  await get(nginx, `${name}.localhost`, { 'X-Request-Id': 'short;"evil"' });
  t.regex(String(echo.requests.at(-1)?.headers['x-request-id']), /^[0-9a-f]{32}$/);

  // The access log records the app and the request id of each request.
  const line = await waitFor(
    'the access log line of the kept id',
    async () => (await readFile(nginx.paths.accessLog, 'utf8')).split('\n').find((l) => l.includes(`request_id=${mine}`)),
    5000,
  );
  t.true(line.includes(` app=${name} `), line);
  t.true(line.includes(`upstream=127.0.0.1:${echo.port}`), line);
  const unknown = await get(nginx, 'nobody.localhost');
  t.is(unknown.status, 404);
  const line404 = await waitFor(
    'the access log line of the 404',
    async () => (await readFile(nginx.paths.accessLog, 'utf8')).split('\n').find((l) => l.includes('GET /some/path?q=1') && l.includes(' 404 ')),
    5000,
  );
  t.true(line404.includes(' app=- '), line404);
});

test('an app without web containers answers 503 with a clear body, not 502; adding one serves it', async (t) => {
  const { nginx, router } = await routerOn(t);
  const name = app();
  await router.apply({ app: name, domains: [`${name}.localhost`], upstreams: [] });
  const answer = await get(nginx, `${name}.localhost`);
  t.is(answer.status, 503);
  t.is(answer.body, `503: app ${name} has no running web process\n`);
  t.is(answer.headers['retry-after'], '5');
  t.regex(String(answer.headers['x-request-id']), /^[0-9a-f]{32}$/);

  const backend = await startBackend(t, 'up now\n');
  await router.apply({ app: name, domains: [`${name}.localhost`], upstreams: local(backend.port) });
  t.is((await get(nginx, `${name}.localhost`)).body, 'up now\n');
});

test("a candidate nginx refuses is not applied: the other app's change goes through, the refused app keeps its last good config", async (t) => {
  const { nginx, router } = await routerOn(t);
  const [a, b] = [app(), app()];
  const [a1, a2, a3, b1] = [await startBackend(t, 'a v1\n'), await startBackend(t, 'a v2\n'), await startBackend(t, 'a v3\n'), await startBackend(t, 'b v1\n')];
  await router.apply({ app: a, domains: [`${a}.localhost`], upstreams: local(a1.port) });

  // One batch: a moves to v2, b's first config has a snippet nginx refuses (gzip takes on|off).
  const outcome = await router.applyAll([
    { app: a, domains: [`${a}.localhost`], upstreams: local(a2.port) },
    { app: b, domains: [`${b}.localhost`], upstreams: local(b1.port), options: { snippet: 'gzip maybe;\n' } },
  ]);
  t.deepEqual(outcome.applied, [a]);
  t.deepEqual(
    outcome.rejected.map((r) => [r.app, r.error.code]),
    [[b, 'E_NGINX_CONFIG_REJECTED']],
  );
  const why = outcome.rejected[0]?.error.message ?? '';
  t.true(why.includes('invalid value "maybe"'), why);
  t.true(why.includes(`app-${b}.snippet:1`), why);
  t.is((await get(nginx, `${a}.localhost`)).body, 'a v2\n');
  t.is((await get(nginx, `${b}.localhost`)).status, 404, 'b has no config: its host is unknown');
  const paths = routerPaths(nginx.prefix);
  t.is(await readFile(join(paths.rejected, `app-${b}.snippet`), 'utf8'), 'gzip maybe;\n');
  t.true((await readFile(join(paths.rejected, `app-${b}.error`), 'utf8')).includes('invalid value "maybe"'));
  t.false((await readdir(nginx.paths.sites)).includes(`app-${b}.conf`));

  // b's good config goes live (and clears its refusal); then a bad one is refused alone.
  await router.apply({ app: b, domains: [`${b}.localhost`], upstreams: local(b1.port), options: { snippet: 'gzip on;\n' } });
  t.false((await readdir(paths.rejected)).some((n) => n.includes(b)));
  const good = await readFile(join(nginx.paths.sites, `app-${b}.conf`), 'utf8');
  const err = await rejection(t, router.apply({ app: b, domains: [`${b}.localhost`], upstreams: [], options: { snippet: 'gzip_comp_level 99;\n' } }));
  t.is(err.code, 'E_NGINX_CONFIG_REJECTED');
  t.true(err.message.includes('keeps serving its last good config'), err.message);
  t.is(await readFile(join(nginx.paths.sites, `app-${b}.conf`), 'utf8'), good, 'the live file is the last good one');
  t.is(await readFile(join(nginx.paths.sites, `app-${b}.snippet`), 'utf8'), 'gzip on;\n');
  t.is((await get(nginx, `${b}.localhost`)).body, 'b v1\n');

  // b's refusal does not stand in a's way.
  await router.apply({ app: a, domains: [`${a}.localhost`], upstreams: local(a3.port) });
  t.is((await get(nginx, `${a}.localhost`)).body, 'a v3\n');
  t.is((await get(nginx, `${b}.localhost`)).body, 'b v1\n');
  t.is(
    await readFile(join(paths.previous, `app-${a}.conf`), 'utf8').then((s) => s.includes(`127.0.0.1:${a2.port}`)),
    true,
    'previous/ keeps the replaced file',
  );
  t.deepEqual(await readdir(paths.candidates), [], 'no candidate is left behind');
});

test('a foreign file in conf.d that nginx refuses blocks changes, and the error names it', async (t) => {
  const { nginx, router } = await routerOn(t);
  const name = app();
  const backend = await startBackend(t, 'ok\n');
  await router.apply({ app: name, domains: [`${name}.localhost`], upstreams: local(backend.port) });
  await writeFile(join(nginx.paths.sites, 'hand-made.conf'), 'berth_no_such_directive on;\n');
  const err = await rejection(t, router.apply({ app: name, domains: [`${name}.localhost`], upstreams: [] }));
  t.is(err.code, 'E_NGINX_CONFIG_REJECTED');
  t.true(err.message.includes('unknown directive "berth_no_such_directive"') && err.message.includes('hand-made.conf:1'), err.message);
  t.is((await get(nginx, `${name}.localhost`)).body, 'ok\n');
});

test('a domain another app serves is refused with E_PROXY_DOMAIN_TAKEN; invalid routes never reach nginx', async (t) => {
  const { nginx, router } = await routerOn(t);
  const [a, b] = [app(), app()];
  const backend = await startBackend(t, 'a\n');
  await router.apply({ app: a, domains: [`${a}.localhost`, 'shared.example.com'], upstreams: local(backend.port) });
  const before = await readdir(nginx.paths.sites);

  const taken = await rejection(t, router.apply({ app: b, domains: [`${b}.localhost`, 'shared.example.com'], upstreams: [] }));
  t.is(taken.code, 'E_PROXY_DOMAIN_TAKEN');
  t.true(taken.message.includes(`shared.example.com is already served by app ${a}`), taken.message);
  const bad = await rejection(t, router.apply({ app: b, domains: ['x.localhost;'], upstreams: [] }));
  t.is(bad.code, 'E_PROXY_DOMAIN_INVALID');
  t.deepEqual(await readdir(nginx.paths.sites), before);
  t.is((await get(nginx, 'shared.example.com')).body, 'a\n');
  // The app itself may keep or move its own domains.
  await router.apply({ app: a, domains: ['shared.example.com'], upstreams: local(backend.port) });
  await router.apply({ app: b, domains: [`${a}.localhost`], upstreams: [] });
  t.is((await get(nginx, `${a}.localhost`)).status, 503);
});

test('remove() takes an app off nginx: its hosts get the default 404 and its files are gone', async (t) => {
  const { nginx, router } = await routerOn(t);
  const name = app();
  const backend = await startBackend(t, 'bye\n');
  await router.apply({ app: name, domains: [`${name}.localhost`], upstreams: local(backend.port), options: { snippet: 'gzip on;\n' } });
  t.is((await get(nginx, `${name}.localhost`)).body, 'bye\n');
  await router.remove(name);
  const answer = await get(nginx, `${name}.localhost`);
  t.is(answer.status, 404);
  t.is(answer.headers['x-berth-default-server'], '1');
  t.deepEqual(
    (await readdir(nginx.paths.sites)).filter((n) => n.includes(name)),
    [],
  );
  t.deepEqual(
    (await readdir(join(nginx.prefix, 'previous'))).filter((n) => n.includes(name)),
    [],
    'no last good copy outlives the app',
  );
  t.deepEqual(router.apps(), []);
  await router.remove(name); // again: nothing to do
});

test('a router reopened on the same prefix knows the live routes and clears candidates a crash left', async (t) => {
  const { nginx, router } = await routerOn(t);
  const [a, b] = [app(), app()];
  const backend = await startBackend(t, 'a\n');
  await router.apply({ app: a, domains: [`${a}.localhost`], upstreams: local(backend.port) });
  const stale = join(routerPaths(nginx.prefix).candidates, 'left-by-a-crash');
  await mkdir(join(stale, 'conf.d'), { recursive: true });

  const again = await ProxyRouter.open({ nginx, log: testLogger(await tempDir(t, 'berth-router-log-')) });
  t.deepEqual(again.apps(), [a]);
  t.deepEqual(await readdir(routerPaths(nginx.prefix).candidates), []);
  const taken = await rejection(t, again.apply({ app: b, domains: [`${a}.localhost`], upstreams: [] }));
  t.is(taken.code, 'E_PROXY_DOMAIN_TAKEN');
  // Applying the same route again changes nothing and needs no reload.
  const pid = nginx.supervisor.pid;
  const outcome = await again.applyAll([{ app: a, domains: [`${a}.localhost`], upstreams: local(backend.port) }]);
  t.deepEqual(outcome, { applied: [a], rejected: [] });
  t.is(nginx.supervisor.pid, pid);
});

test('a 253-character domain and 100 domains on one app pass nginx -t and are served', async (t) => {
  const { nginx, router } = await routerOn(t);
  const name = app();
  const backend = await startBackend(t, 'long\n');
  const label = 'a'.repeat(63);
  const long = `${label}.${label}.${label}.${'b'.repeat(51)}.localhost`;
  t.is(long.length, 253);
  const many = Array.from({ length: 99 }, (_, i) => `d${i}.${name}.localhost`);
  await router.apply({ app: name, domains: [long, ...many], upstreams: local(backend.port) });
  t.is((await get(nginx, long)).body, 'long\n');
  t.is((await get(nginx, `d98.${name}.localhost`)).body, 'long\n');
});

test('changes made at once are serialised: five apps applied concurrently are all served', async (t) => {
  const { nginx, router } = await routerOn(t);
  const names = Array.from({ length: 5 }, () => app());
  const backends = await Promise.all(names.map((n) => startBackend(t, `${n}\n`)));
  await Promise.all(names.map((n, i) => router.apply({ app: n, domains: [`${n}.localhost`], upstreams: local(backends[i]?.port ?? 0) })));
  for (const n of names) t.is((await get(nginx, `${n}.localhost`)).body, `${n}\n`);
  t.deepEqual(router.apps(), [...names].sort());
  t.deepEqual(await readdir(routerPaths(nginx.prefix).candidates), []);
});
