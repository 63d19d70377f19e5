/**
 * Berth's embedded nginx against the real binary: routing by Host through conf.d, the
 * default server, `nginx -t` guarding reloads, supervision after a crash, a port someone
 * else holds, clean stop.
 */
import test, { type ExecutionContext } from 'ava';
import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { BerthError, freePort } from '../../../server/core/index.js';
import { startEmbeddedNginx, type EmbeddedNginx } from '../../../server/proxy/index.js';
import { startTestNginx, type TestNginx } from '../../helpers/start-nginx.js';
import { startBackend, type TestBackend } from '../../helpers/http-backend.js';
import { httpGet, waitFor, type HttpAnswer } from '../../helpers/http.js';
import { isAlive, pidsInGroup, pidsMatching } from '../../helpers/processes.js';
import { tempDir, uniqueName } from '../../helpers/temp-dir.js';
import { testLogger } from '../../helpers/logger.js';
import { requireBinary } from '../../helpers/prereq.js';

/**
 * Safety net for a failing run: SIGKILL whatever nginx processes are still in group `pgid`
 * when the test ends (workers orphaned by a master the supervisor failed to clean up).
 */
function reapGroup(t: ExecutionContext, pgid: number): void {
  t.teardown(() => {
    for (const pid of pidsInGroup(pgid)) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // already gone
      }
      if (!cmdline.startsWith('nginx:')) continue; // the pid was reused: not ours
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ESRCH: it died meanwhile.
      }
    }
  });
}

/** One request to the embedded nginx on loopback for `host`; a fresh connection each time. */
const get = (port: number, host: string): Promise<HttpAnswer> => httpGet(`http://127.0.0.1:${port}/`, { Host: host, Connection: 'close' }, 3000);

/** A server block in conf.d that proxies `host` to the backend. */
async function writeApp(nginx: TestNginx, host: string, backend: TestBackend): Promise<string> {
  const file = join(nginx.paths.sites, 'app.conf');
  await writeFile(
    file,
    `server {
    listen ${nginx.port};
    server_name ${host};
    location / {
        proxy_pass http://127.0.0.1:${backend.port};
        proxy_set_header Host $host;
    }
}
`,
  );
  return file;
}

/** Wait (bounded) until nginx serves the backend's body for `host`: a reload is asynchronous. */
const servesApp = (nginx: TestNginx, host: string, backend: TestBackend, what: string) =>
  waitFor(
    what,
    async () => {
      const answer = await get(nginx.port, host);
      return answer.status === 200 && answer.body === backend.body ? answer : undefined;
    },
    10_000,
  );

/** nginx serving one app: returns the nginx, the app's host name and its backend. */
async function nginxWithApp(t: ExecutionContext): Promise<{ nginx: TestNginx; host: string; backend: TestBackend }> {
  const nginx = await startTestNginx(t);
  const backend = await startBackend(t, `hello from ${uniqueName('backend')}\n`);
  const host = `${uniqueName('app')}.localhost`;
  await writeApp(nginx, host, backend);
  await nginx.reload();
  await servesApp(nginx, host, backend, `${host} after the reload`);
  return { nginx, host, backend };
}

test('conf.d routes a Host to its app after reload(); unknown hosts get the default 404', async (t) => {
  const nginx = await startTestNginx(t);
  const backend = await startBackend(t, `hello from ${uniqueName('backend')}\n`);
  const host = 'app.localhost';

  // Before the app is configured, its host is unknown too.
  const before = await get(nginx.port, host);
  t.is(before.status, 404);
  t.is(before.headers['x-berth-default-server'], '1');

  await writeApp(nginx, host, backend);
  await nginx.reload();
  const answer = await servesApp(nginx, host, backend, 'app.localhost served by the backend');
  t.is(answer.body, backend.body);
  t.is(answer.headers['x-berth-default-server'], undefined);

  const unknown = await get(nginx.port, 'unknown.localhost');
  t.is(unknown.status, 404);
  t.is(unknown.headers['x-berth-default-server'], '1');
  t.is(unknown.body, '404: no app is served at this address\n');
  t.not(unknown.body, backend.body);
});

