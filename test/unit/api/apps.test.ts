/**
 * /v1/apps over HTTP (supertest) on the real apps store in a temp home: create, list, info,
 * rename, destroy (its hooks run), the buildpack list, builder, deploy branch, purge-cache;
 * bad names, bad bodies and unknown apps answered with their codes.
 */
import test from 'ava';
import request from 'supertest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiFixture, token } from './fixture.js';

const auth = { authorization: `Bearer ${token}` };

async function withApp(t: Parameters<typeof apiFixture>[0], name = 'hello') {
  const f = await apiFixture(t);
  const created = await request(f.app).post('/v1/apps').set(auth).send({ name });
  t.is(created.status, 201, JSON.stringify(created.body));
  return f;
}

test('POST /v1/apps creates an app: 201 with its record and paths; GET lists and shows it', async (t) => {
  const { app, apps } = await withApp(t);
  const info = await request(app).get('/v1/apps/hello').set(auth);
  t.is(info.status, 200);
  t.is(info.body.name, 'hello');
  t.deepEqual(info.body.buildpacks, []);
  t.deepEqual(info.body.env, {});
  t.deepEqual(info.body.userns, { hostId: 0x7000_0000, size: 65_536 });
  t.deepEqual(info.body.paths, apps.paths('hello'));
  const list = await request(app).get('/v1/apps').set(auth);
  t.deepEqual(
    list.body.map((a: { name: string }) => a.name),
    ['hello'],
  );
});

test('creating a bad name is 400 E_NAME_INVALID naming the character; an existing one 409 E_APP_EXISTS', async (t) => {
  const { app } = await withApp(t);
  const bad = await request(app).post('/v1/apps').set(auth).send({ name: 'My_App' });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'E_NAME_INVALID');
  t.regex(bad.body.error.message, /invalid app name "My_App": character 'M' at position 1 is not allowed/);
  const dup = await request(app).post('/v1/apps').set(auth).send({ name: 'hello' });
  t.is(dup.status, 409);
  t.is(dup.body.error.code, 'E_APP_EXISTS');
  const body = await request(app).post('/v1/apps').set(auth).send({ nom: 'x' });
  t.is(body.status, 400);
  t.is(body.body.error.code, 'E_API_BAD_REQUEST');
  t.regex(body.body.error.message, /name: /);
});

test('an unknown app is 404 E_APP_NOT_FOUND on every app route; a bad name in the path 400', async (t) => {
  const { app } = await apiFixture(t);
  for (const [method, path, body] of [
    ['get', '/v1/apps/ghost'],
    ['delete', '/v1/apps/ghost'],
    ['post', '/v1/apps/ghost/rename', { name: 'other' }],
    ['get', '/v1/apps/ghost/buildpacks'],
    ['post', '/v1/apps/ghost/buildpacks', { buildpack: 'nodejs' }],
    ['put', '/v1/apps/ghost/builder', { selected: 'dockerfile' }],
    ['put', '/v1/apps/ghost/git', { 'deploy-branch': 'prod' }],
    ['post', '/v1/apps/ghost/purge-cache'],
  ] as const) {
    const res = await (request(app) as unknown as Record<string, (p: string) => request.Test>)[method]!(path)
      .set(auth)
      .send(body ?? {});
    t.is(res.status, 404, `${method} ${path}`);
    t.is(res.body.error.code, 'E_APP_NOT_FOUND', `${method} ${path}`);
    t.regex(res.body.error.hint, /berth apps:create ghost/);
  }
  const bad = await request(app).get('/v1/apps/..%2Fetc').set(auth);
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'E_NAME_INVALID');
});

test('DELETE /v1/apps/:app runs the destroying hooks, then removes the app', async (t) => {
  const { app, apps } = await withApp(t);
  const seen: string[] = [];
  apps.addHooks({ destroying: async (a) => void seen.push(a.name) });
  const res = await request(app).delete('/v1/apps/hello').set(auth);
  t.is(res.status, 200);
  t.deepEqual(res.body, { destroyed: 'hello' });
  t.deepEqual(seen, ['hello']);
  t.is((await request(app).get('/v1/apps/hello').set(auth)).status, 404);
  t.deepEqual(await readdir(apps.dir), []);
});

test('POST /v1/apps/:app/rename renames; to a taken name 409', async (t) => {
  const { app } = await withApp(t);
  await request(app).post('/v1/apps').set(auth).send({ name: 'taken' });
  const res = await request(app).post('/v1/apps/hello/rename').set(auth).send({ name: 'world' });
  t.is(res.status, 200);
  t.is(res.body.name, 'world');
  t.is((await request(app).get('/v1/apps/hello').set(auth)).status, 404);
  const taken = await request(app).post('/v1/apps/world/rename').set(auth).send({ name: 'taken' });
  t.is(taken.status, 409);
  t.is(taken.body.error.code, 'E_APP_EXISTS');
});

