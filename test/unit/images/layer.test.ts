import test from 'ava';
import { isBerthError } from '../../../server/core/errors.js';
import { entryPath, sniffCompression, xattrAllowed } from '../../../server/images/layer.js';
import { gzipSync, zstdCompressSync } from 'node:zlib';

test('entry names: ./ prefixes and trailing slashes are the only forms cleaned', (t) => {
  t.is(entryPath('./', 'l'), '');
  t.is(entryPath('.', 'l'), '');
  t.is(entryPath('./etc/passwd', 'l'), 'etc/passwd');
  t.is(entryPath('usr/bin/', 'l'), 'usr/bin');
  t.is(entryPath('a/.wh..wh..opq', 'l'), 'a/.wh..wh..opq');
  t.is(entryPath('..foo/bar..', 'l'), '..foo/bar..');
});

for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a/..', 'a//b', 'a/./b', 'x\0y']) {
  test(`entry name ${JSON.stringify(bad)} is unsafe`, (t) => {
    const error = t.throws(() => entryPath(bad, 'layer 1'));
    t.true(isBerthError(error) && error.code === 'E_IMAGE_LAYER_UNSAFE');
    t.true(error?.message.startsWith('layer 1: entry '));
  });
}

test('compression is told by the first bytes', (t) => {
  t.is(sniffCompression(gzipSync(Buffer.from('x'))), 'gzip');
  t.is(sniffCompression(zstdCompressSync(Buffer.from('x'))), 'zstd');
  t.is(sniffCompression(Buffer.from('etc/passwd\0')), 'none');
  t.is(sniffCompression(Buffer.alloc(0)), 'none');
});

test('xattr namespaces: user, security and ACLs yes; trusted (overlayfs) and others no', (t) => {
  for (const ok of ['user.x', 'security.capability', 'security.selinux', 'system.posix_acl_access', 'system.posix_acl_default']) t.true(xattrAllowed(ok), ok);
  for (const no of ['trusted.overlay.opaque', 'trusted.overlay.redirect', 'trusted.x', 'system.nfs4_acl', 'user.', 'security.', 'foo'])
    t.false(xattrAllowed(no), no);
});
