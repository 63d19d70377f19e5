import test from 'ava';
import type { JobInfo } from '../../../server/api/index.js';
import { parseUpdates } from '../../../server/cli/commands/git-hook/pre-receive.js';
import { describeRequest, renderCancel, renderInfo, renderList } from '../../../server/cli/commands/builds/render.js';

const now = Date.parse('2025-01-01T12:00:00Z');
const job = (over: Partial<JobInfo>): JobInfo => ({
  id: 'hello.3',
  app: 'hello',
  number: 3,
  request: { kind: 'push', commit: '1a2b3c4d'.repeat(5), ref: 'refs/heads/main', requestedAt: '2025-01-01T11:58:00Z' },
  state: 'succeeded',
  enqueuedAt: '2025-01-01T11:58:00Z',
  timeoutMs: 1_800_000,
  ...over,
});

test('what a job is about, in a few words, for each kind', (t) => {
  t.is(describeRequest(job({}).request), 'push 1a2b3c4 (main)');
  t.is(describeRequest({ kind: 'config', keys: ['FOO', 'BAR'], requestedAt: '' }), 'config FOO, BAR');
  t.is(describeRequest({ kind: 'scale', scale: { web: 2, worker: 0 }, requestedAt: '' }), 'scale web=2 worker=0');
  t.is(describeRequest({ kind: 'rollback', release: 3, requestedAt: '' }), 'rollback to v3');
});

test('builds:list columns', (t) => {
  t.is(
    renderList([job({ state: 'running', stage: 'build' }), job({ id: 'hello.2', number: 2, state: 'failed' })], now),
    [
      'ID        STATE     STAGE   CREATED         DESCRIPTION',
      'hello.3   running   build   2 minutes ago   push 1a2b3c4 (main)',
      'hello.2   failed    -       2 minutes ago   push 1a2b3c4 (main)',
    ].join('\n'),
  );
});

test('builds:info shows the error of a failed job with its code, and leaves out what is unset', (t) => {
  const text = renderInfo(job({ state: 'failed', error: { code: 'E_BUILD_RUN_FAILED', message: 'RUN make exited 2', hint: '' } }));
  t.regex(text, /^Id: +hello\.3$/m);
  t.regex(text, /^Error: +RUN make exited 2 \[E_BUILD_RUN_FAILED\]$/m);
  t.notRegex(text, /Started|Result/);
});

test('builds:cancel says what it stopped, or that there was nothing', (t) => {
  t.is(renderCancel('hello', { removed: [] }), 'Nothing to cancel: app hello has no running or queued deploy.');
  t.is(
    renderCancel('hello', { running: 'hello.3', removed: ['hello.4'] }),
    'Stopping hello.3; the release that was serving keeps serving.\nRemoved from the queue: hello.4.',
  );
});

test("the hook reads git's <old> <new> <ref> lines and refuses anything else", (t) => {
  const a = 'a'.repeat(40);
  const z = '0'.repeat(40);
  t.deepEqual(parseUpdates(`${z} ${a} refs/heads/main\n${a} ${z} refs/heads/old\n`), [
    { old: z, commit: a, ref: 'refs/heads/main' },
    { old: a, commit: z, ref: 'refs/heads/old' },
  ]);
  t.throws(() => parseUpdates('garbage\n'), { message: /not "<old> <new> <ref>"/ });
});
