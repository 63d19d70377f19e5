/**
 * The stages are named once, in Dokku's order, and docs/deploys.md lists the same ones in the
 * same order; the stage runner announces each once, in order, with its heading, and turns a
 * failure into an error that names the stage and what still serves.
 */
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { StageRunner } from '../../../server/deploy/stage-runner.js';
import { stageNames, stages, stagesWithoutBuild } from '../../../server/deploy/stages.js';
import { tableCells } from '../../helpers/markdown.js';

test("the stages, in Dokku's order: receive, build, release, release phase, start, checks, switch, retire, record", (t) => {
  t.deepEqual(stageNames, ['receive', 'build', 'release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record']);
  t.deepEqual(stagesWithoutBuild, ['release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record']);
  t.is(new Set(stages.map((s) => s.heading)).size, stages.length, 'each heading is its own');
  for (const s of stages) t.regex(s.does, /^[a-z`"']/, `${s.name}: a one-line description`);
});

test('docs/deploys.md has a row per stage, in the same order, saying what it does', async (t) => {
  const doc = await readFile(new URL('../../../docs/deploys.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## The stages'), doc.indexOf('\n## ', doc.indexOf('## The stages') + 1));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map(tableCells);
  t.deepEqual(
    rows.map((r) => r[0]),
    stageNames.map((n) => `\`${n}\``),
  );
  for (const [i, s] of stages.entries()) t.is(rows[i]?.[1], s.does, `${s.name}: the doc's description is the code's`);
});

function recorder() {
  const events: string[] = [];
  return { events, job: { line: (text: string) => events.push(`line ${text}`), stage: (name: string) => events.push(`stage ${name}`) } };
}

test('the runner announces each stage once, in order, on the channel and as a ----> heading; a stage already passed is ignored', (t) => {
  const { events, job } = recorder();
  const runner = new StageRunner(job);
  runner.begin('receive', 'commit 1a2b3c4 of main');
  runner.detail('3 files\n12 B');
  runner.begin('build');
  runner.begin('build');
  runner.begin('receive');
  runner.begin('start');
  t.deepEqual(events, [
    'stage receive',
    'line -----> Receiving commit 1a2b3c4 of main',
    'line        3 files',
    'line        12 B',
    'stage build',
    'line -----> Building',
    'stage start',
    'line -----> Starting',
  ]);
  t.is(runner.current, 'start');
  const timings = runner.timings();
  t.deepEqual(Object.keys(timings), ['receive', 'build', 'start', 'total']);
  for (const v of Object.values(timings)) t.true(Number.isInteger(v) && v >= 0);
});

test('a failure names its stage, keeps its code, details and cause, and says which release still serves', (t) => {
  const runner = new StageRunner(recorder().job);
  runner.begin('build');
  const cause = new BerthError('E_BUILD_RUN_FAILED', 'RUN false exited with 1', { details: { line: 3 } });
  const e = runner.failure(cause, 3);
  t.is(e.code, 'E_BUILD_RUN_FAILED');
  t.is(e.message, 'the build stage failed: RUN false exited with 1');
  t.deepEqual(e.details, { line: 3, stage: 'build' });
  t.is(e.cause, cause);
  t.true(e.hint.startsWith(cause.hint));
  t.regex(e.hint, /Release v3 keeps serving, untouched\.$/);
  t.regex(runner.failure(new Error('boom'), undefined).hint, /Nothing was serving before this deploy/);
  t.is(runner.failure(new Error('boom'), undefined).code, 'E_BERTH_INTERNAL');
});

test("the queue's own reasons (cancelled, timed out, stopping) pass through unchanged", (t) => {
  const runner = new StageRunner(recorder().job);
  runner.begin('checks');
  for (const code of ['E_QUEUE_CANCELLED', 'E_QUEUE_TIMEOUT', 'E_QUEUE_INTERRUPTED'] as const) {
    const reason = new BerthError(code, 'stopped');
    t.is(runner.failure(reason, 1), reason);
  }
});
