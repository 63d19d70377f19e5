/**
 * The apps room's pure parts: the values settings take, the buildpack list's edits
 * (Dokku's positions), /etc/subuid parsing and the range allocation rule.
 */
import test from 'ava';
import { addBuildpack, removeBuildpack, setBuildpack, validateBuilder, validateBuildpack, validateDeployBranch } from '../../../server/apps/index.js';
import { allocateRange, defaultUsernsPolicy, parseSubidRanges } from '../../../server/apps/userns.js';

test('validateBuildpack takes names, shorthands, absolute paths and git URLs with a ref', (t) => {
  for (const ok of [
    'nodejs',
    'procfile',
    'heroku/nodejs',
    'my.pack_2',
    '/opt/buildpacks/ruby',
    'https://github.com/heroku/heroku-buildpack-nodejs.git#v250',
    'ssh://git@host/bp.git',
    'file:///srv/bp',
  ]) {
    t.is(validateBuildpack(ok), ok);
  }
  for (const bad of ['-x', 'a\tb', 'a\u202eb', 'javascript://x', 'Node', 'a/b/c', `/${'x'.repeat(1100)}`]) {
    t.throws(() => validateBuildpack(bad), { message: /invalid buildpack/ }, bad);
  }
});

test('validateDeployBranch takes what git-check-ref-format --branch takes, and names what it refuses', (t) => {
  for (const ok of ['main', 'master', 'release/2.0', 'feature-x', 'v1@2']) t.is(validateDeployBranch(ok), ok);
  for (const [bad, why] of [
    ['', /empty/],
    ['a//b', /empty path component/],
    ['/a', /empty path component/],
    ['a/', /ends with "\/"/],
    ['a.', /ends with "\."/],
    ['.hidden', /starts with "\."/],
    ['a/.b', /component "\.b" starts with "\."/],
    ['@', /"@" alone/],
    ['a@{1}', /contains "@\{"/],
    ['a:b', /character ':'/],
    ['a\\b', /character '\\'/],
  ] as const) {
    t.throws(() => validateDeployBranch(bad), { message: why }, bad);
  }
});

test('validateBuilder takes dockerfile and herokuish only', (t) => {
  t.is(validateBuilder('dockerfile'), 'dockerfile');
  t.is(validateBuilder('herokuish'), 'herokuish');
  t.throws(() => validateBuilder('Dockerfile'), { message: /invalid builder "Dockerfile"/ });
});

test("buildpack list edits follow Dokku's positions", (t) => {
  t.deepEqual(addBuildpack([], 'a'), ['a']);
  t.deepEqual(addBuildpack(['a', 'b'], 'c', 2), ['a', 'c', 'b'], 'inserted before position 2');
  t.deepEqual(addBuildpack(['a', 'b'], 'c', 3), ['a', 'b', 'c']);
  t.deepEqual(addBuildpack(['a', 'b'], 'c', 99), ['a', 'b', 'c'], 'past the end: appended');
  t.deepEqual(setBuildpack([], 'a'), ['a'], 'set on an empty list');
  t.deepEqual(setBuildpack(['a', 'b'], 'c', 2), ['a', 'c']);
  t.deepEqual(setBuildpack(['a', 'b'], 'b', 2), ['a', 'b'], 'the same one in its own place');
  t.throws(() => setBuildpack(['a', 'b'], 'b', 1), { message: /already in the list, at position 2/ });
  t.deepEqual(removeBuildpack(['a', 'b'], { index: 1 }), ['b']);
  t.deepEqual(removeBuildpack(['a', 'b'], { buildpack: 'b' }), ['a']);
  t.throws(() => removeBuildpack(['a'], { buildpack: 'a', index: 1 }), { message: /not both/ });
  t.throws(() => removeBuildpack([], { buildpack: 'a' }), { message: /has no buildpacks set/ });
  const input = ['a', 'b'];
  addBuildpack(input, 'c');
  t.deepEqual(input, ['a', 'b'], 'edits work on a copy');
});

test('parseSubidRanges reads user:start:count lines and skips comments and junk', (t) => {
  t.deepEqual(parseSubidRanges('root:100000:65536\n# x:1:2\n\nbad\nuser:1:two\ndockremap:165536:65536\n'), [
    { hostId: 100_000, size: 65_536 },
    { hostId: 165_536, size: 65_536 },
  ]);
});

test('allocateRange: lowest slot clear of every taken range; the window stays below 2^31 and systemd foreign range', (t) => {
  const p = defaultUsernsPolicy;
  t.is(p.first, 0x7000_0000);
  t.true(p.first + p.slots * p.size <= 0x7ffe_0000);
  t.true(p.first >= 1_879_048_192, 'above systemd-nspawn range');
  t.deepEqual(allocateRange(p, []), { hostId: p.first, size: p.size });
  t.deepEqual(allocateRange(p, [{ hostId: p.first + 5, size: 1 }]), { hostId: p.first + p.size, size: p.size });
  t.is(allocateRange({ ...p, slots: 1 }, [{ hostId: p.first, size: p.size }]), undefined);
});
