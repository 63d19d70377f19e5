/**
 * The optional tiny init (annotation berth.init=true): PID 1 reaps orphaned zombies and
 * forwards signals to the program; without it, a program that does not reap leaves zombies.
 */
import test from 'ava';
import { waitFor } from '../../helpers/http.js';
import { containerId, leftovers, makeBundle, useRuntime, type Runtime } from '../../helpers/runtime.js';

// An orphan: the subshell exits at once, its `sleep` is reparented to PID 1 and exits soon.
const orphanThenWait = ['/bin/sh', '-c', '(/bin/sleep 0.2 &); exec /probe signals'];

function zombies(rt: Runtime, id: string): number {
  const r = rt.run(['exec', id, '/bin/sh', '-c', 'grep -l "^State:.*Z" /proc/[0-9]*/status | wc -l || true']);
  return Number.parseInt(r.stdout.trim() || '0', 10);
}

test('with berth.init, orphans are reaped and SIGTERM reaches the program', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, orphanThenWait, (c) => {
    c.annotations = { 'berth.init': 'true' };
  });
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await new Promise((r) => setTimeout(r, 600));
  t.is(zombies(rt, id), 0);
  t.is(rt.run(['kill', id, 'TERM']).status, 0);
  const state = await waitFor('the container to stop', async () => {
    const s = JSON.parse(rt.run(['state', id]).stdout) as { status: string; exitCode?: number };
    return s.status === 'stopped' && s.exitCode !== undefined ? s : undefined;
  });
  t.is(state.exitCode, 0, 'the program got SIGTERM from the init and exited 0');
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('without an init, the same program leaves a zombie (the reason the init exists)', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, orphanThenWait);
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await new Promise((r) => setTimeout(r, 600));
  t.is(zombies(rt, id), 1);
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});
