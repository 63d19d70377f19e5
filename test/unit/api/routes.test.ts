/**
 * The API's routers over HTTP (supertest): the token on every route, found by walking
 * express's router stack so that a new route is covered the day it is added; unknown
 * routes; bad bodies and flags.
 */
import test from 'ava';
import request from 'supertest';
import { apiFixture, registeredRoutes, token, view } from './fixture.js';

const send = (app: Parameters<typeof request>[0], method: string, path: string) =>
  (request(app) as unknown as Record<string, (path: string) => request.Test>)[method.toLowerCase()]!(path);

/** A path to call for a route: parameters filled in. */
const concrete = (path: string): string => path.replace(/:ref\b/g, view.name);

test('every registered route answers 401 E_API_UNAUTHORIZED without a token and with a wrong one', async (t) => {
  const { app, calls } = await apiFixture(t);
  const routes = registeredRoutes(app);
  // The walk must see the routers, or this test would pass on nothing.
  for (const known of [
    ['GET', '/v1/status'],
    ['POST', '/v1/images/pull'],
    ['DELETE', '/v1/containers/:ref'],
    ['GET', '/v1/containers/:ref/logs'],
    ['POST', '/v1/containers/:ref/exec'],
  ]) {
    t.true(
      routes.some(([m, p]) => m === known[0] && p === known[1]),
      `the walk finds ${known.join(' ')}`,
    );
  }
  t.true(routes.length >= 23, `${routes.length} routes found`);
  for (const [method, path] of routes) {
    const none = await send(app, method, concrete(path));
    t.is(none.status, 401, `${method} ${path} without a token`);
    t.is(none.body.error?.code, 'E_API_UNAUTHORIZED', `${method} ${path}`);
    t.regex(none.body.error?.message ?? '', /carries no API token/);
    t.regex(String(none.headers['www-authenticate']), /Bearer realm="berth"/);
    const wrong = await send(app, method, concrete(path)).set('authorization', `Bearer ${'b'.repeat(64)}`);
    t.is(wrong.status, 401, `${method} ${path} with a wrong token`);
    t.is(wrong.body.error?.code, 'E_API_UNAUTHORIZED');
    t.regex(wrong.body.error?.message ?? '', /token is wrong/);
    const basic = await send(app, method, concrete(path)).auth('berth', 'not-the-token');
    t.is(basic.status, 401, `${method} ${path} with a wrong Basic password`);
  }
  t.deepEqual(calls, [], 'no handler ran for an unauthenticated request');
});

test('the token as Bearer or as the Basic password (what git sends) is let through', async (t) => {
  const { app } = await apiFixture(t);
  t.is((await request(app).get('/v1/status').set('authorization', `Bearer ${token}`)).status, 200);
  t.is((await request(app).get('/v1/status').auth('anyone', token)).status, 200);
});

test('an unknown route is 404 E_API_NOT_FOUND, naming it (after the token check)', async (t) => {
  const { app } = await apiFixture(t);
  for (const [method, path] of [
    ['GET', '/v1/nope'],
    ['POST', '/v1/status'],
    ['GET', '/'],
    ['PUT', '/v1/containers/web-1'],
  ] as const) {
    const r = await send(app, method, path).set('authorization', `Bearer ${token}`);
    t.is(r.status, 404, `${method} ${path}`);
    t.is(r.body.error.code, 'E_API_NOT_FOUND');
    t.is(r.body.error.message, `no route for ${method} ${path}`);
    t.is((await send(app, method, path)).status, 401, 'unknown routes need the token too');
  }
});

test('flags are strict: true, false, 1 or 0; anything else is 400 naming the flag', async (t) => {
  const { app, calls } = await apiFixture(t);
  const auth = (r: request.Test) => r.set('authorization', `Bearer ${token}`);
  await auth(request(app).get('/v1/containers?all=1'));
  await auth(request(app).get('/v1/containers?all=false'));
  await auth(request(app).get('/v1/containers'));
  await auth(request(app).get('/v1/containers?label=berth.app%3Dhello&label=tier'));
  await auth(request(app).delete('/v1/containers/web-1?force=true'));
  t.deepEqual(calls, [
    ['list', { all: true, labels: [] }],
    ['list', { all: false, labels: [] }],
    ['list', { all: false, labels: [] }],
    ['list', { all: false, labels: ['berth.app=hello', 'tier'] }],
    ['remove', 'web-1', true],
  ]);
  for (const [path, flag] of [
    ['GET /v1/containers?all=yes', 'all'],
    ['GET /v1/containers?all=', 'all'],
    ['GET /v1/containers?all=true&all=false', 'all'],
    ['DELETE /v1/containers/web-1?force=TRUE', 'force'],
    ['DELETE /v1/images?ref=busybox&force=yes', 'force'],
    ['GET /v1/containers/web-1/logs?follow=2', 'follow'],
    ['GET /v1/containers/web-1/logs?timestamps=on', 'timestamps'],
  ] as const) {
    const [method, url] = path.split(' ') as [string, string];
    const r = await auth(send(app, method, url));
    t.is(r.status, 400, path);
    t.is(r.body.error.code, 'E_API_BAD_REQUEST', path);
    t.regex(r.body.error.message, new RegExp(`\\?${flag}=`), path);
  }
  for (const path of ['/v1/containers/web-1/stop?timeout=soon', '/v1/containers/web-1/stop?timeout=-1']) {
    const r = await auth(request(app).post(path));
    t.is(r.status, 400, path);
    t.regex(r.body.error.message, /\?timeout= takes a number/);
  }
  t.is(calls.length, 5, 'no handler went on with a bad flag');
});

