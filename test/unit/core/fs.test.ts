/** The small file-system steps: fsync a path, create a new file durably, read an optional one; isErrno. */
import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErrno, issuePath } from '../../../server/core/errors.js';
import { fsyncPath, readTextIfExists, writeNewFile } from '../../../server/core/fs.js';

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-fs-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('fsyncPath syncs a file and a directory, and reports a missing one', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'f'), 'x');
  await t.notThrowsAsync(fsyncPath(dir));
  await t.notThrowsAsync(fsyncPath(join(dir, 'f')));
  const err = await t.throwsAsync(fsyncPath(join(dir, 'missing')));
  t.true(isErrno(err, 'ENOENT'));
});

test('writeNewFile creates with the exact mode and never reuses what is there', async (t) => {
  const dir = await tempDir(t);
  // 0666: a usual umask (022) would narrow it to 0644 without the explicit chmod.
  await writeNewFile(join(dir, 'a'), 'hello', 0o666);
  t.is(await readFile(join(dir, 'a'), 'utf8'), 'hello');
  t.is((await stat(join(dir, 'a'))).mode & 0o777, 0o666, 'the umask did not narrow it');
  await writeNewFile(join(dir, 'b'), new Uint8Array([1, 2]), 0o600);
  t.is((await stat(join(dir, 'b'))).mode & 0o777, 0o600);
  const err = await t.throwsAsync(writeNewFile(join(dir, 'a'), 'again', 0o644));
  t.true(isErrno(err, 'EEXIST'));
  t.is(await readFile(join(dir, 'a'), 'utf8'), 'hello');
});

test('readTextIfExists: the text, undefined when missing, other failures thrown', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'f'), 'text');
  t.is(await readTextIfExists(join(dir, 'f')), 'text');
  t.is(await readTextIfExists(join(dir, 'missing')), undefined);
  const err = await t.throwsAsync(readTextIfExists(dir));
  t.true(isErrno(err, 'EISDIR'));
});

test('isErrno matches a system error by code, and nothing else', (t) => {
  const enoent = Object.assign(new Error('x'), { code: 'ENOENT' });
  t.true(isErrno(enoent, 'ENOENT'));
  t.true(isErrno(enoent, 'EACCES', 'ENOENT'));
  t.false(isErrno(enoent, 'EACCES'));
  t.false(isErrno(new Error('no code'), 'ENOENT'));
  t.false(isErrno(undefined, 'ENOENT'));
  t.false(isErrno('ENOENT', 'ENOENT'));
  t.false(isErrno({ code: 2 }, 'ENOENT'));
});

test('issuePath names where in a document a problem is', (t) => {
  t.is(issuePath(['process', 'args', 0], '(config)'), 'process.args[0]');
  t.is(issuePath([0, 'name'], '(document)'), '[0].name');
  t.is(issuePath([], '(document)'), '(document)');
});
