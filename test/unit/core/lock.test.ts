/** The keyed lock: one holder per key, waiters in FIFO order, keys independent, nothing kept when idle. */
import test from 'ava';
import { KeyedLock } from '../../../server/core/lock.js';

/** A promise with its resolve at hand, to hold a lock open until the test lets go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('many waiters on one key run one at a time, in the order they asked', async (t) => {
  const lock = new KeyedLock();
  const order: number[] = [];
  let inside = 0;
  let most = 0;
  const runs = Array.from({ length: 50 }, (_, i) =>
    lock.run('k', async () => {
      inside++;
      most = Math.max(most, inside);
      // Yield a varying number of times, so a lock that is not FIFO would show it.
      for (let j = 0; j < (i * 7) % 5; j++) await tick();
      order.push(i);
      inside--;
      return i * 2;
    }),
  );
  t.deepEqual(
    await Promise.all(runs),
    Array.from({ length: 50 }, (_, i) => i * 2),
  );
  t.deepEqual(
    order,
    Array.from({ length: 50 }, (_, i) => i),
  );
  t.is(most, 1);
  t.is(lock.size, 0);
});

test('a caller arriving while the key is handed over queues behind the waiter', async (t) => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const first = gate();
  const a = lock.run('k', async () => {
    await first.promise;
    order.push('a');
  });
  const b = lock.run('k', async () => {
    order.push('b');
  });
  first.open();
  await a;
  const c = lock.run('k', async () => {
    order.push('c');
  });
  await Promise.all([b, c]);
  t.deepEqual(order, ['a', 'b', 'c']);
});

test('different keys do not wait for each other', async (t) => {
  const lock = new KeyedLock();
  const held = gate();
  const slow = lock.run('a', () => held.promise.then(() => 'a'));
  t.true(lock.held('a'));
  // 'b' completes while 'a' is still held.
  t.is(await lock.run('b', async () => 'b'), 'b');
  t.true(lock.held('a'));
  t.false(lock.held('b'));
  held.open();
  t.is(await slow, 'a');
});

test("a holder that throws releases the key; its error is its caller's alone", async (t) => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const failing = lock.run('k', async () => {
    order.push('fails');
    throw new Error('boom');
  });
  const syncThrow = lock.run('k', () => {
    order.push('throws synchronously');
    throw new Error('sync boom');
  });
  const after = lock.run('k', async () => {
    order.push('after');
    return 'ok';
  });
  await t.throwsAsync(failing, { message: 'boom' });
  await t.throwsAsync(syncThrow, { message: 'sync boom' });
  t.is(await after, 'ok');
  t.deepEqual(order, ['fails', 'throws synchronously', 'after']);
  t.is(lock.size, 0);
});

test('an idle key keeps no memory', async (t) => {
  const lock = new KeyedLock();
  for (let i = 0; i < 1000; i++) await lock.run(`key-${i}`, async () => i);
  await Promise.allSettled(
    Array.from({ length: 100 }, (_, i) =>
      lock.run(`k${i % 3}`, async () => {
        if (i % 2) throw new Error('x');
      }),
    ),
  );
  t.is(lock.size, 0);
  t.false(lock.held('key-1'));
});
