/**
 * /v1/ssh-keys over HTTP (supertest) with a real key store whose install is recorded: the
 * key's blob never comes back, bad bodies and keys are 400, duplicates 409, unknown names 404.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { createApi } from '../../../server/api/index.js';
import { SshKeyStore } from '../../../server/git/index.js';
import { testLogger } from '../../helpers/logger.js';
import { requireBinary } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { token } from './fixture.js';

test('add, list and remove keys; the API never answers the blob; errors have their codes', async (t) => {
  const dir = await tempDir(t);
  spawnSync(requireBinary('/usr/bin/ssh-keygen', 'openssh-client'), ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', join(dir, 'k')]);
  const pub = await readFile(join(dir, 'k.pub'), 'utf8');
  const installed: string[][] = [];
  const keys = new SshKeyStore({ file: join(dir, 'keys.json'), install: async (list) => void installed.push(list.map((k) => k.name)) });
  const app = createApi({ token, log: testLogger(dir), status: () => Promise.reject(new Error('unused')), sshKeys: keys });
  const auth = (r: request.Test) => r.set('authorization', `Bearer ${token}`);

  t.is((await request(app).get('/v1/ssh-keys')).status, 401);
  const added = await auth(request(app).post('/v1/ssh-keys')).send({ name: 'laptop', key: pub });
  t.is(added.status, 201, JSON.stringify(added.body));
  t.like(added.body, { name: 'laptop', type: 'ssh-ed25519', bits: 256, comment: 'me@laptop' });
  t.regex(added.body.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.false('key' in added.body, 'no blob in the answer');
  const listed = await auth(request(app).get('/v1/ssh-keys'));
  t.deepEqual(
    listed.body.map((k: { name: string }) => k.name),
    ['laptop'],
  );
  t.false('key' in listed.body[0]);

  const again = await auth(request(app).post('/v1/ssh-keys')).send({ name: 'other', key: pub });
  t.is(again.status, 409);
  t.is(again.body.error.code, 'E_GIT_SSH_KEY_EXISTS');
  const bad = await auth(request(app).post('/v1/ssh-keys')).send({ name: 'x', key: 'ssh-ed25519 nope' });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'E_GIT_SSH_KEY_INVALID');
  const shape = await auth(request(app).post('/v1/ssh-keys')).send({ name: 'x' });
  t.is(shape.status, 400);
  t.is(shape.body.error.code, 'E_API_BAD_REQUEST');
  t.regex(shape.body.error.message, /key/);
  const badName = await auth(request(app).post('/v1/ssh-keys')).send({ name: 'a b', key: pub });
  t.is(badName.body.error.code, 'E_NAME_INVALID');

  const removed = await auth(request(app).delete('/v1/ssh-keys/laptop'));
  t.is(removed.status, 200);
  t.like(removed.body, { name: 'laptop', fingerprint: added.body.fingerprint });
  const gone = await auth(request(app).delete('/v1/ssh-keys/laptop'));
  t.is(gone.status, 404);
  t.is(gone.body.error.code, 'E_GIT_SSH_KEY_NOT_FOUND');
  t.deepEqual(installed, [['laptop'], []]);
});
