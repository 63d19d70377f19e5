/**
 * The queue's pure parts: job ids (`<app>.<number>`, never guessed at), the checks a job request
 * passes before it is stored, and what a queued job says it waits for.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { formatJobId, parseJobId } from '../../../server/queue/index.js';
import { checkRequest, toInfo, type StoredJob } from '../../../server/queue/jobs.js';

test('a job id is <app>.<number> and splits back', (t) => {
  t.is(formatJobId('hello', 12), 'hello.12');
  t.deepEqual(parseJobId('hello.12'), { app: 'hello', number: 12 });
  t.deepEqual(parseJobId('my-app-2.1'), { app: 'my-app-2', number: 1 });
});

test('a malformed job id is E_QUEUE_JOB_ID_INVALID naming it', (t) => {
  for (const bad of ['hello', 'hello.', 'hello.0', 'hello.01', 'hello.-1', 'hello.1e3', '.3', 'Hello.3', 'hel lo.3', 'a.b.3', 'hello.3 ']) {
    const err = t.throws(() => parseJobId(bad), { instanceOf: BerthError }, bad);
    t.is(err?.code, 'E_QUEUE_JOB_ID_INVALID', bad);
    t.true(err?.message.includes(JSON.stringify(bad)), err?.message);
  }
});

test('requests are checked and get a requestedAt', (t) => {
  const commit = 'a'.repeat(40);
  const push = checkRequest({ kind: 'push', commit, ref: 'refs/heads/main' });
  t.is(push.kind, 'push');
  t.false(Number.isNaN(Date.parse(push.requestedAt)));
  t.deepEqual(checkRequest({ kind: 'scale', scale: { web: 3, worker: 0 }, requestedAt: '2025-01-31T12:00:00Z' }), {
    kind: 'scale',
    scale: { web: 3, worker: 0 },
    requestedAt: '2025-01-31T12:00:00Z',
  });
  t.deepEqual(checkRequest({ kind: 'config', keys: ['GREETING'], requestedAt: '2025-01-31T12:00:00Z' }), {
    kind: 'config',
    keys: ['GREETING'],
    requestedAt: '2025-01-31T12:00:00Z',
  });
  t.is(checkRequest({ kind: 'rollback', release: 3 }).kind, 'rollback');
  const bad: [unknown, string, string][] = [
    [{ kind: 'push', commit: 'A'.repeat(40), ref: 'refs/heads/main' }, 'E_QUEUE_JOB_INVALID', 'commit'],
    [{ kind: 'push', commit, ref: 'main' }, 'E_QUEUE_JOB_INVALID', 'ref'],
    [{ kind: 'scale', scale: {} }, 'E_QUEUE_JOB_INVALID', 'scale'],
    [{ kind: 'scale', scale: { web: 1.5 } }, 'E_QUEUE_JOB_INVALID', 'web=1.5'],
    [{ kind: 'scale', scale: { 'we b': 1 } }, 'E_NAME_INVALID', 'process type'],
    [{ kind: 'config', keys: ['1BAD'] }, 'E_NAME_INVALID', 'config key'],
    [{ kind: 'rollback', release: 1.5 }, 'E_QUEUE_JOB_INVALID', 'release'],
    [{ kind: 'push', commit, ref: 'refs/heads/main', requestedAt: 'yesterday' }, 'E_QUEUE_JOB_INVALID', 'yesterday'],
    [{ kind: 'deploy' }, 'E_QUEUE_JOB_INVALID', '"deploy"'],
  ];
  for (const [request, code, named] of bad) {
    const err = t.throws(() => checkRequest(request as never), { instanceOf: BerthError }, JSON.stringify(request));
    t.is(err?.code as string | undefined, code, JSON.stringify(request));
    t.true(err?.message.includes(named), err?.message);
  }
});

const stored = (id: number, kind: 'push' | 'config' = 'push'): StoredJob =>
  ({
    id: String(id),
    data: {
      app: 'hello',
      request:
        kind === 'push'
          ? { kind, commit: 'b'.repeat(40), ref: 'refs/heads/main', requestedAt: '2025-01-31T12:00:00.000Z' }
          : { kind, keys: ['A'], requestedAt: '2025-01-31T12:00:00.000Z' },
      timeoutMs: 1000,
    },
    timestamp: Date.parse('2025-01-31T12:00:01.000Z'),
    progress: 0,
    returnvalue: null,
    failedReason: '',
  }) as unknown as StoredJob;

test('a queued job says what it waits for and how many jobs are ahead', (t) => {
  const behindRunning = toInfo(stored(14), 'waiting', stored(12), [13, 14, 15]);
  t.is(behindRunning.state, 'queued');
  t.is(behindRunning.waitingFor, 'waiting for deploy #12 of app hello');
  t.is(behindRunning.ahead, 2);
  t.is(toInfo(stored(14), 'waiting', stored(12, 'config'), [14]).waitingFor, 'waiting for config change #12 of app hello');
  t.is(toInfo(stored(3), 'waiting', undefined, [3]).waitingFor, 'waiting for a free worker');
  t.is(toInfo(stored(4), 'waiting', undefined, [3, 4]).waitingFor, 'waiting behind 1 earlier job of app hello');
  const running = toInfo(stored(12), 'active', undefined, []);
  t.is(running.state, 'running');
  t.is(running.waitingFor, undefined);
  t.is(running.id, 'hello.12');
  t.is(running.enqueuedAt, '2025-01-31T12:00:01.000Z');
});
