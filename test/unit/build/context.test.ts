/**
 * The build context as COPY sees it: `.dockerignore` with Docker's semantics (through
 * @balena/dockerignore), COPY's wildcards (Go's filepath.Match), and sources that would lead
 * outside the context refused. A temporary directory; no root.
 */
import test from 'ava';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { componentRegex, contextTree, ignorePatterns, matchSource } from '../../../server/build/context.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function context(t: import('ava').ExecutionContext, files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir(t, 'bctx-');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  for (const [name, target] of Object.entries(links)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await symlink(target, join(dir, name));
  }
  return dir;
}

const files = {
  'a.txt': '',
  'b.txt': '',
  'c.md': '',
  'keep.log': '',
  'x.log': '',
  'sub/x.log': '',
  'sub/y.txt': '',
  'node_modules/m/index.js': '',
  'docs/README.md': '',
  'docs/guide/intro.md': '',
  'docs/guide/pic.png': '',
  'tmp/a': '',
  'tmp/keep': '',
  '[x].txt': '',
  'q?.txt': '',
};

test('.dockerignore: comments and blank lines, root-anchored patterns, ** across directories, ! exceptions', async (t) => {
  const dir = await context(t, {
    ...files,
    '.dockerignore': '# build junk\n\nnode_modules\n*.log\n!keep.log\ndocs/**/*.md\n!docs/README.md\n/tmp/*\n!tmp/keep\n',
  });
  t.deepEqual(ignorePatterns('# c\n  a  \n\n!b\r\n'), ['a', '!b']);
  const tree = await contextTree(dir);
  t.deepEqual(await tree.readdir(''), ['.dockerignore', '[x].txt', 'a.txt', 'b.txt', 'c.md', 'docs', 'keep.log', 'q?.txt', 'sub', 'tmp']);
  t.deepEqual(await tree.readdir('sub'), ['x.log', 'y.txt'], '*.log matches at the root only, as in Docker');
  t.deepEqual(await tree.readdir('docs'), ['README.md', 'guide']);
  t.deepEqual(await tree.readdir('docs/guide'), ['pic.png'], '** matches any depth');
  t.deepEqual(await tree.readdir('tmp'), ['keep'], 'an exception inside an excluded pattern');
  t.is(await tree.lstat('node_modules/m/index.js'), undefined, 'below an excluded directory');
  t.is(await tree.lstat('x.log'), undefined);
  t.truthy(await tree.lstat('keep.log'));
});

test(".dockerignore: an excluded directory an exception reaches into stays, holding only what comes back (as Docker's client sends it)", async (t) => {
  const dir = await context(t, { 'secrets/key.pem': 's', 'secrets/public.txt': 'p', 'other/x': '', '.dockerignore': 'secrets/\nother\n!secrets/public.txt\n' });
  const tree = await contextTree(dir);
  t.deepEqual(await tree.readdir(''), ['.dockerignore', 'secrets']);
  t.deepEqual(await tree.readdir('secrets'), ['public.txt']);
  t.is(await tree.lstat('secrets/key.pem'), undefined);
  t.is(await tree.lstat('other'), undefined, 'no exception reaches into other/');
  t.truthy(await tree.lstat('secrets'));
});

test('wildcards: * and ? within one component, classes, escapes within a pattern; each source sorted', async (t) => {
  const tree = await contextTree(await context(t, files), []);
  t.deepEqual(await matchSource(tree, '*.txt'), ['[x].txt', 'a.txt', 'b.txt', 'q?.txt']);
  t.deepEqual(await matchSource(tree, '?.txt'), ['a.txt', 'b.txt']);
  t.deepEqual(await matchSource(tree, '[ab].txt'), ['a.txt', 'b.txt']);
  t.deepEqual(await matchSource(tree, '[^a].txt'), ['b.txt']);
  t.deepEqual(await matchSource(tree, '*/*.log'), ['sub/x.log'], '* does not cross /');
  t.deepEqual(await matchSource(tree, 'docs/*/intro.md'), ['docs/guide/intro.md']);
  t.deepEqual(await matchSource(tree, '[[]x].txt'), ['[x].txt'], 'a class holding [');
  t.deepEqual(await matchSource(tree, 'q\\?.*'), ['q?.txt'], 'an escaped ? is a literal ?');
  t.deepEqual(await matchSource(tree, 'nothing*'), []);
  t.deepEqual(await matchSource(tree, 'missing.txt'), []);
  t.deepEqual(await matchSource(tree, './sub/../a.txt'), ['a.txt'], '.. that stays inside is fine');
  t.true(componentRegex('a*').test('abc'));
  t.false(componentRegex('a*').test('a/b'));
});

test('outside the context: .., a symlink with an absolute target or one going up past the root', async (t) => {
  const dir = await context(
    t,
    { 'in.txt': '', 'sub/f': '' },
    { 'abs-link': '/etc/passwd', 'up-link': '../../etc', 'sub/ok-link': '../in.txt', 'dir-link': 'sub' },
  );
  const tree = await contextTree(dir, []);
  for (const source of ['../x', 'sub/../../x', 'abs-link', 'up-link/passwd']) {
    const e = await t.throwsAsync(matchSource(tree, source));
    t.is((e as { code?: string }).code, 'E_BUILD_COPY_OUTSIDE_CONTEXT', source);
    t.regex(e?.message ?? '', /outside the build context/);
  }
  t.deepEqual(await matchSource(tree, 'sub/ok-link'), ['in.txt'], 'a symlink inside the context is followed');
  t.deepEqual(await matchSource(tree, 'dir-link/f'), ['sub/f']);
});