test('a broken conf.d file makes reload() reject, quoting nginx, and the old config keeps serving', async (t) => {
  const { nginx, host, backend } = await nginxWithApp(t);
  const masterPid = nginx.supervisor.pid;
  const broken = join(nginx.paths.sites, 'broken.conf');
  await writeFile(broken, `server {\n    listen ${nginx.port};\n    server_name broken.localhost;\n    berth_no_such_directive on;\n}\n`);

  const err = await t.throwsAsync(nginx.reload(), { instanceOf: BerthError });
  if (!(err instanceof BerthError)) throw new Error('expected a BerthError');
  t.is(err.code, 'E_NGINX_CONFIG_REJECTED');
  t.true(err.message.includes(`unknown directive "berth_no_such_directive" in ${broken}:4`), err.message);
  t.true(err.message.includes(nginx.paths.config), err.message);

  // No SIGHUP was sent: same master, and the app is still served as before.
  t.is(nginx.supervisor.pid, masterPid);
  t.is(nginx.supervisor.restarts, 0);
  for (let i = 0; i < 5; i++) {
    const answer = await get(nginx.port, host);
    t.is(answer.status, 200);
    t.is(answer.body, backend.body);
  }
  const unknown = await get(nginx.port, 'broken.localhost');
  t.is(unknown.status, 404);
  t.is(unknown.headers['x-berth-default-server'], '1');
});

test('an nginx master killed with SIGKILL is restarted, serves again, and leaves no orphaned workers', async (t) => {
  const { nginx, host, backend } = await nginxWithApp(t);
  const oldPid = nginx.supervisor.pid;
  if (oldPid === undefined) throw new Error('the supervisor reports no pid for a running nginx');
  reapGroup(t, oldPid);
  const oldWorkers = pidsInGroup(oldPid).filter((pid) => pid !== oldPid);
  t.true(oldWorkers.length > 0, 'the old master has workers in its process group');

  process.kill(oldPid, 'SIGKILL');
  const newPid = await waitFor(
    'a restarted nginx master',
    async () => {
      const pid = nginx.supervisor.pid;
      return pid !== undefined && pid !== oldPid && nginx.supervisor.restarts === 1 ? pid : undefined;
    },
    15_000,
  );
  t.not(newPid, oldPid);
  await servesApp(nginx, host, backend, `${host} after the restart`);

  // The supervisor killed the old group before restarting: workers are gone, not re-parented.
  t.false(isAlive(oldPid));
  t.deepEqual(pidsInGroup(oldPid), []);
  for (const pid of oldWorkers) t.false(isAlive(pid), `old worker ${pid} is gone`);
  t.true(pidsInGroup(newPid).includes(newPid));
  // Only the new master (and a just-forked worker that has not renamed itself yet) match.
  const matching = pidsMatching(`-p ${nginx.prefix}/`);
  t.true(matching.includes(newPid));
  t.deepEqual(
    matching.filter((pid) => !pidsInGroup(newPid).includes(pid)),
    [],
  );
});

test('a port held by another program fails with E_DAEMON_PORT_IN_USE naming the port and the holder', async (t) => {
  const binary = requireBinary('/usr/sbin/nginx', 'nginx');
  const port = await freePort();
  const holder: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(port, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  const dir = await tempDir(t, 'berth-nginx-');
  const prefix = join(dir, 'nginx');
  const outcome = await startEmbeddedNginx({ prefix, port, binary, log: testLogger(dir) }).then(
    (nginx: EmbeddedNginx) => {
      t.teardown(() => nginx.stop());
      return nginx;
    },
    (err: unknown) => err,
  );
  if (!(outcome instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(outcome)}`);
  t.is(outcome.code, 'E_DAEMON_PORT_IN_USE');
  t.true(outcome.message.includes(`port ${port} is held by pid ${process.pid}`), outcome.message);
  t.deepEqual(outcome.details, { port });
  t.deepEqual(pidsMatching(prefix), []);
  t.true(holder.listening, 'the holder keeps its port');
});

test('after stop() no nginx process for that prefix remains', async (t) => {
  const nginx = await startTestNginx(t);
  const masterPid = nginx.supervisor.pid;
  if (masterPid === undefined) throw new Error('the supervisor reports no pid for a running nginx');
  reapGroup(t, masterPid);
  // The master, and perhaps a worker forked a moment ago that still shows its command line.
  const matching = pidsMatching(nginx.prefix);
  t.true(matching.includes(masterPid));
  t.deepEqual(
    matching.filter((pid) => !pidsInGroup(masterPid).includes(pid)),
    [],
  );
  const workers = pidsInGroup(masterPid).filter((pid) => pid !== masterPid);
  t.true(workers.length > 0, 'the master has workers');

  await nginx.stop();
  t.is(nginx.supervisor.pid, undefined);
  t.deepEqual(pidsMatching(nginx.prefix), []);
  t.deepEqual(pidsInGroup(masterPid), []);
  for (const pid of workers) t.false(isAlive(pid), `worker ${pid} is gone`);
  await t.throwsAsync(get(nginx.port, 'app.localhost'));
});
