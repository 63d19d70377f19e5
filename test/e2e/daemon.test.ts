/**
 * The real daemon (the built CLI, as scripts/up runs it) on random ports in a fresh
 * BERTH_HOME, driven through the real `berth` CLI and real HTTP.
 */
import test from 'ava';
import { stat, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { daemonEnv, runCli, spawnDaemon, startTestDaemon } from '../helpers/start-daemon.js';
import { httpGet, waitFor } from '../helpers/http.js';
import { isAlive, pidsMatching } from '../helpers/processes.js';
import { startTestRedis } from '../helpers/start-redis.js';
import { startTestNginx } from '../helpers/start-nginx.js';

interface Status {
  berth: { version: string; node: string; pid: number; uptimeSeconds: number };
  redis: { healthy: boolean; mode: string; pid?: number; restarts?: number; version?: string };
  nginx: { healthy: boolean; mode: string; pid?: number; restarts?: number; port: number; version?: string };
}

test('berth status reports the daemon, its Redis and its nginx as healthy', async (t) => {
  const d = await startTestDaemon(t);
  const text = await runCli(['status'], d.env);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^Berth \d+\.\d+\.\d+ on Node v24\./m);
  t.regex(text.stdout, /^redis\s+embedded\s+healthy/m);
  t.regex(text.stdout, /^nginx\s+embedded\s+healthy/m);

  const json = await runCli(['status', '--format', 'json'], d.env);
  t.is(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as Status;
  t.is(s.berth.pid, d.child.pid ?? -1);
  t.regex(s.berth.node, /^v24\./);
  t.true(s.redis.healthy);
  t.regex(s.redis.version ?? '', /^\d+\.\d+/);
  t.true(s.nginx.healthy);
  t.is(s.nginx.port, d.httpPort);

  // nginx really serves on the configured port, with the explicit default_server.
  const unknown = await httpGet(`http://127.0.0.1:${d.httpPort}/`, { Host: 'nobody.localhost' });
  t.is(unknown.status, 404);
  t.is(unknown.headers['x-berth-default-server'], '1');

  const version = await runCli(['version'], d.env);
  t.is(version.code, 0, version.stderr);
  t.regex(version.stdout, /^client: berth \S+ \(node v24\./m);
  t.regex(version.stdout, new RegExp(`^daemon: berth \\S+ \\(node v24\\.\\S+\\) at ${d.url.replaceAll('.', '\\.')}$`, 'm'));
});

test('every API route needs the token; errors are JSON with code, message and hint', async (t) => {
  const d = await startTestDaemon(t);
  for (const [path, headers] of [
    ['/v1/status', {}],
    ['/v1/status', { Authorization: 'Bearer wrong' }],
    ['/v1/nothing-here', {}],
    ['/hello.git/info/refs?service=git-receive-pack', {}],
  ] as const) {
    const r = await httpGet(`${d.url}${path}`, headers);
    t.is(r.status, 401, path);
    const body = JSON.parse(r.body) as { error: { code: string; message: string; hint: string } };
    t.is(body.error.code, 'E_API_UNAUTHORIZED');
    t.truthy(body.error.hint);
  }
  // git's receive-pack POST is guarded like any other route (node-git-server's own auth is not trusted).
  const post = await fetch(`${d.url}/hello.git/git-receive-pack`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(5000) });
  t.is(post.status, 401);

  const notFound = await httpGet(`${d.url}/v1/nothing-here`, { Authorization: `Bearer ${d.token}` });
  t.is(notFound.status, 404);
  t.is((JSON.parse(notFound.body) as { error: { code: string } }).error.code, 'E_API_NOT_FOUND');

  const ok = await httpGet(`${d.url}/v1/status`, { Authorization: `Bearer ${d.token}` });
  t.is(ok.status, 200);
  // Basic auth with the token as password works too (what git clients send).
  const basic = await httpGet(`${d.url}/v1/status`, { Authorization: `Basic ${Buffer.from(`berth:${d.token}`).toString('base64')}` });
  t.is(basic.status, 200);

  t.is((await stat(join(d.home, 'api-token'))).mode & 0o777, 0o600);
  t.is((await stat(join(d.home, 'cli.json'))).mode & 0o777, 0o600);
  t.is((await readFile(join(d.home, 'api-token'), 'utf8')).trim(), d.token);
});

test('a Redis or nginx that dies is restarted, and the daemon log says so', async (t) => {
  const d = await startTestDaemon(t);
  const before = JSON.parse((await runCli(['status', '--format', 'json'], d.env)).stdout) as Status;
  process.kill(before.redis.pid!, 'SIGKILL');
  process.kill(before.nginx.pid!, 'SIGKILL');
  const after = await waitFor(
    'Redis and nginx to be restarted',
    async () => {
      const r = await runCli(['status', '--format', 'json'], d.env);
      const s = JSON.parse(r.stdout) as Status;
      return s.redis.healthy && s.nginx.healthy && s.redis.restarts === 1 && s.nginx.restarts === 1 ? s : undefined;
    },
    20_000,
  );
  t.not(after.redis.pid, before.redis.pid);
  t.not(after.nginx.pid, before.nginx.pid);
  t.regex(d.output(), /redis \(pid \d+\) exited unexpectedly \(SIGKILL\); restarting it/);
  t.regex(d.output(), /redis restarted \(pid \d+\)/);
  t.regex(d.output(), /nginx restarted \(pid \d+\)/);
});

test('SIGTERM stops the daemon cleanly: exit 0, no Redis, nginx or pid file left', async (t) => {
  const d = await startTestDaemon(t);
  const s = JSON.parse((await runCli(['status', '--format', 'json'], d.env)).stdout) as Status;
  t.true(pidsMatching(d.home).length >= 2, 'redis and nginx run under this home');
  d.child.kill('SIGTERM');
  t.is(await d.exited, 0);
  t.false(isAlive(s.redis.pid!));
  t.false(isAlive(s.nginx.pid!));
  t.deepEqual(pidsMatching(d.home), []);
  t.false(existsSync(join(d.home, 'daemon.pid')));
  const r = await runCli(['status'], d.env);
  t.is(r.code, 1);
  t.regex(r.stderr, /cannot reach the Berth API at .*connection refused \[E_CLI_UNREACHABLE\]/);
});

test('an invalid configuration value stops the daemon at start, naming key, value and what is allowed', async (t) => {
  const env = await daemonEnv(t, { BERTH_HTTP_PORT: '99999', BERTH_LOG_LEVEL: 'loud' });
  const d = spawnDaemon(env);
  t.is(await d.exited, 1);
  t.regex(d.output(), /BERTH_HTTP_PORT="99999" \(from environment\) is not allowed: must be an integer from 1 to 65535/);
  t.regex(d.output(), /BERTH_LOG_LEVEL="loud" \(from environment\) is not allowed: must be one of trace, debug/);
  t.deepEqual(pidsMatching(env.BERTH_HOME!), []);
});

test('a port held by another program: the daemon says which port and who holds it, and leaves nothing', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as { port: number }).port;
  const env = await daemonEnv(t, { BERTH_API_PORT: String(port) });
  const d = spawnDaemon(env);
  t.is(await d.exited, 1);
  t.regex(d.output(), new RegExp(`port ${port} is held by pid ${process.pid} \\(`));
  t.regex(d.output(), /E_DAEMON_PORT_IN_USE/);
  t.deepEqual(pidsMatching(env.BERTH_HOME!), [], 'the Redis and nginx it started are stopped again');
});

