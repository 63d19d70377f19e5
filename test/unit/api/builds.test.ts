/**
 * POST /v1/build over HTTP (supertest) with a stand-in builder: the context tar extracted
 * safely (hostile entries and an oversized context refused, nothing left behind), the
 * query parameters, the streamed answer; and `image:prune`'s `?build-cache=`.
 */
import { readdir, readlink, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import request from 'supertest';
import { extractContext } from '../../../server/api/build-context.js';
import { buildOptionsOf } from '../../../server/api/builds.js';
import { BerthError } from '../../../server/core/index.js';
import { tarball, type TarEntry } from '../../helpers/tarball.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { apiFixture, token } from './fixture.js';

const auth = { authorization: `Bearer ${token}` };
const lines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('a context tar is extracted: files with their modes, directories, symlinks and hard links inside it', async (t) => {
  const dir = await tempDir(t);
  const tar = await tarball([
    { name: './', type: 'directory' },
    { name: 'Dockerfile', content: 'FROM scratch\n' },
    { name: 'bin/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
    { name: 'src/', type: 'directory', mode: 0o700 },
    { name: 'src/a.txt', content: 'a' },
    { name: 'src/link', type: 'symlink', linkname: '../bin/run.sh' },
    { name: 'src/hard', type: 'link', linkname: 'src/a.txt' },
  ]);
  const r = await extractContext(Readable.from([tar]), dir, 1 << 20);
  t.is(r.files, 3);
  t.deepEqual((await readdir(dir, { recursive: true })).sort(), ['Dockerfile', 'bin', 'bin/run.sh', 'src', 'src/a.txt', 'src/hard', 'src/link']);
  t.is((await stat(join(dir, 'bin/run.sh'))).mode & 0o777, 0o755);
  t.is((await stat(join(dir, 'src'))).mode & 0o777, 0o700);
  t.is(await readlink(join(dir, 'src/link')), '../bin/run.sh');
  t.is(await readFile(join(dir, 'src/hard'), 'utf8'), 'a');
  t.is((await stat(join(dir, 'src/hard'))).ino, (await stat(join(dir, 'src/a.txt'))).ino);
});

const hostile: [string, TarEntry[], RegExp][] = [
  ['../x', [{ name: '../x', content: 'x' }], /"\.\.\/x" has "\.\." in its path/],
  ['a/../../x', [{ name: 'a/../../x', content: 'x' }], /has "\.\." in its path/],
  ['an absolute path', [{ name: '/etc/cron.d/x', content: 'x' }], /"\/etc\/cron\.d\/x" is an absolute path/],
  ['a symlink out (absolute)', [{ name: 'etc', type: 'symlink', linkname: '/etc' }], /"etc" is a symlink to "\/etc", which leads outside/],
  ['a symlink out (..)', [{ name: 'a/up', type: 'symlink', linkname: '../../x' }], /is a symlink to "\.\.\/\.\.\/x", which leads outside/],
  [
    'a file through a symlink',
    [
      { name: 'd', type: 'symlink', linkname: 'e' },
      { name: 'd/x', content: 'x' },
    ],
    /"d\/x" lies below "d", which is not a directory/,
  ],
  ['a hard link out', [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], /has "\.\." in its path/],
  ['a hard link to nothing', [{ name: 'h', type: 'link', linkname: 'etc/passwd' }], /"h" is a hard link to "etc\/passwd", which is not a file earlier/],
  ['a character device', [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], /"null" is a character-device/],
  ['a block device', [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], /"sda" is a block-device/],
  ['a FIFO', [{ name: 'p', type: 'fifo' }], /"p" is a fifo/],
];

for (const [what, entries, message] of hostile) {
  test(`a context with ${what} is E_BUILD_CONTEXT_INVALID naming the entry, and nothing is written outside`, async (t) => {
    const parent = await tempDir(t);
    const dir = join(parent, 'ctx');
    await (await import('node:fs/promises')).mkdir(dir);
    const err = await t.throwsAsync(extractContext(Readable.from([await tarball(entries)]), dir, 1 << 20), { instanceOf: BerthError });
    t.is(err?.code, 'E_BUILD_CONTEXT_INVALID');
    t.regex(err?.message ?? '', message);
    t.deepEqual(await readdir(parent), ['ctx']);
  });
}

test('a context over the maximum is E_BUILD_CONTEXT_TOO_LARGE; one that is not a tar is E_BUILD_CONTEXT_INVALID', async (t) => {
  const dir = await tempDir(t);
  const tar = await tarball([{ name: 'big', content: Buffer.alloc(8192) }]);
  const err = await t.throwsAsync(extractContext(Readable.from([tar]), dir, 4096), { instanceOf: BerthError });
  t.is(err?.code, 'E_BUILD_CONTEXT_TOO_LARGE');
  t.regex(err?.message ?? '', /larger than 4096 bytes.*BERTH_BUILD_CONTEXT_MAX/);
  const dir2 = await tempDir(t);
  const garbage = await t.throwsAsync(extractContext(Readable.from([Buffer.alloc(1024, 'x')]), dir2, 1 << 20), { instanceOf: BerthError });
  t.is(garbage?.code, 'E_BUILD_CONTEXT_INVALID');
});

test('the build parameters: t, buildarg and label repeated, dockerfile, target, nocache; bad ones named', (t) => {
  const q = new URLSearchParams('t=a:1&t=b&dockerfile=sub/Dockerfile.dev&buildarg=V=1&buildarg=E=&buildarg=X=a=b&target=build&nocache=1&label=team=web');
  t.deepEqual(buildOptionsOf(q), {
    dockerfile: 'sub/Dockerfile.dev',
    tags: ['a:1', 'b'],
    buildArgs: { V: '1', E: '', X: 'a=b' },
    target: 'build',
    noCache: true,
    labels: { team: 'web' },
  });
  t.deepEqual(buildOptionsOf(new URLSearchParams('')), { tags: [], buildArgs: {}, noCache: false, labels: {} });
  t.throws(() => buildOptionsOf(new URLSearchParams('buildarg=V')), { message: /\?buildarg= takes KEY=VALUE, not "V"/ });
  t.throws(() => buildOptionsOf(new URLSearchParams('label==x')), { message: /\?label= takes KEY=VALUE/ });
  t.throws(() => buildOptionsOf(new URLSearchParams('nocache=yes')), { message: /\?nocache= takes true, false, 1 or 0/ });
  t.throws(() => buildOptionsOf(new URLSearchParams('target=a&target=b')), { message: /\?target= is given 2 times/ });
});

test('POST /v1/build extracts the body, streams the events with their lines, answers the image, and removes the context', async (t) => {
  const { app, calls, contextDir } = await apiFixture(t);
  const tar = await tarball([
    { name: 'Dockerfile', content: 'FROM scratch\n' },
    { name: 'app/main.txt', content: 'hi' },
  ]);
  const res = await request(app).post('/v1/build?t=hello:1&buildarg=V=2&nocache=true').set(auth).set('content-type', 'application/x-tar').send(tar);
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'application/x-ndjson');
  t.deepEqual(lines(res.text), [
    { progress: { type: 'step', step: 1, total: 1, instruction: 'FROM scratch', line: 1, text: 'Step 1/1 : FROM scratch' } },
    { progress: { type: 'built', id: 'eeeeeeeeeeee', text: 'Successfully built eeeeeeeeeeee' } },
    { result: { id: 'eeeeeeeeeeee', digest: `sha256:${'e'.repeat(64)}`, tags: ['hello:1'], steps: 1, cached: 0 } },
  ]);
  t.deepEqual(calls, [
    ['build', ['Dockerfile', 'app', 'app/main.txt'], 'FROM scratch\n', { tags: ['hello:1'], buildArgs: { V: '2' }, noCache: true, labels: {}, signal: true }],
  ]);
  t.deepEqual(await readdir(contextDir), []);
});

test('POST /v1/build: a failing build ends the stream with its error; a hostile, oversized or badly asked build is an error answer; no context is left', async (t) => {
  const failing = await apiFixture(t, [], new BerthError('E_BUILD_RUN_FAILED', 'Dockerfile:2: RUN false exited with status 1'));
  const tar = await tarball([{ name: 'Dockerfile', content: 'FROM scratch\n' }]);
  const res = await request(failing.app).post('/v1/build').set(auth).set('content-type', 'application/x-tar').send(tar);
  t.is(res.status, 200);
  const last = lines(res.text).at(-1) as { error: { code: string; message: string } };
  t.is(last.error.code, 'E_BUILD_RUN_FAILED');
  t.deepEqual(await readdir(failing.contextDir), []);

  const { app, calls, contextDir } = await apiFixture(t);
  const bad = await request(app)
    .post('/v1/build')
    .set(auth)
    .set('content-type', 'application/x-tar')
    .send(await tarball([{ name: '../escape', content: 'x' }]));
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'E_BUILD_CONTEXT_INVALID');
  const big = await request(app)
    .post('/v1/build')
    .set(auth)
    .set('content-type', 'application/x-tar')
    .send(await tarball([{ name: 'big', content: Buffer.alloc(128 * 1024) }]));
  t.is(big.status, 413);
  t.is(big.body.error.code, 'E_BUILD_CONTEXT_TOO_LARGE');
  const param = await request(app).post('/v1/build?buildarg=NOVALUE').set(auth).set('content-type', 'application/x-tar').send(tar);
  t.is(param.status, 400);
  t.regex(param.body.error.message, /buildarg= takes KEY=VALUE/);
  t.deepEqual(calls, []);
  t.deepEqual(await readdir(contextDir), []);
});

