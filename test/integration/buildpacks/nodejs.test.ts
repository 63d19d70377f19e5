/**
 * The bundled nodejs buildpack in real build containers on the stack image, with Node.js,
 * npm and the app's dependencies (express, ms, and is-number as a devDependency) from the
 * npm registry through outbound NAT: the image answers HTTP; a second build of the same
 * source reuses the cache and says so; a bad package.json and an engines.node nothing
 * satisfies fail with errors naming them. The build times are logged (bench/buildpacks-node.sh
 * measures them properly); nothing here asserts a time.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useApps } from './apps.js';

test.serial('a Node.js app with a lockfile builds, answers HTTP, and its second build reuses the cache', async (t) => {
  t.timeout(15 * 60_000, 'a cold build downloads Node.js (~57 MB) and the app dependencies');
  const b = await useApps(t);
  const dir = await b.fixture('node');

  let started = Date.now();
  const cold = await b.build2(dir, { tags: ['node-app:1'], commit: 'c0ffee01' });
  const coldMs = Date.now() - started;
  t.is(cold.error, undefined, `${cold.error?.message}\n${cold.text}`);
  t.true(cold.lines.includes('-----> Node.js app detected'), cold.text);
  t.regex(cold.text, /engines\.node \(package\.json\): 24\.x\n {7}Downloading and installing node 24\.\d+\.\d+\.\.\./);
  t.regex(cold.text, /Downloading and installing npm \d+\.\d+\.\d+/);
  t.regex(cold.text, /No npm cache yet/);
  t.regex(cold.text, /Installing node modules \(package-lock\.json\)/);
  t.regex(cold.text, /added \d+ packages/);
  t.regex(cold.text, /-----> Build\n {7}Running build/);
  t.regex(cold.text, /removed 1 package \(those package-lock\.json marks dev\)/);
  const config = cold.result!.image.config.config!;
  t.deepEqual(JSON.parse(config.Labels!['berth.process-types']!), { web: 'npm start' }, 'bin/release: web is npm start');
  t.deepEqual(config.Cmd, ['/start', 'web']);

  const app = await b.serve('node-app:1');
  const home = await app.get('/');
  t.is(home.status, 200);
  t.regex(home.body, /^hello from node v24\.\d+\.\d+ \(built with v24\.\d+\.\d+\), express 5\.\d+\.\d+, 2m\n$/);
  t.deepEqual(JSON.parse((await app.get('/dev-dependency')).body), { present: false }, 'devDependencies are pruned');

  started = Date.now();
  const warm = await b.build2(dir, { tags: ['node-app:2'] });
  const warmMs = Date.now() - started;
  t.is(warm.error, undefined, `${warm.error?.message}\n${warm.text}`);
  t.regex(warm.text, /Using node 24\.\d+\.\d+ \(cached\)/);
  t.regex(warm.text, /Using npm \d+\.\d+\.\d+ \(cached\)/);
  t.regex(warm.text, /Reusing the npm cache from the previous build \(\d/);
  t.regex(warm.text, /Reusing node_modules from the previous build/);
  t.notRegex(warm.text, /Downloading/);
  t.log(`cold build ${(coldMs / 1000).toFixed(1)} s, warm build (no change) ${(warmMs / 1000).toFixed(1)} s`);
  const again = await b.serve('node-app:2');
  t.regex((await again.get('/')).body, /^hello from node v24\./);
  await app.stop();
  await again.stop();
  t.deepEqual(
    b.leftovers().filter((l) => !l.startsWith('container ')),
    [],
  );
});

test.serial('a package.json that does not parse, and an engines.node no version satisfies, fail naming them', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useApps(t);
  const broken = await b.context({ 'package.json': '{ "name": "x", }\n', 'index.js': '' });
  const r = await b.build2(broken, { tags: ['broken:1'] });
  t.truthy(r.error, r.text);
  t.regex(r.text, / ! {5}package\.json is not valid JSON: .*line 1 column 16/, r.text);
  t.regex(r.text, / ! {5}Fix package\.json/);
  t.false(b.c.store.tags().has('broken:1'), 'nothing tagged');

  const dir = await b.fixture('node');
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  pkg.engines.node = '>=99 <100';
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg));
  const none = await b.build2(dir, { tags: ['none:1'] });
  t.truthy(none.error, none.text);
  t.regex(none.text, / ! {5}No published version of Node\.js satisfies engines\.node ">=99 <100" in package\.json\./);
  t.regex(none.error!.message, /compile/);
  t.false(b.c.store.tags().has('none:1'), 'nothing tagged');
  t.deepEqual(
    b.leftovers().filter((l) => !l.startsWith('container ')),
    [],
  );
});
