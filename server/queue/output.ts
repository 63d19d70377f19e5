/**
 * A job's output channel: one Redis stream per job (`<prefix>:output:<app>.<n>`).
 *
 * Why a stream per job, rather than BullMQ's job logs or its queue events:
 * - a reader attaches at any time, even after the job ended, and reads **from the first line**
 *   (XREAD from id 0), then **follows** with a blocking XREAD: no polling, no missed line
 *   between "read what is there" and "wait for more", because both are one cursor;
 * - BullMQ's job logs are a list with no blocking read (a follower would poll), and its queue
 *   events are one stream shared by every job of the queue, trimmed as a whole: a busy app
 *   would push a slow reader's lines out;
 * - it is bounded twice: `MAXLEN` keeps the last `maxEvents` events (a reader that comes late
 *   is told how many were trimmed off the front), and the key expires `ttlSeconds` after the
 *   last write, so finished jobs' output does not pile up in a Redis that holds only the queue.
 *
 * The last event of a channel is `end` (with the job's outcome); followers stop there.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.js';
import type { JobError, OutputEvent } from './types.js';

/** Longer lines are cut here (a minified bundle echoed by a build would otherwise fill Redis). */
export const MAX_LINE_BYTES = 16 * 1024;

export interface OutputLimits {
  maxEvents: number;
  ttlSeconds: number;
}

type Fields = Record<string, string>;

function toFields(event: OutputEvent): Fields {
  const base = { t: event.type, s: String(event.seq), a: String(event.at) };
  switch (event.type) {
    case 'line':
      return { ...base, v: event.text };
    case 'stage':
      return { ...base, v: event.stage };
    case 'end':
      return { ...base, v: event.state, ...(event.error ? { e: JSON.stringify(event.error) } : {}) };
    case 'dropped':
      return { ...base, v: String(event.count) };
  }
}

function fromFields(flat: string[]): OutputEvent | undefined {
  const f: Fields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  const seq = Number(f.s);
  const at = Number(f.a);
  const v = f.v ?? '';
  switch (f.t) {
    case 'line':
      return { type: 'line', seq, at, text: v };
    case 'stage':
      return { type: 'stage', seq, at, stage: v };
    case 'end': {
      const error = f.e === undefined ? undefined : (JSON.parse(f.e) as JobError);
      return { type: 'end', seq, at, state: v === 'succeeded' ? 'succeeded' : 'failed', ...(error ? { error } : {}) };
    }
    default:
      return undefined; // a field set this version does not write: skipped, never fatal
  }
}

function cutLine(text: string): string {
  if (Buffer.byteLength(text) <= MAX_LINE_BYTES) return text;
  const cut = Buffer.from(text)
    .subarray(0, MAX_LINE_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}… [line cut at ${MAX_LINE_BYTES} bytes]`;
}

/**
 * Appends a job's events in order. `line` and `stage` return at once (a processor never waits
 * for Redis to print a line); writes go out on one connection, so they land in call order, and
 * `flush` waits for all of them. A failed write is logged, never thrown at the processor.
 */
export class OutputWriter {
  private seq: number;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly limits: OutputLimits,
    private readonly log: Logger,
    /** The seq of the last event already in the channel (recovery appends to a dead job's). */
    lastSeq = 0,
  ) {
    this.seq = lastSeq;
  }

  line(text: string): void {
    for (const line of text.split(/\r?\n/)) this.append({ type: 'line', seq: 0, at: 0, text: cutLine(line) });
  }

  stage(stage: string): void {
    this.append({ type: 'stage', seq: 0, at: 0, stage });
  }

  /** The last event: followers stop here. Resolves once it is written. */
  async end(state: 'succeeded' | 'failed', error?: JobError): Promise<void> {
    this.append({ type: 'end', seq: 0, at: 0, state, ...(error ? { error } : {}) });
    await this.flush();
  }

  flush(): Promise<void> {
    return this.pending;
  }

  private append(event: OutputEvent): void {
    const stamped = { ...event, seq: ++this.seq, at: Date.now() } as OutputEvent;
    const fields = Object.entries(toFields(stamped)).flat();
    const write = this.redis
      .pipeline()
      .xadd(this.key, 'MAXLEN', '=', String(this.limits.maxEvents), '*', ...fields)
      .expire(this.key, this.limits.ttlSeconds)
      .exec()
      .then((results) => {
        const failed = results?.find(([err]) => err !== null)?.[0];
        if (failed) throw failed;
      })
      .catch((err: unknown) => this.log.warn({ err, key: this.key, seq: stamped.seq }, 'a line of job output could not be written to Redis'));
    this.pending = this.pending.then(() => write);
  }
}

/** The seq of the channel's last event (0 for an empty or missing channel). */
export async function lastSeq(redis: Redis, key: string): Promise<number> {
  const last = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  const fields = last[0]?.[1];
  return fields ? (fromFields(fields)?.seq ?? 0) : 0;
}

/** The channel's end event, if the job has ended and its channel is still there. */
export async function endEvent(redis: Redis, key: string): Promise<Extract<OutputEvent, { type: 'end' }> | undefined> {
  const last = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  const fields = last[0]?.[1];
  const event = fields ? fromFields(fields) : undefined;
  return event?.type === 'end' ? event : undefined;
}

export interface FollowOptions {
  /** Follow until the end event; otherwise return what is there now. @defaultValue true */
  follow?: boolean;
  signal?: AbortSignal;
  /** How long one blocking read waits before `finished` is asked again. @defaultValue 2000 */
  blockMs?: number;
  /** A hard bound on the whole follow, whatever happens. */
  maxMs: number;
  /**
   * Whether the job is over (or gone). Asked when a blocking read times out: a job that ended
   * without an end event (its channel expired, or it was removed) must not be followed forever.
   */
  finished: () => Promise<boolean>;
}

const BATCH = 500;

/**
 * Every event of a channel from the first one kept, then (with `follow`) the new ones as they
 * come, until the end event, the signal, `maxMs`, or a blocking read that times out on a job
 * that is over. `redis` must be a connection of its own: a blocking XREAD holds it, and an abort
 * disconnects it to interrupt the read.
 */
export async function* readOutput(redis: Redis, key: string, o: FollowOptions): AsyncGenerator<OutputEvent> {
  const follow = o.follow ?? true;
  const blockMs = o.blockMs ?? 2000;
  const deadline = Date.now() + o.maxMs;
  const onAbort = (): void => redis.disconnect();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let cursor = '0';
  let first = true;
  let overSeen = false;
  try {
    while (!o.signal?.aborted && Date.now() < deadline) {
      const wait = Math.max(1, Math.min(blockMs, deadline - Date.now()));
      const block = follow && !first ? ['BLOCK', String(wait)] : [];
      const reply = (await redis.call('XREAD', 'COUNT', String(BATCH), ...block, 'STREAMS', key, cursor)) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        cursor = id;
        const event = fromFields(fields);
        if (event === undefined) continue;
        if (first && event.seq > 1) yield { type: 'dropped', seq: 0, at: event.at, count: event.seq - 1 };
        first = false;
        yield event;
        if (event.type === 'end') return;
      }
      if (entries.length === BATCH) continue;
      first = false;
      if (!follow) return;
      if (entries.length === 0 && block.length > 0) {
        // One more read after the job is seen over: its last events may have landed since.
        if (overSeen) return;
        overSeen = await o.finished();
      }
    }
  } catch (err) {
    if (o.signal?.aborted) return;
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}
