/**
 * git over SSH through a private sshd (test/helpers/sshd.ts) into the real wiring: a unique
 * system user whose authorized_keys the key store writes, the real git-shell (the CLI from
 * source) as each key's forced command, the API's git stream, real git with the real
 * pre-receive hook, the real queue on a private Redis. The processor is the test's own (as
 * in push.test.ts): it writes lines and returns, which is all the push path sees of a deploy.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { containerUpgradeHandler, createApi, sshUpgradeHandler } from '../../../server/api/index.js';
import { AppStore } from '../../../server/apps/index.js';
import { installHook, SshAccess, SshKeyStore, startGitService, type GitHttpOptions } from '../../../server/git/index.js';
import type { JsonObject, Processor } from '../../../server/queue/index.js';
import { commitFiles, gitEnv, gitOk, sourceHookCommand, workTree } from '../../helpers/git-server.js';
import { testLogger } from '../../helpers/logger.js';
import { isAlive } from '../../helpers/processes.js';
import { createTestUser, runProgram, startSshd, userExists, type TestSshd } from '../../helpers/sshd.js';
import { repoRoot } from '../../helpers/start-daemon.js';
import { queuePrefix, startQueue } from '../../helpers/start-queue.js';
import { startTestRedis } from '../../helpers/start-redis.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';

/** git-shell as sshd runs it: the CLI from source under tsx, run by this Node; tsx's cache off, so the SSH user leaves no files in /tmp. */
const sourceShellCommand = (): string[] => [
  '/usr/bin/env',
  'TSX_DISABLE_CACHE=1',
  process.execPath,
  `--import=${join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')}`,
  join(repoRoot, 'server', 'cli', 'main.ts'),
];

interface SshWiring {
  url: string;
  token: string;
  apps: AppStore;
  keys: SshKeyStore;
  sshd: TestSshd;
  user: string;
  uid: number;
  /** The SSH user's home. */
  home: string;
  /** BERTH_HOME of this wiring. */
  berthHome: string;
  removeUser(): void;
  /** Add a public key through the API, as `berth ssh-keys:add NAME FILE` does. */
  addKey(name: string, file: string): Promise<Response>;
  /** `ssh -T user@127.0.0.1 <command…>` with the client key (or `key`). */
  ssh(command: string[], key?: string): ReturnType<typeof runProgram>;
  /** git's environment, reaching this sshd with the client key (or `key`). */
  gitEnv(key?: string): NodeJS.ProcessEnv;
  remote(app: string): string;
}

