/**
 * Third-party buildpacks in the classic API (test/fixtures/buildpacks/), run unchanged by the
 * buildpack builder in real build containers: detect, compile in order with each `export`
 * file sourced before the next, ENV_DIR, bin/release's default types and config vars,
 * .profile.d at start; the precedence of the lists an app can give; a git URL with a ref.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBuildpacks } from '../../helpers/buildpacks.js';
import { tempDir } from '../../helpers/temp-dir.js';

const fixtures = fileURLToPath(new URL('../../fixtures/buildpacks/', import.meta.url));
const fixture = (name: string): string => join(fixtures, name);

test('four fixture buildpacks run in order, each export sourced before the next, release types and vars applied', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuildpacks(t);
  const dir = await b.context({
    Fixturefile: '',
    Procfile: 'worker: echo "worker with $FIXTURE_RELEASE"\n',
    '.buildpacks': ['export', 'profile', 'no-release', 'release'].map(fixture).join('\n') + '\n',
  });
  const r = await b.build2(dir, { env: { GREETING: 'hi-from-env' }, tags: ['fx:latest'] });
  t.is(r.error, undefined, `${r.error?.message}\n${r.text}`);
  const detected = r.lines.filter((l) => l.endsWith(' app detected'));
  t.deepEqual(detected, [
    '-----> Fixture export app detected',
    '-----> Fixture profile app detected',
    '-----> Fixture no-release app detected',
    '-----> Fixture release app detected',
  ]);
  t.true(r.lines.includes('-----> Using buildpacks:'), r.text);
  t.true(r.lines.includes('       4. Fixture release'), r.text);
  t.true(r.lines.includes('       exported: from-export; fixture-tool ran'), r.text);
  t.true(r.lines.includes('       GREETING from ENV_DIR: hi-from-env'), r.text);
  t.true(r.lines.includes('-----> Empty cache: first build'), r.text);
  t.true(r.lines.includes('       Procfile declares types     -> worker'), r.text);
  t.true(r.lines.includes('       Default types for buildpack -> web, console'), r.text);
  const config = r.result!.image.config.config!;
  t.deepEqual(JSON.parse(config.Labels!['berth.process-types']!), {
    worker: 'echo "worker with $FIXTURE_RELEASE"',
    web: 'bin/fixture-server --port $PORT',
    console: 'bash',
  });
  t.deepEqual(
    JSON.parse(config.Labels!['berth.buildpacks']!),
    ['export', 'profile', 'no-release', 'release'].map((name) => ({ name, revision: 'local' })),
  );
  t.true(config.Env!.includes('FIXTURE_RELEASE=from release'), JSON.stringify(config.Env));
  t.true(config.Env!.includes('LANG=en_US.UTF-8'), 'a config var replaces the stack default');
  t.deepEqual(config.Cmd, ['/start', 'web']);

  t.is((await b.runImage('fx:latest')).stdout, 'fixture server on 5000\n');
  t.is((await b.runImage('fx:latest', ['/start', 'worker'])).stdout, 'worker with from release\n');
  t.is((await b.runImage('fx:latest', ['/exec', 'cat', 'order.txt', 'greeting.txt'])).stdout, 'export\nprofile\nno-release\nrelease\nhi-from-env\n');
  const profile = await b.runImage('fx:latest', ['/exec', 'bash', '-c', 'echo "$FIXTURE_PROFILE"']);
  t.is(profile.stdout, 'profile sourced, PORT=5000\n', profile.stderr);
  t.deepEqual(b.leftovers(), []);
});

test('the cache: a second build sees the first one’s; a failed build leaves it as it was and tags nothing', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuildpacks(t);
  const dir = await b.context({ Fixturefile: '', Procfile: 'web: bin/fixture-server\n' });
  const first = await b.build2(dir, { buildpacks: [fixture('release')] });
  t.is(first.error, undefined, `${first.error?.message}\n${first.text}`);
  t.true(first.lines.includes('-----> Empty cache: first build'), first.text);
  const { readFile, writeFile } = await import('node:fs/promises');
  t.is(await readFile(join(b.cacheDir, 'release.count'), 'utf8'), '1\n');
  await writeFile(join(b.cacheDir, 'keep.txt'), 'kept\n');

  const failed = await b.build2(dir, { buildpacks: [fixture('release'), fixture('failing')], tags: ['never:latest'] });
  t.is(failed.error?.code, 'E_BUILD_BUILDPACK_FAILED', failed.text);
  t.regex(
    failed.error!.message,
    /^buildpack failing, compile: bin\/compile exited with 3; its last lines:\n[\s\S]*step 5\n {2} ! {5}Fixture failure: giving up$/,
  );
  t.true(failed.lines.includes('-----> Restoring cache (build 2)'), 'the failed build saw the cache');
  t.is(await readFile(join(b.cacheDir, 'release.count'), 'utf8'), '1\n', 'the cache is as it was before the failed build');
  t.is(await readFile(join(b.cacheDir, 'keep.txt'), 'utf8'), 'kept\n', 'a file the failed build removed is still there');
  t.false(b.c.store.tags().has('never:latest'));
  t.deepEqual(b.leftovers(), []);

  const again = await b.build2(dir, { buildpacks: [fixture('release')] });
  t.is(again.error, undefined, again.text);
  t.true(again.lines.includes('-----> Restoring cache (build 2)'), again.text);
  t.is(await readFile(join(b.cacheDir, 'release.count'), 'utf8'), '2\n');

  // What a build deletes in the cache (a whiteout) or removes and makes again (an opaque directory) is merged too.
  const bp = await tempDir(t, 'bp-cache-');
  await b.write(bp, {
    'bin/detect': { text: '#!/bin/bash\necho Cache\n', mode: 0o755 },
    'bin/compile': {
      text: [
        '#!/bin/bash',
        'set -e',
        'if [ -f "$2/gone.txt" ]; then rm "$2/gone.txt"; rm -rf "$2/dir"; mkdir "$2/dir"; echo c >"$2/dir/c"; echo "$2/dir/a" >"$2/dir/a-was"',
        'else mkdir -p "$2/dir"; echo a >"$2/dir/a"; echo b >"$2/dir/b"; echo gone >"$2/gone.txt"; fi',
        '',
      ].join('\n'),
      mode: 0o755,
    },
  });
  for (let i = 0; i < 2; i++) {
    const r = await b.build2(dir, { buildpacks: [bp] });
    t.is(r.error, undefined, r.text);
  }
  const { readdir } = await import('node:fs/promises');
  t.deepEqual((await readdir(b.cacheDir)).sort(), ['dir', 'keep.txt', 'release.count']);
  t.deepEqual((await readdir(join(b.cacheDir, 'dir'))).sort(), ['a-was', 'c']);
  t.deepEqual(b.leftovers(), []);
});

test('where the list comes from: the app, .buildpacks, BUILDPACK_URL, app.json; a git URL with a ref', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuildpacks(t);
  const names = (r: Awaited<ReturnType<typeof b.build2>>): string[] =>
    (JSON.parse(r.result?.image.config.config?.Labels?.['berth.buildpacks'] ?? '[]') as { name: string }[]).map((x) => x.name);
  const appJson = JSON.stringify({ buildpacks: [{ url: fixture('export') }] });
  const full = await b.context({ Fixturefile: '', Procfile: 'web: true\n', '.buildpacks': `${fixture('no-release')}\n`, 'app.json': appJson });
  const byApp = await b.build2(full, { buildpacks: [fixture('release')], env: { BUILDPACK_URL: fixture('profile') } });
  t.deepEqual(names(byApp), ['release'], byApp.error?.message);
  const byFile = await b.build2(full, { env: { BUILDPACK_URL: fixture('profile') } });
  t.deepEqual(names(byFile), ['no-release'], byFile.error?.message);
  const noFile = await b.context({ Fixturefile: '', Procfile: 'web: true\n', 'app.json': appJson });
  const byUrl = await b.build2(noFile, { env: { BUILDPACK_URL: fixture('profile') } });
  t.deepEqual(names(byUrl), ['profile'], byUrl.error?.message);
  const byJson = await b.build2(noFile, {});
  t.deepEqual(names(byJson), ['export'], byJson.error?.message);
  const detected = await b.build2(await b.context({ Procfile: 'web: true\n' }), {});
  t.deepEqual(names(detected), ['procfile'], detected.error?.message);

  // A git repository of the release fixture: v1 tagged, then a second commit that breaks detect.
  const repo = join(await tempDir(t, 'bp-git-'), 'release-buildpack');
  await cp(fixture('release'), repo, { recursive: true });
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  git('add', '-A');
  git('commit', '-qm', 'v1');
  git('tag', 'v1');
  const v1 = git('rev-parse', 'HEAD');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(repo, 'bin/detect'), '#!/bin/bash\nexit 1\n');
  git('commit', '-qam', 'v2 detects nothing');
  const cloned = await b.build2(noFile, { buildpacks: [`file://${repo}#v1`] });
  t.is(cloned.error, undefined, `${cloned.error?.message}\n${cloned.text}`);
  t.true(cloned.lines.includes(`-----> Fetching buildpack file://${repo}#v1`), cloned.text);
  t.deepEqual(JSON.parse(cloned.result!.image.config.config!.Labels!['berth.buildpacks']!), [{ name: 'release-buildpack', revision: v1 }]);
  const head = await b.build2(noFile, { buildpacks: [`file://${repo}`] });
  t.is(head.error?.code, 'E_BUILD_BUILDPACK_NOT_DETECTED', head.text);
  t.regex(head.error!.message, /^buildpack release-buildpack, detect: the app names it, but its bin\/detect exited with 1/);
  t.deepEqual(b.leftovers(), []);
});
