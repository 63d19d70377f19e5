/**
 * net.ipv4.ip_forward: set by the first NAT network, put back by the last one removed, never
 * touched by a --no-nat network. The sysctl is per network namespace, and the record of who
 * holds it (/run/berth-network) is host-wide: so each case runs berth-runtime in a network
 * namespace and a mount namespace of its own (`unshare -m -n`, a tmpfs over
 * /run/berth-network), where other test files' networks neither see nor change its value.
 * The steps are real: real sysctl, bridges, nft tables, in that namespace.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, requireRoot } from '../../helpers/prereq.js';
import { runtimeBinary } from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';

/**
 * Run `steps` (shell lines; `B` is berth-runtime with a private root, `fwd` prints the
 * sysctl) in fresh network and mount namespaces; returns the lines they print. The
 * namespaces end with the shell: nothing is left on the host.
 */
function inPrivateNet(root: string, initial: '0' | '1', steps: string): string[] {
  mkdirSync('/run/berth-network', { recursive: true, mode: 0o700 });
  const script = [
    'set -eu',
    'mount --make-rprivate /',
    'mount -t tmpfs -o mode=0700 berth-test /run/berth-network',
    `B() { "${runtimeBinary}" --root "${root}" "$@"; }`,
    'fwd() { echo "$1 $(cat /proc/sys/net/ipv4/ip_forward)"; }',
    `echo ${initial} > /proc/sys/net/ipv4/ip_forward`,
    steps,
  ].join('\n');
  const r = spawnSync('/usr/bin/unshare', ['-m', '-n', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`the steps failed (${r.status ?? r.signal}): ${r.stderr}\n${r.stdout}`);
  return r.stdout.trim().split('\n');
}

test.before(() => {
  requireRoot('network namespaces');
  requireBinary('/usr/bin/unshare', 'util-linux');
});

test('the first NAT network sets ip_forward, the last one removed puts 0 back', async (t) => {
  const root = join(await tempDir(t, 'berth-fwd-'), 'state');
  const out = inPrivateNet(
    root,
    '0',
    [
      'fwd start',
      'B network create --no-nat plain >/dev/null; fwd no-nat',
      'B network create one >/dev/null; fwd one',
      'B network create two >/dev/null; fwd two',
      'B network rm one >/dev/null; fwd rm-one',
      'B network rm plain >/dev/null; fwd rm-plain',
      'B network rm two >/dev/null; fwd rm-two',
      'echo "holders $(ls -A /run/berth-network/forward | wc -l)"',
    ].join('\n'),
  );
  t.deepEqual(out, ['start 0', 'no-nat 0', 'one 1', 'two 1', 'rm-one 1', 'rm-plain 1', 'rm-two 0', 'holders 0']);
});

test("a host that forwarded already keeps forwarding after Berth's networks are gone", async (t) => {
  const root = join(await tempDir(t, 'berth-fwd-'), 'state');
  const out = inPrivateNet(root, '1', ['B network create one >/dev/null; fwd one', 'B network rm one >/dev/null; fwd rm-one'].join('\n'));
  t.deepEqual(out, ['one 1', 'rm-one 1']);
});

test('network update: turning NAT on holds ip_forward, turning it off puts it back', async (t) => {
  const root = join(await tempDir(t, 'berth-fwd-'), 'state');
  const out = inPrivateNet(
    root,
    '0',
    [
      'B network create --no-nat one >/dev/null; fwd created',
      'B network update --nat one >/dev/null; fwd nat-on',
      'B network update --nat one >/dev/null; fwd nat-on-again',
      'B network update --no-nat one >/dev/null; fwd nat-off',
      'B network rm one >/dev/null; fwd removed',
    ].join('\n'),
  );
  t.deepEqual(out, ['created 0', 'nat-on 1', 'nat-on-again 1', 'nat-off 0', 'removed 0']);
});

test('a --no-nat network never changes ip_forward, even when the operator set it', async (t) => {
  const root = join(await tempDir(t, 'berth-fwd-'), 'state');
  const out = inPrivateNet(
    root,
    '0',
    ['B network create --no-nat plain >/dev/null; fwd created', 'echo 1 > /proc/sys/net/ipv4/ip_forward', 'B network rm plain >/dev/null; fwd removed'].join(
      '\n',
    ),
  );
  t.deepEqual(out, ['created 0', 'removed 1']);
});
