/**
 * The build cache with real builds: a rebuild without changes runs nothing (every step
 * `---> Using cache`, same image); changing one copied file invalidates exactly its COPY and
 * the steps after it; a build argument invalidates the steps that use it; noCache runs
 * everything; the cache's images survive GC until the cache is pruned.
 */
import test from 'ava';
import type { BuildEvent } from '../../../server/build/index.js';
import { useBuild } from '../../helpers/build.js';

/** For each step (by its instruction): whether the cache answered it. FROM steps are left out. */
function cachedSteps(events: BuildEvent[]): [string, boolean][] {
  const out: [string, boolean][] = [];
  for (const e of events) {
    if (e.type === 'step') out.push([e.instruction, false]);
    if (e.type === 'cache') (out.at(-1) as [string, boolean])[1] = true;
  }
  return out.filter(([i]) => !i.startsWith('FROM'));
}

const dockerfile = [
  'FROM busybox',
  'ARG FLAVOUR=plain',
  'COPY a.txt /a.txt',
  'RUN cat /a.txt > /from-a',
  'COPY b.txt /b.txt',
  'RUN cat /b.txt > /from-b',
  'RUN echo "$FLAVOUR" > /flavour',
  'CMD ["cat", "/from-a", "/from-b", "/flavour"]',
  '',
].join('\n');

test('no-change rebuild: every step from the cache, nothing run, the same image; one changed file: its COPY and what follows', async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({ Dockerfile: dockerfile, 'a.txt': 'a1\n', 'b.txt': 'b1\n' });
  const first = await b.build(dir, { tags: ['cached:1'] });
  t.is(first.error, undefined, first.error?.message);
  t.true(
    cachedSteps(first.events).every(([, hit]) => !hit),
    'a cold build has no hits',
  );

  const again = await b.build(dir, { tags: ['cached:1'] });
  t.is(again.error, undefined, again.error?.message);
  t.deepEqual(
    cachedSteps(again.events).map(([, hit]) => hit),
    [true, true, true, true, true, true, true],
  );
  t.false(
    again.events.some((e) => e.type === 'running'),
    'no container ran',
  );
  t.is(again.result?.image.digest, first.result?.image.digest);
  t.is(again.result?.cached, 7);

  await b.write(dir, { 'b.txt': 'b2\n' });
  const changed = await b.build(dir, { tags: ['cached:1'] });
  t.is(changed.error, undefined, changed.error?.message);
  t.deepEqual(cachedSteps(changed.events), [
    ['ARG FLAVOUR=plain', true],
    ['COPY a.txt /a.txt', true],
    ['RUN cat /a.txt > /from-a', true],
    ['COPY b.txt /b.txt', false],
    ['RUN cat /b.txt > /from-b', false],
    ['RUN echo "$FLAVOUR" > /flavour', false],
    ['CMD ["cat", "/from-a", "/from-b", "/flavour"]', false],
  ]);
  t.deepEqual(await b.runImage('cached:1'), { stdout: 'a1\nb2\nplain\n', stderr: '', exitCode: 0 });

  const flavoured = await b.build(dir, { buildArgs: { FLAVOUR: 'spicy' } });
  t.deepEqual(
    cachedSteps(flavoured.events).map(([, hit]) => hit),
    [false, false, false, false, false, false, false],
    'the ARG step holds the value, so everything after it differs',
  );

  const cold = await b.build(dir, { noCache: true });
  t.is(cold.error, undefined, cold.error?.message);
  t.false(
    cold.events.some((e) => e.type === 'cache'),
    'noCache ignores every entry',
  );
  t.true(cold.events.some((e) => e.type === 'running'));
  t.deepEqual(b.c.leftovers(), []);
});

test("the cache's images are GC roots until the cache is pruned; the tagged image stays", async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({ Dockerfile: dockerfile, 'a.txt': 'a\n', 'b.txt': 'b\n' });
  const first = await b.build(dir, { tags: ['kept:1'] });
  t.is(first.error, undefined, first.error?.message);
  const roots = await b.cache.roots(b.c.store);
  t.is(roots.length, 7, 'one image per step after FROM');
  await b.c.store.gc(roots);
  const again = await b.build(dir);
  t.is(again.result?.cached, 7, 'GC with the cache as roots kept every step');
  t.true((await b.cache.prune()) >= 7);
  const gc = await b.c.store.gc(await b.cache.roots(b.c.store));
  t.true(gc.removedBlobs.length > 0, 'the intermediate images are garbage once pruned');
  t.is<string | undefined, string | undefined>((await b.c.store.resolve('kept:1')).digest, first.result?.image.digest);
  t.deepEqual(await b.runImage('kept:1'), { stdout: 'a\nb\nplain\n', stderr: '', exitCode: 0 });
  const cold = await b.build(dir);
  t.is(cold.result?.cached, 0);
});
