/**
 * A daemon restart: the manager is closed (the daemon is down) while containers run and
 * end, and a new one reconciles container.json with the runtime. Also logs --follow.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { runtimeBinary } from '../../helpers/runtime.js';
import { until, useContainers } from '../../helpers/containers.js';

test('restart: one exited while the daemon was down is recorded, a --rm one is gone, a running one is watched again', async (t) => {
  const c = await useContainers(t);
  const mk = async (body: Record<string, unknown>) => (await c.api('POST', '/v1/containers', { image: 'busybox', ...body })).body.id as string;
  const ends = await mk({ cmd: ['sh', '-c', 'sleep 1; exit 4'] });
  const removes = await mk({ cmd: ['sh', '-c', 'sleep 1'], rm: true });
  const runs = await mk({ cmd: ['sleep', '600'] });
  const lost = await mk({ cmd: ['sleep', '600'] });
  for (const id of [ends, removes, runs, lost]) t.is((await c.api('POST', `/v1/containers/${id}/start`)).status, 200);
  c.manager.close(); // the daemon is down
  await new Promise((r) => setTimeout(r, 2500));
  // A reboot loses the runtime's state of `lost` (its /run is a tmpfs).
  spawnSync(runtimeBinary, ['--root', c.root, 'delete', '--force', lost]);
  await c.restart();
  const get = async (id: string) => c.api('GET', `/v1/containers/${id}`);
  t.like((await get(ends)).body, { state: 'exited', exitCode: 4 });
  t.is((await get(removes)).status, 404, 'the --rm container is removed');
  t.like((await get(lost)).body, { state: 'exited', exitCode: 255 });
  t.like((await get(runs)).body, { state: 'running' });
  const stopped = await c.api('POST', `/v1/containers/${runs}/stop?timeout=5`);
  t.like(stopped.body, { state: 'exited', exitCode: 143 });
  for (const id of [ends, runs, lost]) await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});

test('restart: transient containers (build steps) are removed, running or exited, and nothing of them is left', async (t) => {
  const c = await useContainers(t);
  const running = await c.manager.create({ image: 'busybox', cmd: ['sleep', '600'] }, { transient: true });
  const exited = await c.manager.create({ image: 'busybox', cmd: ['true'] }, { transient: true });
  const kept = await c.manager.create({ image: 'busybox', cmd: ['true'] });
  await c.manager.start(running.id, { details: false });
  const { exit } = await c.manager.attach(exited.id);
  await c.manager.start(exited.id);
  t.like(await exit, { exitCode: 0 });
  t.is(c.manager.inspect(running.id).state, 'running');
  c.manager.close(); // the daemon dies mid-build
  const manager = await c.restart();
  t.deepEqual(
    manager.list({ all: true }).map((v) => v.id),
    [kept.id],
    'only the ordinary container is left',
  );
  await manager.remove(kept.id);
  t.deepEqual(c.leftovers(), [], 'no process, mount, cgroup or address of the transient ones');
});

test('logs --follow streams lines as they come and ends when the container ends', async (t) => {
  const c = await useContainers(t);
  // It writes only once /go exists: made after the stream has begun.
  const script = 'while [ ! -e /go ]; do sleep 0.1; done; for i in 1 2 3; do echo line $i; sleep 1; done';
  const id = (await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sh', '-c', script] })).body.id as string;
  await c.api('POST', `/v1/containers/${id}/start`);
  const res = await fetch(`${c.url}/v1/containers/${id}/logs?follow=true`, {
    headers: { authorization: `Bearer ${c.token}` },
    signal: AbortSignal.timeout(60_000),
  });
  t.is(res.headers.get('content-type'), 'application/x-ndjson');
  t.is((await c.runtime.exec(id, ['touch', '/go'])).code, 0);
  const seen: { at: number; log: string }[] = [];
  let buffered = '';
  const start = Date.now();
  for await (const chunk of res.body!) {
    buffered += Buffer.from(chunk).toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const l of lines.filter(Boolean)) seen.push({ at: Date.now() - start, log: (JSON.parse(l) as { line: { log: string } }).line.log });
  }
  t.deepEqual(
    seen.map((s) => s.log),
    ['line 1\n', 'line 2\n', 'line 3\n'],
  );
  t.true(seen[2]!.at - seen[0]!.at >= 1500, 'lines arrived as they were written, not all at the end');
  t.is((await c.api('GET', `/v1/containers/${id}`)).body.state, 'exited', 'the stream ended because the container did');
  await until('nothing left', () => c.leftovers().length === 0);
  await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});
