/**
 * Berth's embedded Redis against a real redis-server: password, AOF and noeviction, the
 * unix-socket mode, persistence across restarts, supervision after a crash, clean stop.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BerthError, freePort } from '../../../server/core/index.js';
import { startEmbeddedRedis, type EmbeddedRedis, type RedisEndpoint } from '../../../server/redis/index.js';
import { startTestRedis } from '../../helpers/start-redis.js';
import { redisClient, pingOnce } from '../../helpers/redis-client.js';
import { testLogger } from '../../helpers/logger.js';
import { waitFor } from '../../helpers/http.js';
import { isAlive, pidsMatching } from '../../helpers/processes.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';
import { requireBinary } from '../../helpers/prereq.js';

/** What redis-server's process title shows for an endpoint (it rewrites argv). */
const titleOf = (e: RedisEndpoint): string => (e.path !== undefined ? `unixsocket:${e.path}` : `${e.host}:${e.port}`);

/**
 * PIDs of redis-servers whose title is exactly `<binary> <title>`: a bare substring match
 * would also take 127.0.0.1:4123 for 127.0.0.1:41234.
 */
function redisPids(title: string): number[] {
  return pidsMatching(title).filter((pid) => {
    try {
      return (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '').endsWith(` ${title}`);
    } catch {
      return false; // exited meanwhile
    }
  });
}