/** The daemon's wiring of git over SSH (daemon.ts), with a private sshd for a fresh user. */
async function startSshWiring(t: ExecutionContext, processor: Processor): Promise<SshWiring> {
  const user = await createTestUser(t);
  const sshd = await startSshd(t, user.name);
  const redis = await startTestRedis(t);
  const dir = await tempDir(t, 'berth-ssh-');
  const log = testLogger(dir);
  const home = join(dir, 'home');
  const apps = new AppStore({ home });
  const hookCommand = sourceHookCommand();
  apps.addHooks({ created: (app) => installHook(apps.paths(app.name).repo, hookCommand) });
  const queue = await startQueue(t, redis.endpoint, dir, queuePrefix());
  await queue.work({ processor, concurrency: 2 });
  const token = randomBytes(32).toString('hex');
  let url = '';
  await mkdir(join(home, 'ssh'), { recursive: true, mode: 0o711 });
  const access = new SshAccess({ user: user.name, command: { argv: sourceShellCommand(), apiConfig: join(home, 'ssh', 'cli.json') }, log });
  const keys = new SshKeyStore({ file: join(home, 'ssh', 'keys.json'), install: (list) => access.install(list) });
  const git: GitHttpOptions = { apps, autoCreate: true, hookEnvironment: () => ({ url, token }) };
  const server = createServer(
    { requestTimeout: 0 },
    createApi({
      token,
      log,
      status: () => Promise.reject(new Error('no status in this wiring')),
      git,
      deploys: { queue, apps, limits: { maxFileBytes: 1024 * 1024 } },
      sshKeys: keys,
    }),
  );
  server.on('upgrade', sshUpgradeHandler({ token, log, git: { start: (r) => startGitService(git, log, r) } }, containerUpgradeHandler({ token, log })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  access.setApi({ url, token });
  await keys.sync();
  const sshArgs = (key = sshd.clientKey) => [...sshd.sshOptions, '-i', key];
  return {
    url,
    token,
    apps,
    keys,
    sshd,
    user: user.name,
    uid: user.uid,
    home: user.home,
    berthHome: home,
    removeUser: user.remove,
    addKey: async (name, file) =>
      fetch(`${url}/v1/ssh-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, key: await readFile(file, 'utf8') }),
      }),
    ssh: (command, key) => runProgram('ssh', [...sshArgs(key), '-T', `${user.name}@127.0.0.1`, ...command]),
    gitEnv: (key) => ({ ...gitEnv(), GIT_SSH_COMMAND: ['ssh', ...sshArgs(key)].join(' ') }),
    remote: (app) => `ssh://${user.name}@127.0.0.1:${sshd.port}/${app}`,
  };
}

const okProcessor: Processor = async (job): Promise<JsonObject> => {
  job.stage('build');
  job.line('-----> Deploying over SSH');
  return { release: 1 };
};

test('a key added through the API pushes over SSH: the app is created, the hook deploys it, the output streams back; fetch and clone work', async (t) => {
  const seen: string[] = [];
  const w = await startSshWiring(t, async (job) => {
    if (job.request.kind === 'push') seen.push(job.request.commit);
    return okProcessor(job);
  });
  const added = await w.addKey('laptop', `${w.sshd.clientKey}.pub`);
  t.is(added.status, 201, await added.clone().text());
  // authorized_keys: root's, readable by sshd as the user, one forced and restricted line.
  const authorized = join(w.home, '.ssh', 'authorized_keys');
  const st = await stat(authorized);
  t.deepEqual([st.uid, st.mode & 0o777], [0, 0o644]);
  t.regex(await readFile(authorized, 'utf8'), /^command=".* git-shell --api-config \S+ laptop",restrict ssh-ed25519 \S+ laptop$/m);
  const apiConfig = await stat(join(w.berthHome, 'ssh', 'cli.json'));
  t.deepEqual([apiConfig.uid, apiConfig.mode & 0o777], [w.uid, 0o600], "the API settings are the SSH user's alone");

  const app = uniqueName('app');
  const work = await workTree(t);
  const commit = await gitOk(work, 'rev-parse', 'HEAD');
  const push = await runProgram('git', ['push', w.remote(app), 'main'], { cwd: work, env: w.gitEnv() });
  t.is(push.code, 0, `${push.stderr}\n--- sshd:\n${w.sshd.log()}`);
  t.regex(push.stderr, /remote: -----> Deploying over SSH/);
  t.deepEqual(seen, [commit]);
  t.is(await gitOk(w.apps.paths(app).repo, 'rev-parse', 'refs/heads/main'), commit);

  // A second push, its path with ~/ and .git, and a clone through git-upload-pack.
  const second = await commitFiles(work, { 'b.txt': 'b\n' }, 'second');
  const pushed = await runProgram('git', ['push', `ssh://${w.user}@127.0.0.1:${w.sshd.port}/~/${app}.git`, 'main'], { cwd: work, env: w.gitEnv() });
  t.is(pushed.code, 0, pushed.stderr);
  t.deepEqual(seen, [commit, second]);
  const clone = join(await tempDir(t, 'berth-clone-'), 'c');
  const cloned = await runProgram('git', ['clone', '--quiet', w.remote(app), clone], { env: w.gitEnv() });
  t.is(cloned.code, 0, cloned.stderr);
  t.is(await gitOk(clone, 'rev-parse', 'HEAD'), second);
  const v2 = await runProgram('git', ['-c', 'protocol.version=2', 'ls-remote', w.remote(app)], { env: w.gitEnv() });
  t.is(v2.code, 0, v2.stderr);
  t.regex(v2.stdout, new RegExp(`^${second}\\trefs/heads/main$`, 'm'));
});

test('a Berth command runs over SSH as the CLI would, with its exit status; a fetch of an unknown app says so', async (t) => {
  const w = await startSshWiring(t, okProcessor);
  t.is((await w.addKey('laptop', `${w.sshd.clientKey}.pub`)).status, 201);
  const listed = await w.ssh(['ssh-keys:list', '--format', 'json']);
  t.is(listed.code, 0, listed.stderr);
  t.deepEqual(
    (JSON.parse(listed.stdout) as { name: string }[]).map((k) => k.name),
    ['laptop'],
  );
  const help = await w.ssh(['help']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /ssh-keys:add/);
  t.notRegex(help.stdout, /git-shell/);
  const missing = await w.ssh(['ssh-keys:remove', 'nobody']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no SSH key named nobody/);
  const fetch = await runProgram('git', ['ls-remote', w.remote('nosuchapp')], { env: w.gitEnv() });
  t.not(fetch.code, 0);
  t.regex(fetch.stderr, /no app named nosuchapp|nosuchapp/);
  t.false(existsSync(w.apps.paths('nosuchapp').dir), 'a fetch creates nothing');
});

test('no shell: a shell command, an unknown program, no command at all and the daemon are refused, saying why', async (t) => {
  const w = await startSshWiring(t, okProcessor);
  t.is((await w.addKey('laptop', `${w.sshd.clientKey}.pub`)).status, 201);
  for (const [command, said] of [
    [['sh', '-c', 'id'], /"sh" is not a Berth command that runs over SSH, and Berth gives no shell/],
    [['id'], /"id" is not a Berth command/],
    [['daemon'], /"daemon" is not a Berth command/],
    [['git-shell', 'other'], /git-shell is not run over SSH/],
    [[], /Hi laptop! You are authenticated to Berth, which gives no shell/],
    [["git-receive-pack '/../etc'"], /does not name an app/],
  ] as [string[], RegExp][]) {
    const r = await w.ssh(command);
    t.is(r.code, 1, command.join(' '));
    t.regex(r.stderr, said, command.join(' '));
    t.regex(r.stderr, /E_GIT_SSH_COMMAND_REFUSED/, command.join(' '));
    t.notRegex(r.stdout, /uid=/, command.join(' '));
  }
});

test('an unknown key, and a removed one, are refused by sshd; nothing is stored', async (t) => {
  const w = await startSshWiring(t, okProcessor);
  t.is((await w.addKey('laptop', `${w.sshd.clientKey}.pub`)).status, 201);
  const other = join(await tempDir(t, 'berth-otherkey-'), 'other');
  await runProgram('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const app = uniqueName('app');
  const work = await workTree(t);
  const refused = await runProgram('git', ['push', w.remote(app), 'main'], { cwd: work, env: w.gitEnv(other) });
  t.not(refused.code, 0);
  t.regex(refused.stderr, /Permission denied \(publickey\)/);
  t.false(existsSync(w.apps.paths(app).dir), 'no app was created');
  t.is((await w.ssh(['ssh-keys:list'], other)).code, 255);
  // Removing a key takes it out of authorized_keys at once.
  const removed = await fetch(`${w.url}/v1/ssh-keys/laptop`, { method: 'DELETE', headers: { authorization: `Bearer ${w.token}` } });
  t.is(removed.status, 200);
  const after = await w.ssh(['ssh-keys:list']);
  t.is(after.code, 255);
  t.regex(after.stderr, /Permission denied \(publickey\)/);
});

test('nothing is left behind: sshd, its sessions, the user, its files', async (t) => {
  const w = await startSshWiring(t, okProcessor);
  t.is((await w.addKey('laptop', `${w.sshd.clientKey}.pub`)).status, 201);
  t.is((await w.ssh(['ssh-keys:list'])).code, 0);
  await w.sshd.stop();
  t.false(isAlive(w.sshd.pid), 'sshd stopped');
  // A session's processes end right after its client: wait for them (bounded), then none may be left.
  let sessions = await runProgram('pgrep', ['-a', '-u', String(w.uid)]);
  for (let i = 0; i < 100 && sessions.stdout.trim() !== ''; i++) {
    await new Promise((r) => setTimeout(r, 50));
    sessions = await runProgram('pgrep', ['-a', '-u', String(w.uid)]);
  }
  t.is(sessions.stdout.trim(), '', 'no process of the SSH user runs');
  t.false(existsSync(`/tmp/tsx-${w.uid}`), "tsx's cache was never written");
  t.true(userExists(w.user));
  w.removeUser(); // what teardown does (it then finds nothing left to do)
  t.false(userExists(w.user));
});
