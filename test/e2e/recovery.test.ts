/**
 * Issue 16's "Must show": kill -9 of the daemon during a deploy. The real daemon from dist/
 * deploys v1; v2's push is caught in its checks stage (its new web container started) and the
 * daemon, only its own process, is SIGKILLed. While it is down, a bounded request loop through
 * nginx shows v1 answering (app containers and nginx outlive the daemon). Restarted with the
 * same BERTH_HOME, the daemon fails the job visibly with E_QUEUE_INTERRUPTED, leaves nothing of
 * it (containers, deploy directory, route), and a new push of v2 deploys.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { commitFiles, git, gitOk, startGit, until, workTree } from '../helpers/git-server.js';
import { httpGet, waitFor } from '../helpers/http.js';
import { isAlive } from '../helpers/processes.js';
import { startRequestLoop, summarize } from '../helpers/request-loop.js';
import { runCli, spawnDaemon, startTestDaemon, type RunningTestDaemon } from '../helpers/start-daemon.js';
import { uniqueName } from '../helpers/temp-dir.js';

/**
 * A busybox app whose Procfile's web process answers `body`; with a `slow` file in the
 * source, the web process waits 30 s before it listens, which holds the deploy in its checks
 * stage long enough to kill the daemon there.
 */
const app = (body: string, slow: boolean): Record<string, string> => ({
  Dockerfile: 'FROM busybox\nCOPY . /app\nCMD ["sh", "-c", "echo the Procfile should win; exit 1"]\n',
  Procfile: 'web: if [ -e /app/slow ]; then sleep 30; fi; mkdir -p /tmp/www && cp /app/body /tmp/www/index.html && exec httpd -f -p $PORT -h /tmp/www\n',
  body: `${body}\n`,
  ...(slow ? { slow: 'hold the checks\n' } : {}),
});

interface ContainerRow {
  name: string;
  state?: string;
  status?: string;
}

/** Restart the daemon with `d`'s environment (its BERTH_HOME); stopped in teardown. Resolves once it has written its new cli.json. */
async function restartDaemon(t: ExecutionContext, d: RunningTestDaemon): Promise<{ url: string; output: () => string }> {
  const cliFile = join(d.home, 'cli.json');
  await rm(cliFile, { force: true });
  const { child, output, exited } = spawnDaemon(d.env);
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  await Promise.race([
    waitFor(
      'the restarted daemon to write cli.json',
      async () => {
        const r = await runCli(['builds:list', '--format', 'json'], d.env);
        return r.code === 0 ? 'up' : undefined;
      },
      60_000,
    ),
    exited.then((code) => {
      throw new Error(`the restarted daemon exited with ${code}:\n${output()}`);
    }),
  ]);
  const cli = JSON.parse(await readFile(cliFile, 'utf8')) as { url: string };
  return { url: cli.url, output };
}

