/**
 * The authorized_keys text Berth writes: one forced, restricted git-shell line per key, the
 * command's words quoted for sshd's `sh -c`, and paths that cannot be written there refused.
 */
import test from 'ava';
import { authorizedKeysText, type SshKey } from '../../../server/git/index.js';
import { BerthError } from '../../../server/core/index.js';
import { splitWords } from '../../../server/cli/commands/git-shell/parse.js';

const key = (name: string, type = 'ssh-ed25519', blob = 'AAAAC3NzaC1lZDI1NTE5AAAAIGk0'): SshKey => ({
  name,
  type,
  key: blob,
  fingerprint: 'SHA256:x',
  bits: 256,
  comment: 'a "comment" that never reaches the file',
  addedAt: '2026-01-01T00:00:00.000Z',
});

test('one line per key: the forced git-shell command with restrict, then the key and its name', (t) => {
  const text = authorizedKeysText([key('alice'), key('bob@laptop', 'ssh-rsa', 'AAAAB3Nza')], {
    argv: ['/opt/berth/node', '/opt/berth/dist/cli/main.js'],
    apiConfig: '/var/lib/berth/ssh/cli.json',
  });
  const lines = text.trimEnd().split('\n');
  t.regex(lines[0]!, /^# Written by Berth/);
  t.deepEqual(lines.slice(1), [
    'command="/opt/berth/node /opt/berth/dist/cli/main.js git-shell --api-config /var/lib/berth/ssh/cli.json alice",restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk0 alice',
    'command="/opt/berth/node /opt/berth/dist/cli/main.js git-shell --api-config /var/lib/berth/ssh/cli.json bob@laptop",restrict ssh-rsa AAAAB3Nza bob@laptop',
  ]);
  t.false(text.includes('comment'), "the key's comment is not written");
  t.is(
    authorizedKeysText([], { argv: ['/n'], apiConfig: '/c' })
      .trimEnd()
      .split('\n').length,
    1,
    'no key: the header alone',
  );
});

test("paths with spaces or quotes are quoted for the user's shell, so sshd runs exactly these words", (t) => {
  const argv = ['/opt/my berth/node', "--import=/o'k/loader.mjs", '/x/main.ts'];
  const text = authorizedKeysText([key('alice')], { argv, apiConfig: '/var/lib/my berth/ssh/cli.json' });
  const command = /^command="(.*)",restrict /m.exec(text)![1]!;
  t.deepEqual(splitWords(command), [...argv, 'git-shell', '--api-config', '/var/lib/my berth/ssh/cli.json', 'alice']);
});

test('a path holding a double quote, a backslash or a newline cannot go into authorized_keys', (t) => {
  for (const bad of ['/a"b/node', '/a\\b/node', '/a\nb/node']) {
    const err = t.throws(() => authorizedKeysText([key('alice')], { argv: [bad], apiConfig: '/c' }), { instanceOf: BerthError });
    t.is(err?.code, 'E_CONFIG_INVALID', JSON.stringify(bad));
  }
  t.throws(() => authorizedKeysText([], { argv: [], apiConfig: '/c' }), { message: /empty/ });
});