test('bad bodies are 400 E_API_BAD_REQUEST naming what is wrong', async (t) => {
  const { app, calls } = await apiFixture(t);
  const post = (path: string, body: unknown) =>
    request(app)
      .post(path)
      .set('authorization', `Bearer ${token}`)
      .send(body as object);
  for (const [path, body, words] of [
    ['/v1/containers', {}, /POST \/v1\/containers takes: image: /],
    ['/v1/containers', { image: 'busybox', cmd: 'sh' }, /cmd: /],
    ['/v1/containers', { image: 'busybox', nosuch: 1 }, /nosuch/],
    ['/v1/images/tag', { source: 'a' }, /target: /],
    ['/v1/images/pull', { reference: '' }, /reference: /],
    ['/v1/images/base', { name: 'alpine' }, /name: /],
    ['/v1/containers/web-1/commit', { changes: { volumes: [] } }, /volumes/],
  ] as const) {
    const r = await post(path, body);
    t.is(r.status, 400, `${path} ${JSON.stringify(body)}`);
    t.is(r.body.error.code, 'E_API_BAD_REQUEST');
    t.regex(r.body.error.message, words);
  }
  const notJson = await request(app).post('/v1/containers').set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send('{"image":');
  t.is(notJson.status, 400);
  t.regex(notJson.body.error.message, /not valid JSON/);
  t.deepEqual(calls, []);
});

test('query values the routes need: ?ref= for images, ?cmd= for exec, the stream routes without an upgrade', async (t) => {
  const { app } = await apiFixture(t);
  const auth = (r: request.Test) => r.set('authorization', `Bearer ${token}`);
  const noRef = await auth(request(app).get('/v1/images/inspect'));
  t.is(noRef.status, 400);
  t.is(noRef.body.error.message, 'GET /v1/images/inspect needs ?ref=<image reference>');
  t.is((await auth(request(app).get('/v1/images/inspect?ref='))).status, 400, 'an empty ref is no ref');
  const missing = await auth(request(app).get('/v1/images/inspect?ref=nosuch:1'));
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'E_IMAGE_NOT_FOUND');
  const exportNone = await auth(request(app).get('/v1/images/export'));
  t.is(exportNone.status, 400);
  t.regex(exportNone.body.error.message, /needs \?ref=/);
  const format = await auth(request(app).get('/v1/images/export?ref=a&format=zip'));
  t.is(format.status, 400);
  t.regex(format.body.error.message, /format "zip" is not oci-archive or docker-archive/);
  for (const what of ['attach', 'exec']) {
    const r = await auth(request(app).post(`/v1/containers/web-1/${what}`));
    t.is(r.status, 400);
    t.regex(r.body.error.message, /is a stream: send it with `Connection: Upgrade`/);
  }
});

test('what the routes answer: status, a container, a removal', async (t) => {
  const { app } = await apiFixture(t);
  const auth = (r: request.Test) => r.set('authorization', `Bearer ${token}`);
  const status = await auth(request(app).get('/v1/status'));
  t.is(status.body.redis.healthy, true);
  t.is((await auth(request(app).get('/v1/containers/web-1'))).body.id, view.id);
  t.deepEqual((await auth(request(app).delete('/v1/containers/web-1'))).body, { removed: view.id });
  const created = await auth(request(app).post('/v1/containers').send({ image: 'busybox' }));
  t.is(created.status, 201);
  const gone = await auth(request(app).get('/v1/containers/nosuch'));
  t.is(gone.status, 404);
  t.is(gone.body.error.code, 'E_CONTAINER_NOT_FOUND');
});
