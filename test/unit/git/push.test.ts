import test from 'ava';
import { branchOf, checkNotice, hookScript } from '../../../server/git/index.js';
import type { BerthError } from '../../../server/core/index.js';
import { leadsOutside } from '../../../server/git/push.js';

const links = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

test('a symlink inside the tree stays inside, through other links too', (t) => {
  const l = links({ 'conf/link.yml': '../config/app.yml', conf: 'config', 'a/b': '../conf/x', self: '.', 'd/up': '..' });
  for (const path of l.keys()) t.false(leadsOutside(path, l), path);
});

test('a symlink leading out of the tree is caught: .., an absolute target, or a climb through another link', (t) => {
  const l = links({
    passwd: '../../etc/passwd',
    abs: '/etc/passwd',
    'x/y': '../../z',
    s: '.',
    // Lexically d/e/../../s/.. is the top; physically s is the top, so its .. is outside.
    'd/e/t': '../../s/..',
    // A link to a directory that leads out, then used as a path component.
    out: '..',
    'via/out': '../out/etc',
  });
  for (const path of l.keys()) t.is(leadsOutside(path, l), path !== 's', path);
});

test('a loop of links is refused rather than followed forever', (t) => {
  const l = links({ a: 'b', b: 'a/x' });
  t.true(leadsOutside('a', l));
});

test('only branches deploy: refs/heads/<name>, anything else is E_GIT_PUSH_INVALID naming it', (t) => {
  t.is(branchOf('refs/heads/main'), 'main');
  t.is(branchOf('refs/heads/feature/x'), 'feature/x');
  for (const ref of ['refs/tags/v1', 'main', 'refs/heads/', 'refs/heads/a b']) {
    const err = t.throws(() => branchOf(ref));
    t.is((err as { code?: string }).code, 'E_GIT_PUSH_INVALID');
    t.true(err.message.includes(JSON.stringify(ref)));
  }
});

test("a hook's notice: a 40-hex commit and a branch, else E_GIT_PUSH_INVALID naming the field", (t) => {
  t.notThrows(() => checkNotice({ commit: 'a'.repeat(40), ref: 'refs/heads/main' }));
  for (const commit of ['A'.repeat(40), 'a'.repeat(39), '']) {
    const err = t.throws(() => checkNotice({ commit, ref: 'refs/heads/main' }));
    t.regex(err.message, /40 lowercase hex digits/);
  }
});

test("a hook's notice may carry the ref's old value: 40 hex digits, else E_GIT_PUSH_INVALID naming it", (t) => {
  t.notThrows(() => checkNotice({ commit: 'a'.repeat(40), ref: 'refs/heads/main', old: '0'.repeat(40) }));
  for (const old of ['B'.repeat(40), 'b'.repeat(41), '']) {
    const err = t.throws(() => checkNotice({ commit: 'a'.repeat(40), ref: 'refs/heads/main', old }));
    t.is((err as BerthError).code, 'E_GIT_PUSH_INVALID');
    t.regex(err.message, new RegExp(`old value .* not ${JSON.stringify(old)}`));
  }
});

test('the hook script runs its command by absolute path, each word quoted for sh', (t) => {
  const text = hookScript(['/opt/node dir/bin/node', "/srv/it's/main.js", 'git-hook', 'pre-receive']);
  t.true(text.startsWith('#!/bin/sh\n'));
  t.regex(text, /\nexec '\/opt\/node dir\/bin\/node' '\/srv\/it'\\''s\/main\.js' 'git-hook' 'pre-receive'\n$/);
});
