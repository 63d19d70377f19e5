/**
 * SSH public keys: real keys of every accepted type, made by ssh-keygen, parse and get the
 * fingerprint `ssh-keygen -lf` prints; each kind of bad key text is refused naming what is
 * wrong; the store keeps names and keys unique and installs a change before storing it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../../server/core/index.js';
import { parsePublicKey, SshKeyStore, type SshKey } from '../../../server/git/index.js';
import { requireBinary } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';

const sshKeygen = () => requireBinary('/usr/bin/ssh-keygen', 'openssh-client');

/** A fresh key pair made by ssh-keygen: the public key's text and ssh-keygen's own fingerprint line. */
async function keygen(dir: string, type: string, bits?: number, comment = 'dev@laptop'): Promise<{ text: string; fingerprint: string; bits: number }> {
  const file = join(dir, `${type}-${bits ?? 'default'}-${Math.random().toString(16).slice(2)}`);
  const made = spawnSync(sshKeygen(), ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', comment, '-f', file], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`ssh-keygen -t ${type}: ${made.stderr}`);
  const listed = spawnSync(sshKeygen(), ['-lf', `${file}.pub`], { encoding: 'utf8' });
  const [size, fingerprint] = listed.stdout.trim().split(' ');
  return { text: await readFile(`${file}.pub`, 'utf8'), fingerprint: fingerprint!, bits: Number(size) };
}

const invalid = (t: import('ava').ExecutionContext, text: string, message: RegExp) => {
  const err = t.throws(() => parsePublicKey(text), { instanceOf: BerthError }, text.slice(0, 60));
  t.is(err?.code, 'E_GIT_SSH_KEY_INVALID');
  t.regex(err?.message ?? '', message);
};

test('keys of every accepted type parse, with the fingerprint and size ssh-keygen -lf gives', async (t) => {
  const dir = await tempDir(t);
  for (const [type, bits] of [
    ['ed25519', undefined],
    ['rsa', 2048],
    ['rsa', 3072],
    ['ecdsa', 256],
    ['ecdsa', 384],
    ['ecdsa', 521],
  ] as const) {
    const k = await keygen(dir, type, bits);
    const parsed = parsePublicKey(k.text);
    t.is(parsed.fingerprint, k.fingerprint, `${type} ${bits ?? ''}`);
    t.is(parsed.bits, k.bits, `${type} ${bits ?? ''} bits`);
    t.is(parsed.comment, 'dev@laptop');
    t.is(`${parsed.type} ${parsed.key}`, k.text.trim().split(' ').slice(0, 2).join(' '));
  }
});

test('blank lines, comments and CRLF around the one key are accepted; a key without a comment has none', async (t) => {
  const dir = await tempDir(t);
  const k = await keygen(dir, 'ed25519', undefined, '');
  const parsed = parsePublicKey(`# my laptop\r\n\r\n${k.text.trim()}\r\n\n`);
  t.is(parsed.fingerprint, k.fingerprint);
  t.is(parsed.comment, undefined);
});

test('bad key text is E_GIT_SSH_KEY_INVALID saying what is wrong', async (t) => {
  const dir = await tempDir(t);
  const ed = (await keygen(dir, 'ed25519')).text.trim();
  const [type, data] = ed.split(' ') as [string, string];
  const blob = Buffer.from(data, 'base64');
  const reblob = (b: Buffer, as = type) => `${as} ${b.toString('base64')}`;
  invalid(t, '', /empty/);
  invalid(t, '# only a comment\n', /empty/);
  invalid(
    t,
    await readFile(
      join(
        dir,
        (await import('node:fs')).readdirSync(dir).find((f) => !f.endsWith('.pub'))!,
      ),
      'utf8',
    ),
    /PRIVATE key/,
  );
  invalid(t, `${ed}\n${ed}\n`, /2 lines/);
  invalid(t, `command="sh" ${ed}`, /options before the key/);
  invalid(t, `no-pty ${ed}`, /options before the key/);
  invalid(t, `ssh-dss ${data}`, /ssh-dss are not accepted/);
  invalid(t, `ssh-ed25519-cert-v01@openssh.com ${data}`, /are not accepted/);
  invalid(t, `hello ${data}`, /"hello" is not an SSH public key type/);
  invalid(t, `${type} not*base64`, /not base64/);
  invalid(t, `${type}`, /not base64/);
  invalid(t, reblob(blob.subarray(0, blob.length - 5)), /ends inside/);
  invalid(t, reblob(Buffer.concat([blob, Buffer.from([0, 0, 0, 0])])), /4 bytes after the key/);
  invalid(t, reblob(blob, 'ecdsa-sha2-nistp256'), /blob says it is a "ssh-ed25519" key/);
  const rsa1024 = spawnSync(sshKeygen(), ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', join(dir, 'rsa1024')], { encoding: 'utf8' });
  t.is(rsa1024.status, 0, rsa1024.stderr);
  invalid(t, await readFile(join(dir, 'rsa1024.pub'), 'utf8'), /RSA key of 1024 bits; Berth accepts 2048 bits or more/);
  // An ed25519 key of the wrong length, built field by field.
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  invalid(t, reblob(Buffer.concat([field(Buffer.from(type)), field(Buffer.alloc(31, 1))])), /31 bytes, not 32/);
  invalid(t, `${type} ${'A'.repeat(20_000)}`, /at most 16384/);
});

async function storeFixture(t: import('ava').ExecutionContext, failInstall?: () => boolean) {
  const dir = await tempDir(t);
  const installed: string[][] = [];
  const store = new SshKeyStore({
    file: join(dir, 'keys.json'),
    install: async (keys: readonly SshKey[]) => {
      if (failInstall?.()) throw new BerthError('E_GIT_SSH_USER_UNUSABLE', 'git over SSH needs the system user berth, but there is no such user');
      installed.push(keys.map((k) => k.name));
    },
  });
  return { dir, store, installed, file: join(dir, 'keys.json') };
}

test('the store: add, list sorted by name, remove; every change installed before it is stored', async (t) => {
  const { dir, store, installed, file } = await storeFixture(t);
  const a = await keygen(dir, 'ed25519');
  const b = await keygen(dir, 'rsa', 2048);
  t.deepEqual(await store.list(), []);
  const added = await store.add('zed', a.text);
  t.like(added, { name: 'zed', type: 'ssh-ed25519', fingerprint: a.fingerprint });
  t.regex(added.addedAt, /^\d{4}-\d\d-\d\dT/);
  await store.add('alice@laptop', b.text);
  t.deepEqual(
    (await store.list()).map((k) => k.name),
    ['alice@laptop', 'zed'],
  );
  t.deepEqual(installed, [['zed'], ['zed', 'alice@laptop']]);
  t.is((await import('node:fs')).statSync(file).mode & 0o777, 0o600);
  t.like(await store.remove('zed'), { name: 'zed', fingerprint: a.fingerprint });
  t.deepEqual(
    (await store.list()).map((k) => k.name),
    ['alice@laptop'],
  );
  t.deepEqual(installed.at(-1), ['alice@laptop']);
  await store.sync();
  t.deepEqual(installed.at(-1), ['alice@laptop']);
});

test('the same name or the same key twice is E_GIT_SSH_KEY_EXISTS naming the holder; nothing changes', async (t) => {
  const { dir, store, installed } = await storeFixture(t);
  const a = await keygen(dir, 'ed25519');
  const b = await keygen(dir, 'ed25519');
  await store.add('alice', a.text);
  const sameName = await t.throwsAsync(store.add('alice', b.text), { instanceOf: BerthError });
  t.is(sameName?.code, 'E_GIT_SSH_KEY_EXISTS');
  t.regex(sameName?.message ?? '', new RegExp(`a key named alice is already added \\(${a.fingerprint.replace(/[+/]/g, '\\$&')}\\)`));
  const sameKey = await t.throwsAsync(store.add('bob', a.text.replace('dev@laptop', 'other comment')), { instanceOf: BerthError });
  t.is(sameKey?.code, 'E_GIT_SSH_KEY_EXISTS');
  t.regex(sameKey?.message ?? '', /is already added as alice/);
  t.regex(sameKey?.hint ?? '', /ssh-keys:remove alice/);
  t.deepEqual(
    (await store.list()).map((k) => k.name),
    ['alice'],
  );
  t.is(installed.length, 1);
});

test('bad names, unknown names and a failing install change nothing', async (t) => {
  let fail = false;
  const { dir, store, file } = await storeFixture(t, () => fail);
  const a = await keygen(dir, 'ed25519');
  for (const name of ['', '-x', 'a b', 'a"b', 'a'.repeat(65), 'x;rm']) {
    const err = await t.throwsAsync(store.add(name, a.text), { instanceOf: BerthError }, name);
    t.is(err?.code, 'E_NAME_INVALID', name);
  }
  const missing = await t.throwsAsync(store.remove('nobody'), { instanceOf: BerthError });
  t.is(missing?.code, 'E_GIT_SSH_KEY_NOT_FOUND');
  t.regex(missing?.message ?? '', /no SSH key named nobody \(none is added\)/);
  fail = true;
  const err = await t.throwsAsync(store.add('alice', a.text), { instanceOf: BerthError });
  t.is(err?.code, 'E_GIT_SSH_USER_UNUSABLE');
  t.false((await import('node:fs')).existsSync(file), 'nothing stored');
  fail = false;
  await store.add('alice', a.text);
  fail = true;
  await t.throwsAsync(store.remove('alice'), { code: 'E_GIT_SSH_USER_UNUSABLE' } as never);
  fail = false;
  t.deepEqual(
    (await store.list()).map((k) => k.name),
    ['alice'],
    'a failed remove keeps the key',
  );
});
