/**
 * The smart-HTTP transport itself (node-git-server under express, server/git/http.ts), where
 * node-git-server alone goes wrong: a push whose first command is outside refs/heads and
 * refs/tags (its header regex never matches: it would hang), gzip-encoded request bodies
 * (inflated by Berth; a body that is not gzip would crash the process), and a pusher that
 * breaks off mid-upload (it would crash the process, or leave git waiting for the rest); and
 * the hook, which finds its app from the repository it runs in (git gets no per-request env).
 */
import { readdir, readlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { gitOk, startGit, startGitServer, workTree, type TestGitServer } from '../../helpers/git-server.js';
import { uniqueName } from '../../helpers/temp-dir.js';

const never = async (): Promise<never> => {
  throw new Error('no job should run');
};

/** A pkt-line (gitprotocol-common(5)). */
const pkt = (data: string): string => `${(data.length + 4).toString(16).padStart(4, '0')}${data}`;

function post(
  server: TestGitServer,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-length': String(body.length), ...headers },
      timeout: 30_000,
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.once('timeout', () => req.destroy(new Error('no answer in 30 s')));
    req.once('error', reject);
    req.end(body);
  });
}

/** The processes whose working directory is `dir` (git chdirs into the repository it serves). */
async function processesIn(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    if ((await readlink(`/proc/${pid}/cwd`).catch(() => '')) === dir) out.push(Number(pid));
  }
  return out;
}

/** Poll `check` every 50 ms, at most `tries` times; whether it held. */
async function eventually(check: () => Promise<boolean>, tries = 400): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test('a push of a ref outside refs/heads and refs/tags is taken (node-git-server would never accept it) and deploys nothing', async (t) => {
  const server = await startGitServer(t, { processor: never });
  const app = uniqueName('app');
  const work = await workTree(t);
  const push = startGit(work, ['push', server.remote(app), 'HEAD:refs/notes/berth'], 60_000);
  const r = await push.done;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /remote: refs\/notes\/berth is not a branch: no deploy\./);
  t.is(await gitOk(server.apps.paths(app).repo, 'rev-parse', 'refs/notes/berth'), await gitOk(work, 'rev-parse', 'HEAD'));
  t.deepEqual(await server.queue.list(app), []);
});

test('a gzip-encoded fetch request is inflated on its way into git; a body that is not gzip is refused and the daemon serves on', async (t) => {
  const server = await startGitServer(t, { processor: async () => ({}) });
  const app = uniqueName('app');
  const work = await workTree(t, { 'a.txt': 'gzip\n' });
  await gitOk(work, 'push', server.remote(app), 'main');
  const commit = await gitOk(work, 'rev-parse', 'HEAD');
  // What git sends to fetch one commit (protocol v0, no capabilities): want, flush, done.
  const fetchRequest = Buffer.from(`${pkt(`want ${commit}\n`)}0000${pkt('done\n')}`);
  const headers = { 'content-type': 'application/x-git-upload-pack-request' };
  const gzipped = await post(server, `/${app}.git/git-upload-pack`, { ...headers, 'content-encoding': 'gzip' }, gzipSync(fetchRequest));
  t.is(gzipped.status, 200, gzipped.body.toString());
  t.is(gzipped.headers['content-type'], 'application/x-git-upload-pack-result');
  t.is(gzipped.body.subarray(0, 8).toString(), '0008NAK\n');
  t.is(gzipped.body.subarray(8, 12).toString(), 'PACK');
  const plain = await post(server, `/${app}.git/git-upload-pack`, headers, fetchRequest);
  t.deepEqual(plain.body, gzipped.body, 'the same answer as without gzip');

  const bad = await post(server, `/${app}.git/git-upload-pack`, { ...headers, 'content-encoding': 'gzip' }, fetchRequest);
  t.is(bad.status, 400);
  t.regex(String(bad.headers['content-type']), /^application\/json/);
  const { error } = JSON.parse(bad.body.toString()) as { error: { code: string; message: string } };
  t.is(error.code, 'E_API_BAD_REQUEST');
  t.regex(error.message, new RegExp(`the body of POST /${app}\\.git/git-upload-pack is not valid gzip`));
  const deflate = await post(server, `/${app}.git/git-upload-pack`, { ...headers, 'content-encoding': 'deflate' }, fetchRequest);
  t.is(deflate.status, 400);
  t.regex(deflate.body.toString(), /encoded as \\"deflate\\": only gzip or none is understood/);
  // Still serving, and git left nothing behind.
  const again = await post(server, `/${app}.git/git-upload-pack`, headers, fetchRequest);
  t.deepEqual(again.body, gzipped.body);
  t.true(await eventually(async () => (await processesIn(server.apps.paths(app).repo)).length === 0), 'no git left in the repository');
});

test('a pusher that breaks off mid-pack: git sees its input end and exits, nothing is stored, the daemon serves on', async (t) => {
  const server = await startGitServer(t, { processor: never });
  const app = uniqueName('app');
  await server.apps.create(app);
  const repo = server.apps.paths(app).repo;
  // A push announcing a pack of 1000 objects, of which only the header comes.
  const command = pkt(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/main\0report-status\n`);
  const packHeader = Buffer.from([...Buffer.from('PACK'), 0, 0, 0, 2, 0, 0, 0x03, 0xe8]);
  const req = request(`${server.url}/${app}.git/git-receive-pack`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-git-receive-pack-request' }, // chunked: no length
  });
  req.on('error', () => undefined); // destroyed below
  req.write(Buffer.concat([Buffer.from(`${command}0000`), packHeader]));
  const quarantine = async (): Promise<string[]> => (await readdir(join(repo, 'objects'))).filter((d) => d.startsWith('tmp_objdir-incoming-'));
  t.true(await eventually(async () => (await quarantine()).length > 0), 'git started receiving the pack');
  t.not((await processesIn(repo)).length, 0, 'git waits for the rest of the pack');
  req.destroy();
  t.true(await eventually(async () => (await processesIn(repo)).length === 0), 'git exited once its input ended');
  t.deepEqual(await quarantine(), [], 'the cut pack was dropped');
  t.is((await gitOk(repo, 'for-each-ref')).length, 0, 'no ref was stored');
  // The daemon is alive and serves git.
  const answer = await fetch(`${server.url}/${app}.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Bearer ${server.token}` } });
  t.is(answer.status, 200);
  t.regex(await answer.text(), /^001e# service=git-upload-pack\n0000/);
});

test('the hook finds its app from the repository it runs in: after a rename, a push deploys the renamed app', async (t) => {
  const server = await startGitServer(t, {
    processor: async (job) => {
      job.line(`deploying ${job.app}`);
      return { app: job.app };
    },
  });
  const before = uniqueName('app');
  const after = uniqueName('app');
  await server.apps.create(before);
  await server.apps.rename(before, after);
  const work = await workTree(t);
  const r = await startGit(work, ['push', server.remote(after), 'main'], 60_000).done;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`remote: deploying ${after}\\s`));
  t.deepEqual(
    (await server.queue.list(after)).map((j) => j.result),
    [{ app: after }],
  );
  t.deepEqual(await server.queue.list(before), []);
});