test('kill -9 of the daemon mid-deploy: v1 keeps answering through nginx, the restarted daemon fails the job with E_QUEUE_INTERRUPTED and leaves nothing of it, and v2 deploys on a new push', async (t) => {
  t.timeout(6 * 60_000);
  const d = await startTestDaemon(t);
  const env = d.env;
  const ok = async (...args: string[]) => {
    const r = await runCli(args, env);
    t.is(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('image:base', 'busybox');
  const name = uniqueName('app');
  await ok('apps:create', name);
  // The API's port is a new one after the restart; the token stays (BERTH_HOME/api-token).
  const remoteAt = (api: string) => `${api.replace('http://', `http://berth:${d.token}@`)}/${name}.git`;
  const remote = remoteAt(d.url);
  const url = `http://127.0.0.1:${d.httpPort}/`;
  const host = { Host: `${name}.localhost` };

  const work = await workTree(t, app('v1', false));
  const v1 = await git(work, 'push', remote, 'main');
  t.is(v1.code, 0, `${v1.stderr}\n${d.output().slice(-4000)}`);
  t.is((await httpGet(url, host)).body.trim(), 'v1');
  const repo = join(d.home, 'apps', name, 'repo.git');
  const v1Commit = await gitOk(work, 'rev-parse', 'HEAD');

  // v2's push, held in its checks stage by its slow web process.
  await commitFiles(work, app('v2', true), 'v2, slow to boot');
  const push = startGit(work, ['push', remote, 'main'], 180_000);
  await until('the v2 deploy to reach its checks stage', () => /^remote: -----> Checking/m.test(push.stderr()), 120_000);
  const info = JSON.parse(await ok('builds:info', name, 'current', '--format', 'json')) as { id: string; state: string; stage?: string };
  t.like(info, { id: `${name}.2`, state: 'running', stage: 'checks' });
  const before = JSON.parse(await ok('container:ls', '--all', '--format', 'json')) as ContainerRow[];
  t.true(
    before.some((c) => c.name === `${name}.web.1.r2`),
    `the new release's web container runs: ${before.map((c) => c.name).join(', ')}`,
  );

  // Only the daemon's own process is killed; then v1 is asked, 20 times a second, while it is down.
  const pid = d.child.pid!;
  process.kill(pid, 'SIGKILL');
  await d.exited;
  t.false(isAlive(pid));
  const down = startRequestLoop(t, { url, headers: host, ratePerSecond: 20, max: 100 });
  const pushed = await push.done;
  t.not(pushed.code, 0, 'the push whose deploy died fails');
  const samples = await down.finish(3000);
  const whileDown = summarize(samples, ['v1']);
  t.true(samples.length >= 40, `${samples.length} requests while the daemon was down`);
  t.deepEqual(whileDown.failed, [], 'v1 answers every request while the daemon is down');
  t.is(await gitOk(repo, 'rev-parse', 'refs/heads/main'), v1Commit, 'the rejected push moved no branch');

  // The restart: the job is failed, visibly, and nothing of it is left.
  const again = await restartDaemon(t, d);
  const failed = JSON.parse(await ok('builds:info', name, '2', '--format', 'json')) as { state: string; error?: { code: string; message: string } };
  t.like(failed, { state: 'failed', error: { code: 'E_QUEUE_INTERRUPTED' } });
  t.regex(failed.error?.message ?? '', /checks/, 'the error names the stage the deploy was in');
  t.regex(await ok('builds:list', name), new RegExp(`^${name}\\.2 +failed +`, 'm'));
  const output = await runCli(['builds:output', name, '2'], env);
  t.is(output.code, 1);
  t.regex(output.stderr, /E_QUEUE_INTERRUPTED/);
  const after = JSON.parse(await ok('container:ls', '--all', '--format', 'json')) as ContainerRow[];
  t.deepEqual(
    after.filter((c) => c.name.startsWith(`${name}.`)).map((c) => c.name),
    [`${name}.web.1.r1`],
    'only v1 is left',
  );
  t.deepEqual(await readdir(join(d.home, 'tmp', 'deploys')), [], 'no deploy directory is left');
  t.is((await httpGet(url, host)).body.trim(), 'v1', 'the route still leads to v1');
  const appInfo = JSON.parse(await ok('apps:info', name, '--format', 'json')) as { currentRelease?: number };
  t.is(appInfo.currentRelease, 1);

  // A new push of v2 (quick to boot this time) deploys.
  await rm(join(work, 'slow'));
  await commitFiles(work, app('v2', false), 'v2, quick to boot');
  const v2 = await git(work, 'push', remoteAt(again.url), 'main');
  t.is(v2.code, 0, `${v2.stderr}\n${again.output().slice(-4000)}`);
  t.regex(v2.stderr, /remote: -----> Recording/);
  t.is((await httpGet(url, host)).body.trim(), 'v2');
  t.regex(await ok('builds:list', name), new RegExp(`^${name}\\.3 +succeeded +`, 'm'));
});
