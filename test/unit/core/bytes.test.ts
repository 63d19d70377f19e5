/** formatBytes: Berth's "7.9 MiB" and the forms Docker's CLI prints. */
import test from 'ava';
import { formatBytes } from '../../../server/core/bytes.js';

test('binary units with one decimal by default, bytes as a whole number', (t) => {
  t.is(formatBytes(0), '0 B');
  t.is(formatBytes(512), '512 B');
  t.is(formatBytes(1023), '1023 B');
  t.is(formatBytes(1024), '1.0 KiB');
  t.is(formatBytes(8_290_000), '7.9 MiB');
  t.is(formatBytes(12 * 1024 ** 3), '12.0 GiB');
  t.is(formatBytes(3 * 1024 ** 6), '3072.0 PiB', 'the largest unit keeps growing');
});

test("Docker's BytesSize: four significant digits, trailing zeros dropped, no space", (t) => {
  const docker = { significant: 4, separator: '' };
  t.is(formatBytes(512, docker), '512B');
  t.is(formatBytes(1_597_000, docker), '1.523MiB');
  t.is(formatBytes(512 * 1024 ** 2, docker), '512MiB');
});

test('decimal units', (t) => {
  t.is(formatBytes(999, { base: 1000 }), '999 B');
  t.is(formatBytes(4_260_000, { base: 1000, significant: 3, separator: '' }), '4.26MB');
  t.is(formatBytes(1_000_000, { base: 1000 }), '1.0 MB');
});
