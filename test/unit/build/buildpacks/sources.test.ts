import test from 'ava';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appJsonBuildpacks, bundledBuildpacks, chooseList, fetchBuildpack } from '../../../../server/build/buildpacks/sources.js';
import { selectBuilder } from '../../../../server/build/buildpacks/select.js';
import { tempDir } from '../../../helpers/temp-dir.js';

async function files(dir: string, map: Record<string, string>): Promise<string> {
  for (const [name, text] of Object.entries(map)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

test('the list: the app setting, then .buildpacks, BUILDPACK_URL, app.json, else detection', async (t) => {
  const dir = await files(await tempDir(t), {
    '.buildpacks': '# comment\nhttps://example.invalid/a.git\n\n/opt/b\n',
    'app.json': JSON.stringify({ buildpacks: [{ url: 'nodejs' }] }),
  });
  const env = { BUILDPACK_URL: ' https://example.invalid/u.git#v1 ' };
  t.deepEqual(await chooseList(dir, { buildpacks: ['python'], env }), { list: ['python'], from: 'app' });
  t.deepEqual(await chooseList(dir, { buildpacks: [], env }), { list: ['https://example.invalid/a.git', '/opt/b'], from: '.buildpacks' });
  const noFile = await files(await tempDir(t), { 'app.json': JSON.stringify({ buildpacks: [{ url: 'heroku/nodejs' }] }) });
  t.deepEqual(await chooseList(noFile, { env }), { list: ['https://example.invalid/u.git#v1'], from: 'BUILDPACK_URL' });
  t.deepEqual(await chooseList(noFile, {}), { list: ['heroku/nodejs'], from: 'app.json' });
  t.deepEqual(await chooseList(await tempDir(t), {}), { list: [], from: 'detection' });
});

test('a .buildpacks symlink in the source is not followed', async (t) => {
  const outside = await files(await tempDir(t), { list: '/etc\n' });
  const dir = await tempDir(t);
  await symlink(join(outside, 'list'), join(dir, '.buildpacks'));
  t.deepEqual(await chooseList(dir, {}), { list: [], from: 'detection' });
});

test('app.json buildpacks: Heroku format, errors name what is wrong', (t) => {
  t.deepEqual(appJsonBuildpacks('{"name":"x"}'), []);
  t.deepEqual(appJsonBuildpacks('{"buildpacks":[{"url":"a"},{"url":" b "}]}'), ['a', 'b']);
  for (const [text, what] of [
    ['{', /app\.json is not JSON/],
    ['[]', /not a JSON object/],
    ['{"buildpacks":"a"}', /must be a list/],
    ['{"buildpacks":[{"url":"a"},"b"]}', /buildpacks\[1\] must be \{"url": "…"\}/],
  ] as const) {
    const e = t.throws(() => appJsonBuildpacks(text)) as Error & { code: string };
    t.is(e.code, 'E_BUILD_APP_JSON_INVALID');
    t.regex(e.message, what);
  }
});

test('bundled buildpacks: the present ones in the fixed order; names and heroku/ names resolve; unknown ones are refused', async (t) => {
  const root = await tempDir(t);
  for (const name of ['procfile', 'static', 'extra']) {
    await files(root, { [`${name}/bin/detect`]: '#!/bin/sh\n', [`${name}/bin/compile`]: '#!/bin/sh\n' });
    await chmod(join(root, name, 'bin/detect'), 0o755);
    await chmod(join(root, name, 'bin/compile'), 0o755);
  }
  t.deepEqual(
    (await bundledBuildpacks(root)).map((b) => b.name),
    ['static', 'procfile'],
  );
  const scratch = await tempDir(t);
  t.is((await fetchBuildpack('heroku/static', join(scratch, 'c0'), root)).dir, join(root, 'static'));
  t.is((await fetchBuildpack('extra', join(scratch, 'c1'), root)).name, 'extra');
  const e = (await t.throwsAsync(fetchBuildpack('ruby', join(scratch, 'c2'), root))) as Error & { code: string };
  t.is(e.code, 'E_BUILD_BUILDPACK_UNAVAILABLE');
  t.regex(e.message, /^buildpack ruby: no bundled buildpack of that name \(bundled: static, procfile\)/);
});

test('a bundled buildpack whose bin/compile is not executable is an error naming it, not skipped', async (t) => {
  const root = await tempDir(t);
  for (const name of ['nodejs', 'procfile']) {
    await files(root, { [`${name}/bin/detect`]: '#!/bin/sh\n', [`${name}/bin/compile`]: '#!/bin/sh\n' });
    await chmod(join(root, name, 'bin/detect'), 0o755);
  }
  await chmod(join(root, 'procfile', 'bin/compile'), 0o755);
  for (const attempt of [() => bundledBuildpacks(root), async () => fetchBuildpack('heroku/nodejs', join(await tempDir(t), 'c'), root)]) {
    const e = (await t.throwsAsync(attempt())) as Error & { code: string; details: Record<string, unknown> };
    t.is(e.code, 'E_BUILD_BUILDPACK_UNAVAILABLE');
    t.regex(
      e.message,
      /^buildpack (heroku\/)?nodejs: the bundled buildpack in .*\/nodejs is broken: it has no executable bin\/compile \(the file is there, mode 0644: make it executable with chmod \+x\)$/,
    );
  }
  await chmod(join(root, 'nodejs', 'bin/compile'), 0o755);
  t.deepEqual(
    (await bundledBuildpacks(root)).map((b) => b.name),
    ['nodejs', 'procfile'],
  );
});

test('local paths must be buildpacks; URLs must be git URLs; a clone that fails names the URL', async (t) => {
  const scratch = await tempDir(t);
  const notBp = await files(await tempDir(t), { 'bin/detect': '' });
  for (const [given, what] of [
    [notBp, /is not a buildpack: it has no executable bin\/detect/],
    ['/nonexistent/bp', /cannot read the directory/],
    ['ftp://example.invalid/x', /is neither a bundled buildpack name, an absolute path nor a git URL/],
    ['-uhttps://x', /is neither/],
    [`file://${scratch}/missing.git#v1`, /git clone file:\/\/.*missing\.git failed/],
  ] as const) {
    const e = (await t.throwsAsync(fetchBuildpack(given, join(scratch, 'clone'), scratch))) as Error & { code: string; details: Record<string, unknown> };
    t.is(e.code, 'E_BUILD_BUILDPACK_UNAVAILABLE', given);
    t.regex(e.message, what);
    t.is(e.details.phase, 'fetch');
  }
});

test('selectBuilder: the setting wins; else a Dockerfile means the Dockerfile builder', async (t) => {
  const withDockerfile = await files(await tempDir(t), { Dockerfile: 'FROM busybox\n' });
  const without = await files(await tempDir(t), { Procfile: 'web: x\n' });
  t.is(await selectBuilder(withDockerfile), 'dockerfile');
  t.is(await selectBuilder(without), 'herokuish');
  t.is(await selectBuilder(withDockerfile, 'herokuish'), 'herokuish');
  t.is(await selectBuilder(without, 'dockerfile'), 'dockerfile');
  const e = (await t.throwsAsync(selectBuilder(without, 'heroku' as 'herokuish'))) as Error & { code: string };
  t.is(e.code, 'E_BUILD_OPTIONS_INVALID');
});