test('a TCP Redis answers with its password, with AOF on and noeviction', async (t) => {
  const redis = await startTestRedis(t);
  t.is(redis.endpoint.host, '127.0.0.1');
  t.is(redis.endpoint.port, redis.port);
  t.truthy(redis.endpoint.password);

  const client = redisClient(t, redis.endpoint);
  await client.connect();
  const key = uniqueName('key');
  t.is(await client.set(key, 'hello berth'), 'OK');
  t.is(await client.get(key), 'hello berth');
  t.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
  t.deepEqual(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
  t.deepEqual(await client.config('GET', 'bind'), ['bind', '127.0.0.1']);
});

test('a client without the password, or with a wrong one, is refused', async (t) => {
  const redis = await startTestRedis(t);
  const { password: _password, ...noPassword } = redis.endpoint;

  const anonymous = redisClient(t, noPassword, { enableReadyCheck: false });
  await anonymous.connect();
  await t.throwsAsync(anonymous.get('anything'), { message: /NOAUTH/ });
  await t.throwsAsync(anonymous.set('anything', 'x'), { message: /NOAUTH/ });

  // The wrong password is refused outright, and refusing it does not log the client in.
  await t.throwsAsync(anonymous.auth('not-the-password'), { message: /WRONGPASS/ });
  await t.throwsAsync(anonymous.get('anything'), { message: /NOAUTH/ });
  // The right one, on the same connection, is accepted: the refusals were about the password.
  t.is(await anonymous.auth(redis.endpoint.password ?? ''), 'OK');
  t.is(await anonymous.ping(), 'PONG');
});

test('the unix-socket mode: round trip through the socket, 0700 directory, no TCP port', async (t) => {
  const redis = await startTestRedis(t, { socket: true });
  t.is(redis.port, undefined);
  const socket = redis.endpoint.path;
  if (socket === undefined) throw new Error('socket mode returned no socket path');
  t.is(redis.endpoint.host, undefined);
  t.is(socket, join(redis.dir, 'redis', 'redis.sock'));
  t.true((await stat(socket)).isSocket());
  t.is((await stat(dirname(socket))).mode & 0o777, 0o700);

  const client = redisClient(t, redis.endpoint);
  await client.connect();
  const key = uniqueName('key');
  t.is(await client.set(key, 'through the socket'), 'OK');
  t.is(await client.get(key), 'through the socket');
  t.deepEqual(await client.config('GET', 'port'), ['port', '0']);
  t.deepEqual(await client.config('GET', 'unixsocketperm'), ['unixsocketperm', '700']);
});

test('data survives a stop and a restart on the same directory (AOF)', async (t) => {
  const redis = await startTestRedis(t);
  const { password } = redis.endpoint;
  const key = uniqueName('key');
  {
    const client = redisClient(t, redis.endpoint);
    await client.connect();
    await client.set(key, 'still here');
    await client.rpush(`${key}:list`, 'a', 'b', 'c');
    client.disconnect();
  }
  const firstPid = redis.supervisor.pid;
  if (firstPid === undefined) throw new Error('the supervisor reports no pid for a running Redis');
  await redis.stop();
  t.false(isAlive(firstPid));

  // The second run logs beside the first (testLogger truncates its test.log).
  const secondLogDir = join(redis.dir, 'second-run');
  await mkdir(secondLogDir);
  const again = await startEmbeddedRedis({
    dir: join(redis.dir, 'redis'),
    port: redis.port,
    password,
    binary: '/usr/bin/redis-server',
    log: testLogger(secondLogDir),
  });
  t.teardown(() => again.stop());
  t.deepEqual(again.endpoint, redis.endpoint);
  t.not(again.supervisor.pid, firstPid);

  const client = redisClient(t, again.endpoint);
  await client.connect();
  t.is(await client.get(key), 'still here');
  t.deepEqual(await client.lrange(`${key}:list`, 0, -1), ['a', 'b', 'c']);
});

test('a redis-server killed with SIGKILL is restarted by the supervisor', async (t) => {
  const redis = await startTestRedis(t);
  const oldPid = redis.supervisor.pid;
  if (oldPid === undefined) throw new Error('the supervisor reports no pid for a running Redis');
  t.is(redis.supervisor.restarts, 0);
  t.deepEqual(redisPids(titleOf(redis.endpoint)), [oldPid]);

  process.kill(oldPid, 'SIGKILL');
  const newPid = await waitFor(
    'a restarted redis-server',
    async () => {
      const pid = redis.supervisor.pid;
      return pid !== undefined && pid !== oldPid && redis.supervisor.restarts === 1 ? pid : undefined;
    },
    15_000,
  );
  t.not(newPid, oldPid);
  t.false(isAlive(oldPid));
  t.is(await waitFor('PING after the restart', () => pingOnce(redis.endpoint), 10_000), 'PONG');
  t.deepEqual(redisPids(titleOf(redis.endpoint)), [newPid]);

  const log = await waitFor(
    'the restart in test.log',
    async () => {
      const text = await readFile(join(redis.dir, 'test.log'), 'utf8');
      return text.includes('exited unexpectedly') && text.includes('restarted') ? text : undefined;
    },
    5000,
  );
  t.regex(log, new RegExp(`redis \\(pid ${oldPid}\\) exited unexpectedly \\(SIGKILL\\)`));
  t.regex(log, new RegExp(`redis restarted \\(pid ${newPid}\\)`));
});

test('after stop() no redis-server is left for that directory', async (t) => {
  const tcp = await startTestRedis(t);
  const socket = await startTestRedis(t, { socket: true });
  for (const redis of [tcp, socket]) {
    const pid = redis.supervisor.pid;
    if (pid === undefined) throw new Error('the supervisor reports no pid for a running Redis');
    t.deepEqual(redisPids(titleOf(redis.endpoint)), [pid]);
    await redis.stop();
    t.is(redis.supervisor.pid, undefined);
    t.false(isAlive(pid));
    t.deepEqual(redisPids(titleOf(redis.endpoint)), []);
    await t.throwsAsync(pingOnce(redis.endpoint));
  }
});

/** startEmbeddedRedis's outcome as a value; a Redis that did start is stopped in teardown. */
async function startOutcome(t: ExecutionContext, start: Promise<EmbeddedRedis>): Promise<unknown> {
  return start.then(
    (redis) => {
      t.teardown(() => redis.stop());
      return redis;
    },
    (err: unknown) => err,
  );
}

test('a port held by another program fails with E_DAEMON_PORT_IN_USE naming the holder', async (t) => {
  const binary = requireBinary('/usr/bin/redis-server', 'redis-server');
  const port = await freePort();
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(port, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  const dir = await tempDir(t, 'berth-redis-');
  const outcome = await startOutcome(t, startEmbeddedRedis({ dir: join(dir, 'redis'), port, binary, log: testLogger(dir) }));
  if (!(outcome instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(outcome)}`);
  t.is(outcome.code, 'E_DAEMON_PORT_IN_USE');
  t.true(outcome.message.includes(`port ${port} is held by pid ${process.pid}`), outcome.message);
  t.deepEqual(outcome.details, { port });
  t.deepEqual(redisPids(`127.0.0.1:${port}`), []);
  t.regex(await readFile(join(dir, 'redis', 'redis.log'), 'utf8'), /Address already in use/);
});

test('a Redis that fails for another reason is not blamed on its (free) port', async (t) => {
  const binary = requireBinary('/usr/bin/redis-server', 'redis-server');
  const dir = await tempDir(t, 'berth-redis-');
  const redisDir = join(dir, 'redis');
  // A damaged AOF manifest: redis-server refuses to start rather than lose data.
  await mkdir(join(redisDir, 'appendonlydir'), { recursive: true, mode: 0o700 });
  await writeFile(join(redisDir, 'appendonlydir', 'appendonly.aof.manifest'), 'this is not a manifest\n');
  const port = await freePort();

  const outcome = await startOutcome(t, startEmbeddedRedis({ dir: redisDir, port, binary, log: testLogger(dir) }));
  if (!(outcome instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(outcome)}`);
  t.is(outcome.code, 'E_REDIS_UNAVAILABLE');
  t.true(outcome.message.includes('(exited with code 1)'), outcome.message);
  t.true(outcome.message.includes(join(redisDir, 'redis.log')), outcome.message);
  t.false(outcome.message.includes(`port ${port}`), outcome.message);
  t.regex(await readFile(join(redisDir, 'redis.log'), 'utf8'), /Invalid AOF manifest file format/);
  t.deepEqual(redisPids(`127.0.0.1:${port}`), []);
});

test('stop() leaves no timer behind that would keep the process alive', async (t) => {
  requireBinary('/usr/bin/redis-server', 'redis-server');
  const dir = await tempDir(t, 'berth-redis-');
  const redisDir = join(dir, 'redis');
  const title = `unixsocket:${join(redisDir, 'redis.sock')}`;
  // In a fresh process, record the timers created while stop() runs and see whether they
  // are all gone shortly after it resolved. A leftover grace timer (10 s) would keep a
  // daemon that shuts down, or this test worker, alive long after its Redis stopped.
  const script = `
    import { createHook } from 'node:async_hooks';
    const live = new Set();
    let recording = false;
    createHook({
      init(id, type) { if (recording && type === 'Timeout') live.add(id); },
      destroy(id) { live.delete(id); },
    }).enable();
    const { startEmbeddedRedis } = await import(${JSON.stringify(new URL('../../../server/redis/index.ts', import.meta.url).href)});
    const { createLogger } = await import(${JSON.stringify(new URL('../../../server/core/index.ts', import.meta.url).href)});
    const redis = await startEmbeddedRedis({ dir: process.argv[1], binary: '/usr/bin/redis-server', log: createLogger({ level: 'silent', pretty: false }) });
    recording = true;
    await redis.stop();
    recording = false;
    const created = live.size;
    for (let i = 0; i < 50 && live.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    process.stdout.write(JSON.stringify({ created, left: live.size }));
    process.exit(0);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, redisDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    for (const pid of redisPids(title)) process.kill(pid, 'SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const [code] = (await Promise.race([
    once(child, 'exit'),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`the child did not finish within 30 s: ${stderr}`)), 30_000).unref()),
  ])) as [number | null];
  t.is(code, 0, stderr);
  const { created, left } = JSON.parse(stdout) as { created: number; left: number };
  t.true(created > 0, 'stop() arms a grace timer (SIGTERM, then SIGKILL)');
  t.is(left, 0, 'every timer stop() created is cleared once redis-server has exited');
  t.deepEqual(redisPids(title), []);
});