test('POST /v1/images/prune keeps the build cache as roots, and drops it with ?build-cache=true', async (t) => {
  const { app, calls } = await apiFixture(t);
  const kept = await request(app).post('/v1/images/prune').set(auth);
  t.is(kept.status, 200);
  t.is(kept.body.buildCacheEntries, 0);
  t.deepEqual(calls, [['cacheRoots']]);
  calls.length = 0;
  const dropped = await request(app).post('/v1/images/prune?build-cache=true').set(auth);
  t.is(dropped.status, 200);
  t.is(dropped.body.buildCacheEntries, 3);
  t.deepEqual(calls, [['pruneCache'], ['cacheRoots']]);
});

test('POST /v1/build: a context without a Dockerfile, or ?builder=herokuish, is a buildpack build with its ?buildpack= list', async (t) => {
  const { app, calls, contextDir } = await apiFixture(t);
  const procfileOnly = await tarball([{ name: 'Procfile', content: 'web: true\n' }]);
  const res = await request(app).post('/v1/build?t=app:1&buildpack=procfile').set(auth).set('content-type', 'application/x-tar').send(procfileOnly);
  t.is(res.status, 200);
  t.deepEqual(lines(res.text), [
    { progress: { type: 'line', line: '-----> Procfile app detected', text: '-----> Procfile app detected' } },
    { result: { id: 'ffffffffffff', digest: `sha256:${'f'.repeat(64)}`, tags: ['app:1'], steps: 1, cached: 0 } },
  ]);
  const withDockerfile = await tarball([
    { name: 'Dockerfile', content: 'FROM scratch\n' },
    { name: 'Procfile', content: 'web: true\n' },
  ]);
  t.is((await request(app).post('/v1/build?builder=herokuish').set(auth).set('content-type', 'application/x-tar').send(withDockerfile)).status, 200);
  t.is((await request(app).post('/v1/build?builder=dockerfile').set(auth).set('content-type', 'application/x-tar').send(withDockerfile)).status, 200);
  // -f names a Dockerfile elsewhere in the context: the Dockerfile builder, though the root has none.
  const elsewhere = await tarball([{ name: 'sub/Build.df', content: 'FROM scratch\n' }]);
  t.is((await request(app).post('/v1/build?dockerfile=sub/Build.df').set(auth).set('content-type', 'application/x-tar').send(elsewhere)).status, 200);
  t.deepEqual(
    calls.map((c) => c.slice(0, 2)),
    [
      ['buildpacks', ['Procfile']],
      ['buildpacks', ['Dockerfile', 'Procfile']],
      ['build', ['Dockerfile', 'Procfile']],
      ['build', ['sub', 'sub/Build.df']],
    ],
  );
  const both = await request(app)
    .post('/v1/build?dockerfile=sub/Build.df&builder=herokuish')
    .set(auth)
    .set('content-type', 'application/x-tar')
    .send(elsewhere);
  t.is(both.status, 400);
  t.regex(both.text, /names a Dockerfile, which the herokuish builder does not read/);
  t.deepEqual(calls[0]?.[2], { tags: ['app:1'], buildpacks: ['procfile'], signal: true });
  const bad = await request(app).post('/v1/build?builder=heroku').set(auth).set('content-type', 'application/x-tar').send(procfileOnly);
  t.is(bad.status, 400);
  t.regex(bad.text, /\?builder= takes dockerfile or herokuish, not \\"heroku\\"/);
  t.deepEqual(await readdir(contextDir), []);
});
