/**
 * A lock per key inside one process: one holder at a time for each key, waiters served in
 * the order they asked (FIFO), different keys independent. It replaces the promise chains
 * that containers (one per container id) and the image store (one for its index) each kept.
 * Across processes the image store has its own kernel lock (images/lock.ts); this one only
 * orders the work of this process.
 */

export class KeyedLock {
  /** Per key, the waiters behind the current holder. A key is here exactly while it is held. */
  private readonly queues = new Map<string, Array<() => void>>();

  /**
   * Run `fn` as the only holder of `key`, after every earlier caller of the same key has
   * finished (settled, whether it resolved or threw). A holder that throws still releases
   * the key; its error is this call's. An idle key keeps no memory.
   */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const queue = this.queues.get(key);
    if (queue === undefined) this.queues.set(key, []);
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await fn();
    } finally {
      // Hand the key straight to the next waiter, so a caller arriving meanwhile queues behind it.
      const waiters = this.queues.get(key);
      const next = waiters?.shift();
      if (next === undefined) this.queues.delete(key);
      else next();
    }
  }

  /** Whether `key` has a holder now. */
  held(key: string): boolean {
    return this.queues.has(key);
  }

  /** How many keys have a holder now (0 once every caller has finished). */
  get size(): number {
    return this.queues.size;
  }
}