test('buildpacks: add, add --index, set, set --index, remove by value and index, clear', async (t) => {
  const { app } = await withApp(t);
  const bp = (method: 'post' | 'put', body: object) => request(app)[method]('/v1/apps/hello/buildpacks').set(auth).send(body);
  t.deepEqual((await bp('post', { buildpack: 'nodejs' })).body, { buildpacks: ['nodejs'] });
  t.deepEqual((await bp('post', { buildpack: 'https://example.com/bp.git#v2' })).body.buildpacks, ['nodejs', 'https://example.com/bp.git#v2']);
  t.deepEqual((await bp('post', { buildpack: '/opt/bp', index: 1 })).body.buildpacks, ['/opt/bp', 'nodejs', 'https://example.com/bp.git#v2']);
  t.deepEqual((await bp('put', { buildpack: 'python' })).body.buildpacks, ['python', 'nodejs', 'https://example.com/bp.git#v2'], 'set replaces the first');
  t.deepEqual(
    (await bp('put', { buildpack: 'static', index: 9 })).body.buildpacks,
    ['python', 'nodejs', 'https://example.com/bp.git#v2', 'static'],
    'past the end: appended',
  );
  const dup = await bp('post', { buildpack: 'nodejs' });
  t.is(dup.status, 400);
  t.is(dup.body.error.code, 'E_APP_SETTING_INVALID');
  t.regex(dup.body.error.message, /buildpack nodejs is already in the list, at position 2/);
  const del = (q: string) => request(app).delete(`/v1/apps/hello/buildpacks${q}`).set(auth);
  t.deepEqual((await del('?buildpack=nodejs')).body.buildpacks, ['python', 'https://example.com/bp.git#v2', 'static']);
  t.deepEqual((await del('?index=2')).body.buildpacks, ['python', 'static']);
  const missing = await del('?buildpack=ruby');
  t.is(missing.status, 400);
  t.regex(missing.body.error.message, /buildpack ruby is not in the list \(python, static\)/);
  const far = await del('?index=5');
  t.regex(far.body.error.message, /there is no buildpack at position 5: the list has 2/);
  t.is((await del('')).status, 400, 'neither a buildpack, an index nor all');
  t.is((await del('?all=true&index=1')).status, 400);
  t.deepEqual((await request(app).get('/v1/apps/hello/buildpacks').set(auth)).body, { buildpacks: ['python', 'static'] });
  t.deepEqual((await del('?all=true')).body, { buildpacks: [] });
});

test('a bad buildpack is 400 E_APP_SETTING_INVALID naming it, and nothing changes', async (t) => {
  const { app } = await withApp(t);
  for (const [buildpack, why] of [
    ['--upload-pack=touch', /it starts with "-"/],
    ['nodejs bad', /character U\+0020 is not allowed/],
    ['ftp://host/bp', /URL scheme ftp: is not one git clones/],
    ['/opt/../etc', /a path may not contain "\.\."/],
    ['Node', /neither a name/],
    ['', /it is empty/],
  ] as const) {
    const res = await request(app).post('/v1/apps/hello/buildpacks').set(auth).send({ buildpack });
    t.is(res.status, 400, buildpack);
    t.is(res.body.error.code, 'E_APP_SETTING_INVALID');
    t.regex(res.body.error.message, why);
    t.regex(res.body.error.hint, /buildpacks:set/);
  }
  const idx = await request(app).post('/v1/apps/hello/buildpacks').set(auth).send({ buildpack: 'nodejs', index: 0 });
  t.regex(idx.body.error.message, /invalid buildpack index 0: positions start at 1/);
  t.deepEqual((await request(app).get('/v1/apps/hello/buildpacks').set(auth)).body.buildpacks, []);
});

test('builder: selected dockerfile|herokuish, "" clears; anything else 400', async (t) => {
  const { app } = await withApp(t);
  const set = (body: object) => request(app).put('/v1/apps/hello/builder').set(auth).send(body);
  t.is((await set({ selected: 'dockerfile' })).body.builder, 'dockerfile');
  t.is((await set({ selected: 'herokuish' })).body.builder, 'herokuish');
  const cleared = await set({ selected: '' });
  t.is(cleared.status, 200);
  t.false('builder' in cleared.body);
  const bad = await set({ selected: 'pack' });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'E_APP_SETTING_INVALID');
  t.regex(bad.body.error.message, /invalid builder "pack": choose dockerfile or herokuish/);
  const key = await set({ chosen: 'dockerfile' });
  t.is(key.body.error.code, 'E_API_BAD_REQUEST');
});

test('git deploy-branch: set, "" clears; a name git refuses is 400', async (t) => {
  const { app } = await withApp(t);
  const set = (branch: string) => request(app).put('/v1/apps/hello/git').set(auth).send({ 'deploy-branch': branch });
  t.is((await set('release/2')).body.deployBranch, 'release/2');
  t.false('deployBranch' in (await set('')).body);
  for (const [branch, why] of [
    ['a..b', /contains "\.\."/],
    ['-x', /starts with "-"/],
    ['refs/heads/main', /without refs\/heads/],
    ['x.lock', /ends with "\.lock"/],
    ['a b', /U\+0020/],
    ['feat~1', /character '~'/],
  ] as const) {
    const res = await set(branch);
    t.is(res.status, 400, branch);
    t.is(res.body.error.code, 'E_APP_SETTING_INVALID');
    t.regex(res.body.error.message, why);
  }
});

test('POST /v1/apps/:app/purge-cache empties the cache directory', async (t) => {
  const { app, apps } = await withApp(t);
  await writeFile(join(apps.paths('hello').cache, 'node.tar'), 'x');
  const res = await request(app).post('/v1/apps/hello/purge-cache').set(auth);
  t.is(res.status, 200);
  t.deepEqual(res.body, { purged: 'hello' });
  t.deepEqual(await readdir(apps.paths('hello').cache), []);
});
