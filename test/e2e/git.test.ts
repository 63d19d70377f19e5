/**
 * git over HTTP to the real daemon (the built CLI, as scripts/up runs it): the daemon's
 * wiring of the apps store, the git transport, the hook from dist/ run by the pinned Node,
 * the deploy queue's worker on the embedded Redis, and the builds:* commands. What a deploy
 * of the deploy branch does is push*.test.ts's; here a push to another branch exercises the
 * whole path short of it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { gitOk, git, workTree } from '../helpers/git-server.js';
import { cliPath, runCli, startTestDaemon } from '../helpers/start-daemon.js';
import { uniqueName } from '../helpers/temp-dir.js';

test('a push to the real daemon creates the app with its hook from dist/, is stored, and deploys nothing off the deploy branch', async (t) => {
  const d = await startTestDaemon(t);
  const app = uniqueName('app');
  const remote = `${d.url.replace('http://', `http://berth:${d.token}@`)}/${app}.git`;
  const work = await workTree(t, { Procfile: 'web: echo hi\n' });
  const r = await git(work, 'push', remote, 'main:feature');
  t.is(r.code, 0, `${r.stderr}\n${d.output()}`);
  t.regex(r.stderr, /remote: Pushed to feature: not the deploy branch \(main\), no deploy\./);
  const repo = join(d.home, 'apps', app, 'repo.git');
  t.is(await gitOk(repo, 'rev-parse', 'refs/heads/feature'), await gitOk(work, 'rev-parse', 'HEAD'));
  const hook = await readFile(join(repo, 'hooks', 'pre-receive'), 'utf8');
  t.true(hook.includes(`'${cliPath}' 'git-hook' 'pre-receive'`), hook);
  t.regex(hook, /exec '\/[^']+\/node' /, 'the hook runs node by absolute path');

  const list = await runCli(['builds:list', app, '--format', 'json'], d.env);
  t.is(list.code, 0, list.stderr);
  t.deepEqual(JSON.parse(list.stdout), []);
  const none = await runCli(['builds:output', app], d.env);
  t.is(none.code, 1);
  t.regex(none.stderr, new RegExp(`app ${app} has no builds yet \\[E_QUEUE_JOB_NOT_FOUND\\]`));
  const cancel = await runCli(['builds:cancel', app], d.env);
  t.is(cancel.code, 0, cancel.stderr);
  t.regex(cancel.stdout, /Nothing to cancel/);
});

test('the real daemon refuses an unauthenticated receive-pack with 401, and builds:* name an unknown app', async (t) => {
  const d = await startTestDaemon(t);
  const res = await fetch(`${d.url}/nobody.git/git-receive-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-receive-pack-request' },
    body: '0000',
  });
  t.is(res.status, 401);
  t.regex(res.headers.get('www-authenticate') ?? '', /Basic realm="berth"/);
  const r = await runCli(['builds:list', 'nobody'], d.env);
  t.is(r.code, 1);
  t.regex(r.stderr, /app nobody does not exist \[E_APP_NOT_FOUND\]/);
  t.regex(r.stderr, /apps:create nobody/);
});

// The pipeline is wired into the daemon, but routes through Berth's embedded nginx only: with
// BERTH_NGINX_MODE=external a deploy must fail and say so, never succeed having deployed nothing.
test('without the embedded nginx to route through, a push to the deploy branch is rejected with E_DAEMON_NO_PIPELINE, and builds:* show the failed job', async (t) => {
  const d = await startTestDaemon(t, { BERTH_NGINX_MODE: 'external' });
  const app = uniqueName('app');
  const remote = `${d.url.replace('http://', `http://berth:${d.token}@`)}/${app}.git`;
  const work = await workTree(t);
  const r = await git(work, 'push', remote, 'main');
  t.not(r.code, 0);
  t.regex(
    r.stderr,
    new RegExp(
      `remote:  ! {5}deploy ${app}\\.1 was not run: apps are routed through Berth's embedded nginx, and this daemon runs with BERTH_NGINX_MODE=external \\[E_DAEMON_NO_PIPELINE\\]`,
    ),
  );
  t.regex(r.stderr, /pre-receive hook declined/);
  const list = await runCli(['builds:list', app], d.env);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, new RegExp(`^${app}\\.1 +failed +`, 'm'));
  const output = await runCli(['builds:output', app, '1'], d.env);
  t.is(output.code, 1);
  t.regex(output.stderr, /E_DAEMON_NO_PIPELINE/);
  const info = await runCli(['builds:info', app, 'current', '--format', 'json'], d.env);
  t.is(info.code, 0, info.stderr);
  t.like(JSON.parse(info.stdout), { id: `${app}.1`, state: 'failed', error: { code: 'E_DAEMON_NO_PIPELINE' } });
});