test('a second daemon on the same BERTH_HOME refuses to start', async (t) => {
  const d = await startTestDaemon(t);
  const second = spawnDaemon({ ...d.env, BERTH_HTTP_PORT: String(d.httpPort + 1) });
  t.is(await second.exited, 1);
  t.regex(second.output(), new RegExp(`a Berth daemon \\(pid ${d.child.pid}\\) already runs`));
  t.is((await runCli(['status'], d.env)).code, 0, 'the first one is untouched');
});

test('usage errors exit 2; --version names the Node it runs on', async (t) => {
  const env = await daemonEnv(t);
  const v = await runCli(['--version'], env);
  t.is(v.code, 0);
  t.regex(v.stdout, /^berth \d+\.\d+\.\d+ \(node v24\.\d+\.\d+\)$/m);
  for (const args of [['bogus'], ['status', '--bogus'], ['status', '--format', 'xml'], ['--nope']]) {
    const r = await runCli(args, env);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, /error: .*\n.*--help/, args.join(' '));
  }
});

test('with an external Redis and nginx configured, the daemon starts neither and checks both', async (t) => {
  const redis = await startTestRedis(t);
  const nginx = await startTestNginx(t);
  const url = `redis://:${redis.endpoint.password}@127.0.0.1:${redis.port}/0`;
  const d = await startTestDaemon(t, { BERTH_REDIS_URL: url, BERTH_NGINX_MODE: 'external', BERTH_HTTP_PORT: String(nginx.port) });
  const s = JSON.parse((await runCli(['status', '--format', 'json'], d.env)).stdout) as Status;
  t.like(s.redis, { mode: 'external', healthy: true });
  t.like(s.nginx, { mode: 'external', healthy: true, port: nginx.port });
  t.is(s.redis.pid, undefined);
  t.deepEqual(pidsMatching(d.home), [], "no Redis or nginx runs under the daemon's home");

  // When the external Redis goes away, status says so (and exits 1) instead of hiding it.
  await redis.stop();
  const down = await runCli(['status'], d.env);
  t.is(down.code, 1);
  t.regex(down.stdout, /^redis\s+external\s+UNHEALTHY: /m);
});
