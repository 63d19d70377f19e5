/**
 * The container lifecycle through the real API, on the real runtime with the busybox image:
 * create, start, logs, stop, kill, start again on the kept writable layer, rm, --rm, and
 * the errors of bad requests, each leaving nothing behind.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { until, useContainers, type ContainerEnv } from '../../helpers/containers.js';

async function create(t: ExecutionContext, c: ContainerEnv, body: Record<string, unknown>): Promise<string> {
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', ...body });
  t.is(r.status, 201, r.text);
  return r.body.id as string;
}

async function state(c: ContainerEnv, id: string): Promise<Record<string, any>> {
  return (await c.api('GET', `/v1/containers/${id}`)).body as Record<string, any>;
}

/** The log route's NDJSON: one `{"line": LogLine}` envelope per line. */
function logLines(text: string): { stream: string; log: string; time: string }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { line: { stream: string; log: string; time: string } }).line);
}

test('echo: create, start, its output in the log, exit code 0, rm leaves nothing', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'echo hello from berth; echo to stderr >&2'], name: 'echo-one' });
  t.is(r.status, 201, r.text);
  t.like(r.body, {
    name: 'echo-one',
    image: 'busybox',
    state: 'created',
    command: ['sh', '-c', 'echo hello from berth; echo to stderr >&2'],
    tty: false,
    autoRemove: false,
  });
  t.regex(r.body.id, /^[0-9a-f]{64}$/);
  t.regex(r.body.imageDigest, /^sha256:/);
  const id = r.body.id as string;
  const started = await c.api('POST', `/v1/containers/echo-one/start`);
  t.is(started.status, 200, started.text);
  await until('the container to exit', async () => (await state(c, id)).state === 'exited');
  const s = await state(c, id);
  t.is(s.exitCode, 0);
  t.truthy(s.startedAt);
  t.truthy(s.finishedAt);
  const logs = await c.api('GET', `/v1/containers/${id.slice(0, 8)}/logs`);
  t.is(logs.status, 200);
  const lines = logLines(logs.text);
  t.deepEqual(lines.map((l) => [l.stream, l.log]).sort(), [
    ['stderr', 'to stderr\n'],
    ['stdout', 'hello from berth\n'],
  ]);
  for (const l of lines) t.regex(l.time, /^\d{4}-\d\d-\d\dT.*Z$/);
  const tail = await c.api('GET', `/v1/containers/${id}/logs?tail=1`);
  t.is(logLines(tail.text).length, 1);
  t.deepEqual((await c.api('GET', '/v1/containers')).body, [], 'ls without all shows running ones only');
  t.is((await c.api('GET', '/v1/containers?all=true')).body.length, 1);
  const rm = await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(rm.body, { removed: id });
  t.false(existsSync(join(c.home, 'containers', id)));
  t.is((await c.api('GET', `/v1/containers/${id}`)).body.error.code, 'E_CONTAINER_NOT_FOUND');
  t.deepEqual(c.leftovers(), []);
});

