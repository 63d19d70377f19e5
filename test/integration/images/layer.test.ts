/**
 * Unpacking real layers (crafted with tar-stream) as root into real directories: what a
 * layer carries is kept, whiteouts become what overlayfs reads, and hostile entries are
 * rejected without a byte written outside the layer.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isBerthError } from '../../../server/core/errors.js';
import { defaultFsutilBinary, type Compression } from '../../../server/images/index.js';
import { unpackLayerBytes } from '../../../server/images/layer.js';
import { requireBinary, requireRoot } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { compress, tarball, type TarEntry } from '../../helpers/tarball.js';

const fsutil = defaultFsutilBinary;

function prereqs(): void {
  requireRoot('unpacking layers (chown, mknod, trusted xattrs)');
  if (!existsSync(fsutil)) throw new Error(`${fsutil} is missing: build it with \`make -C native\``);
  requireBinary('/usr/bin/getfattr', 'attr');
}

function xattr(path: string, name: string): string | undefined {
  const r = spawnSync('getfattr', ['--absolute-names', '-h', '-e', 'hex', '-n', name, path], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return /=0x([0-9a-f]*)/.exec(r.stdout)?.[1];
}

async function unpack(t: ExecutionContext, entries: TarEntry[], compression: Compression = 'none') {
  const base = await tempDir(t, 'berth-layer-');
  const dest = join(base, 'layer');
  await mkdir(dest);
  const tar = await tarball(entries);
  const result = await unpackLayerBytes(compress[compression](tar), compression, dest, { what: 'test layer', fsutil });
  return { dest, result, tar };
}

const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep, VFS_CAP_REVISION_2

const rich: TarEntry[] = [
  { name: './', type: 'directory', mode: 0o755, xattrs: { 'user.root': 'r' } },
  { name: 'bin/', type: 'directory', mode: 0o755, mtime: new Date(1_600_000_000_000) },
  { name: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o4755, uid: 1000, gid: 1001, xattrs: { 'user.note': 'hi', 'security.capability': capability } },
  { name: 'bin/tool-link', type: 'link', linkname: 'bin/tool' },
  { name: 'bin/abs', type: 'symlink', linkname: '/etc/passwd' },
  { name: 'bin/rel', type: 'symlink', linkname: '../lib/x' },
  { name: 'bin/dangling', type: 'symlink', linkname: '/nowhere/at/all' },
  { name: 'run/pipe', type: 'fifo', mode: 0o620, uid: 7, gid: 8 },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'tmp/', type: 'directory', mode: 0o1777 },
  { name: 'etc/.wh.gone', content: '' },
  { name: 'opq/.wh..wh..opq', content: '' },
  { name: 'opq/kept', content: 'kept' },
  { name: 'big-uid', content: 'x', pax: { uid: '3000000', gid: '3000001' } },
];

test('a layer keeps modes, owners, links, special files, xattrs and times; whiteouts become overlay whiteouts', async (t) => {
  prereqs();
  const { dest, result, tar } = await unpack(t, rich, 'gzip');
  t.is(result.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
  t.is(result.size, tar.length);

  const tool = await lstat(join(dest, 'bin/tool'));
  t.is(tool.mode & 0o7777, 0o4755, 'setuid bit kept (set after chown)');
  t.is(tool.uid, 1000);
  t.is(tool.gid, 1001);
  t.is(await readFile(join(dest, 'bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
  t.is(tool.mtimeMs, 1_700_000_000_000);
  t.is(xattr(join(dest, 'bin/tool'), 'user.note'), Buffer.from('hi').toString('hex'));
  t.is(xattr(join(dest, 'bin/tool'), 'security.capability'), capability.toString('hex'), 'binary xattr value byte-exact');

  t.is((await lstat(join(dest, 'bin/tool-link'))).ino, tool.ino, 'hard link shares the inode');
  t.is(await readlink(join(dest, 'bin/abs')), '/etc/passwd', 'absolute symlink kept as is');
  t.is(await readlink(join(dest, 'bin/rel')), '../lib/x');
  t.is(await readlink(join(dest, 'bin/dangling')), '/nowhere/at/all');
  t.is((await stat(join(dest, 'bin'))).mtimeMs, 1_600_000_000_000, 'directory time set after its children');

  const pipe = await lstat(join(dest, 'run/pipe'));
  t.true(pipe.isFIFO());
  t.is(pipe.mode & 0o7777, 0o620);
  t.deepEqual([pipe.uid, pipe.gid], [7, 8]);
  const devnull = await lstat(join(dest, 'dev/null'));
  t.true(devnull.isCharacterDevice());
  t.is(devnull.rdev, (1 << 8) | 3);
  t.is((await lstat(join(dest, 'tmp'))).mode & 0o7777, 0o1777, 'sticky bit kept');

  const gone = await lstat(join(dest, 'etc/gone'));
  t.true(gone.isCharacterDevice(), '.wh.gone became a character device');
  t.is(gone.rdev, 0, '0:0 is overlayfs whiteout');
  t.false(existsSync(join(dest, 'etc/.wh.gone')));
  t.is(xattr(join(dest, 'opq'), 'trusted.overlay.opaque'), Buffer.from('y').toString('hex'));
  t.is(xattr(dest, 'user.root'), Buffer.from('r').toString('hex'), 'an xattr of the layer root itself');
  t.deepEqual(await readdir(join(dest, 'opq')), ['kept']);
  const big = await lstat(join(dest, 'big-uid'));
  t.deepEqual([big.uid, big.gid], [3_000_000, 3_000_001], 'PAX uid/gid beyond the octal field');
});

for (const compression of ['none', 'gzip', 'zstd'] as const) {
  test(`a ${compression} layer unpacks to the same diff_id`, async (t) => {
    prereqs();
    const { result, tar } = await unpack(t, [{ name: 'a/b/c', content: 'abc' }], compression);
    t.is(result.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
    t.is(result.entries, 1);
  });
}

test('whiteouts and opaque directories hide lower files once mounted with overlayfs', async (t) => {
  prereqs();
  const lower = await unpack(t, [
    { name: 'etc/gone', content: 'old' },
    { name: 'etc/stays', content: 'stays' },
    { name: 'opq/old', content: 'old' },
    { name: 'dir-to-file/x', content: 'x' },
  ]);
  const upper = await unpack(t, [
    { name: 'etc/.wh.gone', content: '' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/.wh..wh..opq', content: '' },
    { name: 'opq/new', content: 'new' },
    { name: '.wh.dir-to-file', content: '' },
    { name: 'dir-to-file', content: 'now a file' },
  ]);
  const mnt = await tempDir(t, 'berth-ovl-');
  const r = spawnSync(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      'mount -t overlay overlay -o "lowerdir=$1:$2" "$3" && cd "$3" && ls etc && echo -- && ls opq && echo -- && cat dir-to-file',
      'sh',
      upper.dest,
      lower.dest,
      mnt,
    ],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'stays\n--\nnew\n--\nnow a file');
});

// ---- hostile layers: each rejected, naming the entry; nothing appears outside.

interface Hostile {
  title: string;
  entries: (outside: string) => TarEntry[];
  entry: string;
}

const hostile: Hostile[] = [
  { title: 'a ../ path', entries: () => [{ name: '../escape', content: 'x' }], entry: '../escape' },
  { title: 'a ../ path in the middle', entries: () => [{ name: 'a/../../escape', content: 'x' }], entry: 'a/../../escape' },
  { title: 'an absolute path', entries: (o) => [{ name: `${o}/escape`, content: 'x' }], entry: '/escape' },
  {
    title: 'a write through a symlink',
    entries: (o) => [
      { name: 'link', type: 'symlink', linkname: o },
      { name: 'link/escape', content: 'x' },
    ],
    entry: 'link/escape',
  },
  {
    title: 'a write through a symlink in a parent component',
    entries: (o) => [
      { name: 'd', type: 'symlink', linkname: o },
      { name: 'd/sub/escape', content: 'x' },
    ],
    entry: 'd/sub/escape',
  },
  {
    title: 'a relative symlink climbing out, then written through',
    entries: () => [
      { name: 'up', type: 'symlink', linkname: '../../outside' },
      { name: 'up/escape', type: 'directory' },
    ],
    entry: 'up/escape',
  },
  {
    title: 'a whiteout through a symlink',
    entries: (o) => [
      { name: 's', type: 'symlink', linkname: o },
      { name: 's/.wh.secret', content: '' },
    ],
    entry: 's/.wh.secret',
  },
  { title: 'a hard link to ../', entries: () => [{ name: 'h', type: 'link', linkname: '../outside/secret' }], entry: 'h' },
  { title: 'a hard link to an absolute host path', entries: (o) => [{ name: 'h', type: 'link', linkname: `${o}/secret` }], entry: 'h' },
  { title: 'a hard link to a file not in the layer', entries: () => [{ name: 'h', type: 'link', linkname: 'etc/shadow' }], entry: 'h' },
  {
    title: 'a hard link through a symlink',
    entries: (o) => [
      { name: 's', type: 'symlink', linkname: o },
      { name: 'h', type: 'link', linkname: 's/secret' },
    ],
    entry: 'h',
  },
  { title: 'a block device', entries: () => [{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], entry: 'dev/sda' },
  {
    title: 'a character device outside the standard set',
    entries: () => [{ name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 }],
    entry: 'dev/mem',
  },
  { title: 'a raw overlay whiteout device', entries: () => [{ name: 'x', type: 'character-device', devmajor: 0, devminor: 0 }], entry: 'x' },
  {
    title: 'an overlayfs xattr',
    entries: () => [{ name: 'd/', type: 'directory', xattrs: { 'trusted.overlay.redirect': '/etc' } }],
    entry: 'd/',
  },
];

for (const h of hostile) {
  test(`a layer with ${h.title} is rejected and writes nothing outside`, async (t) => {
    prereqs();
    const base = await tempDir(t, 'berth-hostile-');
    const outside = join(base, 'outside');
    const dest = join(base, 'a', 'layer');
    await mkdir(outside);
    await mkdir(dest, { recursive: true });
    await writeFile(join(outside, 'secret'), 'secret');
    const tar = await tarball(h.entries(outside));
    const error = await t.throwsAsync(unpackLayerBytes(tar, 'none', dest, { what: 'hostile layer', fsutil }));
    t.true(isBerthError(error), String(error));
    if (isBerthError(error)) {
      t.is(error.code, 'E_IMAGE_LAYER_UNSAFE', error.message);
      t.true(error.message.includes(JSON.stringify(h.entry).slice(1, -1)), `the error names the entry: ${error.message}`);
    }
    t.deepEqual(await readdir(outside), ['secret'], 'nothing new outside');
    t.is(await readFile(join(outside, 'secret'), 'utf8'), 'secret');
    t.deepEqual((await readdir(base)).sort(), ['a', 'outside']);
    t.deepEqual(await readdir(join(base, 'a')), ['layer']);
    t.false(existsSync('/escape'));
  });
}

test('a truncated gzip layer and a mislabelled one are invalid, not unsafe', async (t) => {
  prereqs();
  const base = await tempDir(t, 'berth-bad-');
  const tar = await tarball([{ name: 'a', content: 'a'.repeat(5000) }]);
  const gz = compress.gzip(tar);
  await mkdir(join(base, 'one'));
  await mkdir(join(base, 'two'));
  const e1 = await t.throwsAsync(unpackLayerBytes(gz.subarray(0, gz.length - 20), 'gzip', join(base, 'one'), { what: 'truncated layer', fsutil }));
  t.is(isBerthError(e1) ? e1.code : undefined, 'E_IMAGE_LAYER_INVALID', String(e1));
  t.regex(String(e1?.message), /truncated layer/);
  const e2 = await t.throwsAsync(unpackLayerBytes(tar, 'gzip', join(base, 'two'), { what: 'plain tar said to be gzip', fsutil }));
  t.is(isBerthError(e2) ? e2.code : undefined, 'E_IMAGE_LAYER_INVALID', String(e2));
});
