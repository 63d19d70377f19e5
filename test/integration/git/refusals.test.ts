/**
 * Pushes Berth refuses over HTTP, each with a clear reason and nothing queued or stored: no
 * token or a wrong one (401 before git starts), an app that does not exist when auto-create is
 * off, a symlink leading out of the tree, a file over BERTH_GIT_MAX_FILE_BYTES.
 */
import { readdir, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import test from 'ava';
import { commitFiles, git, startGitServer, workTree } from '../../helpers/git-server.js';
import { uniqueName } from '../../helpers/temp-dir.js';

const never = async (): Promise<never> => {
  throw new Error('no job should run');
};

/** Every file under `dir`, for "nothing was stored". */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

function post(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, timeout: 10_000 });
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.once('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.once('error', reject);
    req.end(body);
  });
}

test('without the token, or with a wrong one, git-receive-pack answers 401 with WWW-Authenticate and stores nothing', async (t) => {
  const server = await startGitServer(t, { processor: never });
  const app = uniqueName('app');
  await server.apps.create(app);
  const repo = server.apps.paths(app).repo;
  const before = await filesUnder(repo);
  // A well-formed receive-pack request: one ref update and an empty pack.
  const line = `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/main\0report-status\n`;
  const body = Buffer.concat([Buffer.from(`${(line.length + 4).toString(16).padStart(4, '0')}${line}0000`), Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'binary')]);
  for (const authorization of [undefined, `Basic ${Buffer.from('berth:wrong').toString('base64')}`]) {
    const r = await post(
      `${server.url}/${app}.git/git-receive-pack`,
      { 'content-type': 'application/x-git-receive-pack-request', ...(authorization ? { authorization } : {}) },
      body,
    );
    t.is(r.status, 401);
    t.regex(String(r.headers['www-authenticate']), /^Basic realm="berth"/);
    t.is(JSON.parse(r.text).error.code, 'E_API_UNAUTHORIZED');
  }
  t.deepEqual(await filesUnder(repo), before, 'nothing was written into the repo');
  // The same through git itself: refused, and an unknown app is not auto-created by it.
  const work = await workTree(t);
  for (const remote of [server.remote(app, false), server.remote(app, 'wrong')]) {
    const r = await git(work, 'push', remote, 'main');
    t.not(r.code, 0);
    // Without credentials git asks for them (and may not: no terminal); with wrong ones it says so.
    t.regex(r.stderr, remote.includes('@') ? /Authentication failed/ : /could not read Username/);
  }
  const other = uniqueName('app');
  t.not((await git(work, 'push', server.remote(other, false), 'main')).code, 0);
  t.is(await server.apps.find(other), undefined);
  t.deepEqual(await filesUnder(repo), before);
  t.deepEqual(await server.queue.list(), []);
});

test('with BERTH_APPS_AUTOCREATE off, a push to an unknown app is refused naming apps:create, and creates nothing', async (t) => {
  const server = await startGitServer(t, { processor: never, autoCreate: false });
  const app = uniqueName('app');
  const work = await workTree(t);
  const r = await git(work, 'push', server.remote(app), 'main');
  t.not(r.code, 0);
  t.regex(r.stderr, /404|not found/i);
  t.is(await server.apps.find(app), undefined);
  // What git does not show, the API says: the answer names the command.
  const answer = await fetch(`${server.url}/${app}.git/info/refs?service=git-receive-pack`, { headers: { authorization: `Bearer ${server.token}` } });
  t.is(answer.status, 404);
  const { error } = (await answer.json()) as { error: { code: string; hint: string } };
  t.is(error.code, 'E_APP_NOT_FOUND');
  t.regex(error.hint, /apps:create/);
});

test('an invalid app name in the URL is refused before anything runs', async (t) => {
  const server = await startGitServer(t, { processor: never });
  const answer = await fetch(`${server.url}/Bad_Name.git/info/refs?service=git-receive-pack`, { headers: { authorization: `Bearer ${server.token}` } });
  t.is(answer.status, 400);
  t.is(((await answer.json()) as { error: { code: string } }).error.code, 'E_NAME_INVALID');
});

test('a commit with a symlink leading outside the tree is rejected naming it; nothing is queued and the branch does not move', async (t) => {
  const server = await startGitServer(t, { processor: never });
  const app = uniqueName('app');
  const work = await workTree(t, { Procfile: 'web: ./run\n' });
  await symlink('../../../etc/passwd', join(work, 'passwd'));
  // Lexically inside, physically outside: s is the top itself, so d/e/t climbs out of it.
  await symlink('.', join(work, 's'));
  await commitFiles(work, { 'd/e/keep': '' }, 'links');
  await symlink('../../s/..', join(work, 'd', 'e', 't'));
  await commitFiles(work, {}, 'the sneaky one');
  const r = await git(work, 'push', server.remote(app), 'main');
  t.not(r.code, 0);
  t.regex(
    r.stderr,
    /remote:  ! {5}commit [0-9a-f]{7} has 2 symlinks leading outside the repository: d\/e\/t -> \.\.\/\.\.\/s\/\.\., passwd -> \.\.\/\.\.\/\.\.\/etc\/passwd \[E_GIT_SYMLINK_OUTSIDE\]/,
  );
  t.deepEqual(await server.queue.list(app), []);
  t.is((await git(server.apps.paths(app).repo, 'show-ref')).stdout, '');
});

test('a symlink that stays inside the tree is fine', async (t) => {
  const server = await startGitServer(t, { processor: async () => ({}) });
  const app = uniqueName('app');
  const work = await workTree(t, { 'config/app.yml': 'a: 1\n' });
  await symlink('../config/app.yml', join(work, 'config', 'link.yml'));
  await symlink('config', join(work, 'conf'));
  await commitFiles(work, {}, 'links');
  const r = await git(work, 'push', server.remote(app), 'main');
  t.is(r.code, 0, r.stderr);
});

test('a commit with a file over the limit is rejected naming the file and its size', async (t) => {
  const server = await startGitServer(t, { processor: never, maxFileBytes: 1024 });
  const app = uniqueName('app');
  const work = await workTree(t, { 'small.txt': 'x'.repeat(1024), 'assets/big.bin': 'y'.repeat(1025) });
  const r = await git(work, 'push', server.remote(app), 'main');
  t.not(r.code, 0);
  t.regex(r.stderr, /has a file larger than 1024 bytes \(BERTH_GIT_MAX_FILE_BYTES\): assets\/big\.bin \(1025 bytes\) \[E_GIT_FILE_TOO_LARGE\]/);
  t.notRegex(r.stderr, /small\.txt/);
  t.deepEqual(await server.queue.list(app), []);
  t.is((await git(server.apps.paths(app).repo, 'show-ref')).stdout, '');
});
