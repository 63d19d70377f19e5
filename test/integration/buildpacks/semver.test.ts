/**
 * The nodejs buildpack picks versions with buildpacks/nodejs/lib/semver.py (bash and python3
 * are what the stack has before Node.js is installed). It must agree with the npm `semver`
 * package, which npm itself uses: for every range below, both pick the same highest version
 * out of the same published list (prereleases in it too, picked only by a range that names
 * a prerelease of the same x.y.z).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import semver from 'semver';

const script = new URL('../../../buildpacks/nodejs/lib/semver.py', import.meta.url).pathname;

const versions: string[] = [];
for (const major of [0, 1, 2, 18, 20, 22, 24, 26]) {
  for (const minor of [0, 1, 5, 12]) for (const patch of [0, 2, 9]) versions.push(`${major}.${minor}.${patch}`);
}
versions.push('24.13.0-rc.1', '27.0.0-nightly', '2.0.0-beta.1');

const ranges = [
  '*',
  '',
  'x',
  '24',
  '24.x',
  '24.1',
  '24.1.x',
  '24.1.2',
  '=24.1.2',
  'v24.1.2',
  '24.x.x',
  '^24',
  '^24.1',
  '^24.1.2',
  '^0',
  '^0.1',
  '^0.1.2',
  '^0.0',
  '^0.0.2',
  '^0.x',
  '^1.x',
  '~24',
  '~24.1',
  '~24.1.2',
  '~0.1',
  '~>24.1',
  '>=20',
  '> 20',
  '>20.5',
  '>20.5.2',
  '>=20.x',
  '<22',
  '<=22',
  '<=22.5',
  '<22.5.9',
  '>=18 <21',
  '>= 18 < 21',
  '>=22.1 <=24.5.2',
  '18 || 22',
  '^18.1 || ^22.5.1 || >=26',
  '20 - 22',
  '20.1 - 22.5',
  '20.1.2 - 22.5.2',
  '* - 20',
  '>=27',
  '<0.0.1',
  '1.2.3 - 1.2.4',
  '24.13.0-rc.1',
  '>=24.13.0-rc.0',
  '^24.13.0-rc.1',
  '~2.0.0-beta',
  '>=2.0.0-beta.0 <2.0.0',
  '27.0.0-nightly',
  '>26 <27.0.0-0',
  '>*',
  '<*',
  '>=*',
  '^24.99',
  '0.x || 1.x',
];

function pick(range: string): string | null {
  const doc = JSON.stringify({ versions: Object.fromEntries(versions.map((v) => [v, { dist: { tarball: `t/${v}`, integrity: 'i' } }])) });
  const r = spawnSync('python3', [script, range], { input: doc, encoding: 'utf8' });
  if (r.status === 2) return null;
  if (r.status !== 0) throw new Error(`semver.py ${JSON.stringify(range)} exited ${r.status}: ${r.stderr}`);
  return r.stdout.split(' ')[0] as string;
}

for (const range of ranges) {
  test.serial(`semver.py picks what npm's semver picks for ${JSON.stringify(range)}`, (t) => {
    t.is(pick(range), semver.maxSatisfying(versions, range));
  });
}

test('semver.py refuses what is not a range (exit 3), as semver.validRange does', (t) => {
  for (const bad of ['lts', 'latest', '24.1.2.3', '>=abc', 'node-24']) {
    t.is(semver.validRange(bad), null, bad);
    const r = spawnSync('python3', [script, bad], { input: '{"versions":{}}', encoding: 'utf8' });
    t.is(r.status, 3, `${bad}: ${r.stderr}`);
    t.regex(r.stderr, /is not a semver range/);
  }
});

test('with --node, a version whose engines.node refuses that Node.js is passed over', (t) => {
  const doc = JSON.stringify({
    versions: {
      '10.9.0': { engines: { node: '^18.17.0 || >=20.5.0' }, dist: { tarball: 'a', integrity: 'x' } },
      '11.6.0': { engines: { node: '^20.17.0 || >=22.9.0' }, dist: { tarball: 'b', integrity: 'y' } },
    },
  });
  const run = (node: string) => spawnSync('python3', [script, '*', '--node', node], { input: doc, encoding: 'utf8' }).stdout.trim();
  t.is(run('18.20.8'), '10.9.0 a x');
  t.is(run('24.1.0'), '11.6.0 b y');
});
