/**
 * Issue 16's "Must show" over SSH: the real daemon from dist/ with BERTH_SSH_USER a unique
 * system user the test creates (and removes), a private sshd on a random loopback port reading
 * the authorized_keys the daemon writes, a key added with `berth ssh-keys:add`, a real
 * `git push ssh://…` of a Procfile app deployed through nginx, a Berth command over SSH, and
 * an unknown key refused. Nothing of the host's own sshd or keys is touched.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { gitEnv, workTree } from '../helpers/git-server.js';
import { httpGet } from '../helpers/http.js';
import { createTestUser, runProgram, startSshd } from '../helpers/sshd.js';
import { runCli, startTestDaemon } from '../helpers/start-daemon.js';
import { tempDir, uniqueName } from '../helpers/temp-dir.js';

/** A busybox app whose Procfile's web process answers `body`. */
const procfileApp = (body: string) => ({
  Dockerfile: 'FROM busybox\nCOPY . /app\nCMD ["sh", "-c", "echo the Procfile should win; exit 1"]\n',
  Procfile: 'web: mkdir -p /tmp/www && cp /app/body /tmp/www/index.html && exec httpd -f -p $PORT -h /tmp/www\n',
  body: `${body}\n`,
});

test('a key added with ssh-keys:add pushes a Procfile app over SSH to the real daemon, which serves it through nginx; commands run over SSH; an unknown key is refused', async (t) => {
  t.timeout(5 * 60_000);
  const user = await createTestUser(t);
  const sshd = await startSshd(t, user.name);
  const d = await startTestDaemon(t, { BERTH_SSH_USER: user.name });
  const ok = async (...args: string[]) => {
    const r = await runCli(args, d.env);
    t.is(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('image:base', 'busybox');

  // The CLI adds the key; the daemon writes it, forced and restricted, where sshd reads it.
  t.regex(await ok('ssh-keys:add', 'laptop', `${sshd.clientKey}.pub`), /laptop/);
  const fingerprint = spawnSync('ssh-keygen', ['-lf', `${sshd.clientKey}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]!;
  const listed = JSON.parse(await ok('ssh-keys:list', '--format', 'json')) as { name: string; fingerprint: string }[];
  t.deepEqual(
    listed.map((k) => [k.name, k.fingerprint]),
    [['laptop', fingerprint]],
  );
  const authorized = await readFile(join(user.home, '.ssh', 'authorized_keys'), 'utf8');
  t.regex(authorized, /^command="\/\S+ \/\S+\/dist\/cli\/main\.js git-shell --api-config \S+ laptop",restrict ssh-ed25519 \S+ laptop$/m);

  const ssh = (key: string, ...command: string[]) => runProgram('ssh', [...sshd.sshOptions, '-i', key, '-T', `${user.name}@127.0.0.1`, ...command]);
  const sshGitEnv = (key: string) => ({ ...gitEnv(), GIT_SSH_COMMAND: ['ssh', ...sshd.sshOptions, '-i', key].join(' ') });
  const app = uniqueName('app');
  const remote = `ssh://${user.name}@127.0.0.1:${sshd.port}/${app}`;

  // An unknown key is refused by sshd before Berth sees anything: no app, no job.
  const strangerDir = await tempDir(t, 'berth-stranger-');
  const stranger = join(strangerDir, 'key');
  t.is(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', stranger]).status, 0);
  const work = await workTree(t, procfileApp('v1 over ssh'));
  const refused = await runProgram('git', ['push', remote, 'main'], { cwd: work, env: sshGitEnv(stranger) });
  t.not(refused.code, 0);
  t.regex(refused.stderr, /Permission denied \(publickey\)/);
  const refusedCommand = await ssh(stranger, 'apps:list');
  t.not(refusedCommand.code, 0);
  t.regex(refusedCommand.stderr, /Permission denied \(publickey\)/);
  t.false(existsSync(join(d.home, 'apps', app)), 'a refused push stores nothing');

  // The added key pushes: the app is created, and the push shows the deploy's stages.
  const push = await runProgram('git', ['push', remote, 'main'], { cwd: work, env: sshGitEnv(sshd.clientKey), timeoutMs: 180_000 });
  t.is(push.code, 0, `${push.stderr}\n--- sshd:\n${sshd.log().slice(-3000)}\n--- daemon:\n${d.output().slice(-3000)}`);
  const headings = [...push.stderr.matchAll(/^remote: -----> (\S.*?)\s*$/gm)].map((m) => m[1]!);
  for (const stage of ['Receiving', 'Building', 'Releasing', 'Starting', 'Checking', 'Switching', 'Recording']) {
    t.true(
      headings.some((h) => h.startsWith(stage)),
      `the push shows the ${stage} stage: ${headings.join(' | ')}`,
    );
  }
  const answer = await httpGet(`http://127.0.0.1:${d.httpPort}/`, { Host: `${app}.localhost` });
  t.is(answer.status, 200);
  t.is(answer.body.trim(), 'v1 over ssh');

  // A Berth command over SSH, with the same key.
  const apps = await ssh(sshd.clientKey, 'apps:list');
  t.is(apps.code, 0, apps.stderr);
  t.regex(apps.stdout, new RegExp(`^${app}\\b`, 'm'));

  // Removed, the key is refused as a stranger's.
  await ok('ssh-keys:remove', 'laptop');
  const removed = await ssh(sshd.clientKey, 'apps:list');
  t.not(removed.code, 0);
  t.regex(removed.stderr, /Permission denied \(publickey\)/);
});
