/**
 * readXattrs through one long-lived `berth-fsutil serve`: answers in order to requests made
 * at once, a failing request answered with its error while the next is still served, and a
 * Node process that used it still exits by itself (the process does not hold it).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBerthError } from '../../../server/core/errors.js';
import { defaultFsutilBinary, readXattrs } from '../../../server/images/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** Set user.* xattrs with `berth-fsutil apply` (records: xattr PATH NAME HEXVALUE). */
function setXattrs(root: string, records: [string, string, string][]): void {
  const input = records.map(([path, name, value]) => ['xattr', path, name, Buffer.from(value).toString('hex')].map((f) => `${f}\0`).join('')).join('');
  const r = spawnSync(defaultFsutilBinary, ['apply', root], { input });
  if (r.status !== 0) throw new Error(`berth-fsutil apply: ${r.stderr.toString()}`);
}

test('requests made at once are each answered with their own xattrs; a failing one does not end the service', async (t) => {
  const dir = await tempDir(t, 'berth-xattrs-');
  const roots = await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const root = join(dir, `r${i}`);
      await mkdir(join(root, 'd'), { recursive: true });
      await writeFile(join(root, 'f'), 'x');
      await symlink('d', join(root, 'l'));
      setXattrs(root, [
        ['d', 'user.which', `dir ${i}`],
        ['f', 'user.which', `file ${i}`],
      ]);
      return root;
    }),
  );
  const answers = await Promise.allSettled([
    ...roots.map((root) => readXattrs(defaultFsutilBinary, root, ['.', 'd', 'f', 'l'])),
    readXattrs(defaultFsutilBinary, roots[0] as string, ['d', 'missing', 'f']),
    readXattrs(defaultFsutilBinary, join(dir, 'no-such-root'), ['.']),
    readXattrs(defaultFsutilBinary, roots[1] as string, ['l/escape']),
    readXattrs(defaultFsutilBinary, roots[2] as string, ['f']),
  ]);
  for (const [i] of roots.entries()) {
    const a = answers[i] as PromiseFulfilledResult<Map<string, Map<string, Buffer>>>;
    t.is(a.status, 'fulfilled');
    t.deepEqual([...a.value.keys()], ['.', 'd', 'f', 'l']);
    t.is(a.value.get('d')?.get('user.which')?.toString(), `dir ${i}`);
    t.is(a.value.get('f')?.get('user.which')?.toString(), `file ${i}`);
    t.is(a.value.get('l')?.size, 0, "a symlink's own xattrs, not its target's");
  }
  for (const [i, name] of [
    [4, /`missing`.*No such file/],
    [5, /no-such-root.*No such file/],
    [6, /`l\/escape`/],
  ] as const) {
    const a = answers[i] as PromiseRejectedResult;
    t.is(a.status, 'rejected');
    t.true(isBerthError(a.reason) && a.reason.code === 'E_IMAGE_LAYER_INVALID', String(a.reason));
    t.regex((a.reason as Error).message, name);
  }
  const last = answers[7] as PromiseFulfilledResult<Map<string, Map<string, Buffer>>>;
  t.is(last.status, 'fulfilled', 'the request after the failing ones is served');
  t.is(last.value.get('f')?.get('user.which')?.toString(), 'file 2');
});

test('a Node process that read xattrs exits by itself: the serving process does not keep it alive', async (t) => {
  const dir = await tempDir(t, 'berth-xattrs-');
  await writeFile(join(dir, 'f'), 'x');
  setXattrs(dir, [['f', 'user.k', 'v']]);
  const module = new URL('../../../server/images/xattr-reader.ts', import.meta.url).pathname;
  const script = `import { readXattrs } from ${JSON.stringify(module)};
const m = await readXattrs(${JSON.stringify(defaultFsutilBinary)}, ${JSON.stringify(dir)}, ['f']);
console.log(m.get('f').get('user.k').toString());`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  t.is(r.signal, null, 'it ended before the 30 s limit');
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'v\n');
});