test('a detached sleep: stop ends it with SIGTERM (exit 143); kill ends another at once', async (t) => {
  const c = await useContainers(t);
  const id = await create(t, c, { cmd: ['sleep', '600'], pids: 50, cpus: 0.5 });
  const started = await c.api('POST', `/v1/containers/${id}/start`);
  t.like(started.body, { state: 'running' });
  t.true(started.body.pid > 0);
  t.is(started.body.network?.name, c.network);
  t.regex(started.body.network?.address ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  t.is((await c.api('GET', '/v1/containers')).body.length, 1);
  const stats = await c.api('GET', `/v1/containers/${id}/stats`);
  t.is(stats.status, 200, stats.text);
  t.true(stats.body.pids.current >= 1);
  t.is(stats.body.pids.limit, 50, "the pids limit is the container cgroup's");
  const stopped = await c.api('POST', `/v1/containers/${id}/stop?timeout=5`);
  t.is(stopped.status, 200, stopped.text);
  t.like(stopped.body, { state: 'exited', exitCode: 143 });
  t.is(stopped.body.network, undefined);

  const id2 = await create(t, c, { cmd: ['sleep', '600'] });
  await c.api('POST', `/v1/containers/${id2}/start`);
  const killed = await c.api('POST', `/v1/containers/${id2}/kill`);
  t.is(killed.status, 200, killed.text);
  t.like(killed.body, { state: 'exited', exitCode: 137 });
  t.is((await c.api('POST', `/v1/containers/${id2}/kill`)).body.error.code, 'E_CONTAINER_NOT_RUNNING');
  t.is((await c.api('GET', `/v1/containers/${id2}/stats`)).body.error.code, 'E_CONTAINER_NOT_RUNNING');
  t.deepEqual(c.leftovers(), [], 'a stopped container holds nothing in the runtime');
  for (const x of [id, id2]) t.is((await c.api('DELETE', `/v1/containers/${x}`)).status, 200);
});

test('stop then start keeps what the container wrote', async (t) => {
  const c = await useContainers(t);
  const id = await create(t, c, { cmd: ['sh', '-c', 'cat /data/note 2>/dev/null; mkdir -p /data; echo kept >> /data/note; exec sleep 600'] });
  await c.api('POST', `/v1/containers/${id}/start`);
  await c.api('POST', `/v1/containers/${id}/stop?timeout=5`);
  const again = await c.api('POST', `/v1/containers/${id}/start`);
  t.is(again.status, 200, again.text);
  await until('the second run to print the note', async () => logLines((await c.api('GET', `/v1/containers/${id}/logs`)).text).length > 0);
  t.deepEqual(
    logLines((await c.api('GET', `/v1/containers/${id}/logs`)).text).map((l) => l.log),
    ['kept\n'],
  );
  await c.api('POST', `/v1/containers/${id}/kill`);
  await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});

test('rm is refused while the container runs, and forced it removes it', async (t) => {
  const c = await useContainers(t);
  const id = await create(t, c, { cmd: ['sleep', '600'], name: 'busy' });
  await c.api('POST', `/v1/containers/${id}/start`);
  const refused = await c.api('DELETE', '/v1/containers/busy');
  t.is(refused.status, 409);
  t.is(refused.body.error.code, 'E_CONTAINER_RUNNING');
  t.is((await state(c, id)).state, 'running');
  const forced = await c.api('DELETE', '/v1/containers/busy?force=true');
  t.deepEqual(forced.body, { removed: id });
  t.deepEqual(readdirSync(join(c.home, 'containers')), []);
  t.deepEqual(c.leftovers(), []);
});

test('--rm: the container removes itself once it has exited', async (t) => {
  const c = await useContainers(t);
  const id = await create(t, c, { cmd: ['true'], rm: true });
  await c.api('POST', `/v1/containers/${id}/start`);
  await until('the container to be gone', async () => (await c.api('GET', `/v1/containers/${id}`)).status === 404);
  t.false(existsSync(join(c.home, 'containers', id)));
  t.deepEqual(c.leftovers(), []);
});

test('bad requests: each a clear error, and nothing is left behind', async (t) => {
  const c = await useContainers(t);
  const unknown = await c.api('POST', '/v1/containers', { image: 'nosuchimage:1' });
  t.is(unknown.status, 404);
  t.is(unknown.body.error.code, 'E_IMAGE_NOT_FOUND');
  t.regex(unknown.body.error.message, /busybox:latest/, 'lists the images there are');
  const badName = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], name: 'bad/name' });
  t.is(badName.status, 400);
  t.is(badName.body.error.code, 'E_CONTAINER_INVALID');
  t.regex(badName.body.error.message, /character "\/" at position 4/);
  const memory = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], memory: 1000 });
  t.is(memory.body.error.code, 'E_CONTAINER_INVALID');
  t.regex(memory.body.error.message, /memory limit 1000/);
  const cpus = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], cpus: 1000 });
  t.is(cpus.body.error.code, 'E_CONTAINER_INVALID');
  const user = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], user: 'nosuchuser' });
  t.is(user.body.error.code, 'E_CONTAINER_INVALID');
  t.regex(user.body.error.message, /nosuchuser.*\/etc\/passwd/);
  const shape = await c.api('POST', '/v1/containers', { image: 'busybox', bogus: 1 });
  t.is(shape.body.error.code, 'E_API_BAD_REQUEST');
  await create(t, c, { cmd: ['true'], name: 'taken' });
  const dup = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], name: 'taken' });
  t.is(dup.status, 409);
  t.is(dup.body.error.code, 'E_CONTAINER_NAME_IN_USE');
  t.is(readdirSync(join(c.home, 'containers')).length, 1, 'only the good container exists');
  const missing = await c.api('GET', '/v1/containers/tkaen');
  t.is(missing.status, 404);
  t.regex(missing.body.error.message, /did you mean taken/);
  const notFound = await create(t, c, { cmd: ['/no/such/program'] });
  const failed = await c.api('POST', `/v1/containers/${notFound}/start`);
  t.is(failed.status, 500);
  t.is(failed.body.error.code, 'E_CONTAINER_START_FAILED');
  t.regex(failed.body.error.message, /\/no\/such\/program/);
  t.is((await state(c, notFound)).state, 'created');
  t.deepEqual(c.leftovers(), []);
});

test('generated names, refs by prefix, image config precedence, user and limits', async (t) => {
  const c = await useContainers(t);
  const a = await c.api('POST', '/v1/containers', {
    image: 'busybox',
    cmd: ['sh', '-c', 'id -u; id -g; pwd; echo $GREETING'],
    env: ['GREETING=hi'],
    user: 'nobody',
    workdir: '/tmp',
    memory: 64 * 1024 * 1024,
    cpus: 0.5,
    pids: 50,
  });
  t.is(a.status, 201, a.text);
  t.regex(a.body.name, /^[a-z]+_[a-z]+\d*$/);
  t.deepEqual(a.body.limits, { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 50 });
  t.true(a.body.config.env.includes('GREETING=hi'));
  t.true(
    a.body.config.env.some((e: string) => e.startsWith('PATH=')),
    'the image Env stays',
  );
  const b = await c.api('POST', '/v1/containers', { image: 'busybox' });
  t.deepEqual(b.body.command, ['sh'], 'the image Cmd');
  const e = await c.api('POST', '/v1/containers', { image: 'busybox', entrypoint: ['echo'] });
  t.deepEqual(e.body.command, ['echo'], 'an entrypoint drops the image Cmd');
  await c.api('POST', `/v1/containers/${a.body.id.slice(0, 10)}/start`);
  await until('exit', async () => (await state(c, a.body.id)).state === 'exited');
  t.deepEqual(
    logLines((await c.api('GET', `/v1/containers/${a.body.id}/logs`)).text).map((l) => l.log),
    ['65534\n', '65534\n', '/tmp\n', 'hi\n'],
  );
  for (const x of [a, b, e]) await c.api('DELETE', `/v1/containers/${x.body.id}`);
  t.deepEqual(c.leftovers(), []);
});
