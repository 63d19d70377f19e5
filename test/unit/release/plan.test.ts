/**
 * A release plan is checked before anything starts, every problem listed with the field and
 * value; the containers it asks for: names, labels, env (PORT and DYNO over config vars),
 * group, userns, limits, web first.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { validatePlan, webPortOf } from '../../../server/release/plan.js';
import { processRequest, releasePhaseRequest, wanted } from '../../../server/release/processes.js';
import type { ReleasePlan } from '../../../server/release/index.js';

const good: ReleasePlan = {
  app: 'hello',
  release: 3,
  image: 'sha256:' + 'a'.repeat(64),
  processes: { web: { argv: ['/start', 'web'] }, worker: { argv: ['/start', 'worker'] }, clock: { argv: [] } },
  scale: { worker: 2, web: 1, clock: 0 },
  env: { GREETING: 'hi', PORT: '1' },
  port: 5000,
  domains: ['hello.localhost'],
  userns: { hostId: 100_000, size: 65_536 },
  limits: { memory: 256 * 1024 * 1024 },
};

function problems(plan: unknown): string[] {
  const err = (() => {
    try {
      validatePlan(plan as ReleasePlan);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(err instanceof BerthError) || err.code !== 'E_RELEASE_PLAN_INVALID') throw new Error(`expected E_RELEASE_PLAN_INVALID, got ${String(err)}`);
  return err.details.problems as string[];
}

test('a good plan passes as it is', (t) => {
  t.deepEqual(validatePlan(good), good);
});

test('shape problems are listed with their field', (t) => {
  t.deepEqual(problems({ ...good, release: 0, port: 70000, scale: { web: -1 }, userns: { hostId: 0, size: 65_536 }, extra: 1 }), [
    'release: Too small: expected number to be >=1',
    'scale.web: Too small: expected number to be >=0',
    'port: Too big: expected number to be <=65535',
    'userns.hostId: Too small: expected number to be >=1',
    '(plan): Unrecognized key: "extra"',
  ]);
});

test('names, a scale without its process type and a bad domain are refused by their rules', (t) => {
  const list = problems({ ...good, app: 'Hello', processes: { 'we b': { argv: [] } }, env: { 'BAD-KEY': 'x' }, scale: { web: 1 } });
  t.is(list.length, 4, list.join('\n'));
  t.regex(list[0] ?? '', /^invalid app name "Hello"/);
  t.regex(list[1] ?? '', /^invalid process type "we b"/);
  t.regex(list[2] ?? '', /^invalid config key "BAD-KEY"/);
  t.is(list[3], 'scale: web=1, but the release has no process type "web" (it has we b)');
  t.regex(problems({ ...good, domains: ['Hello.localhost'] })[0] ?? '', /invalid domain "Hello\.localhost"/);
});

test("each container's request: name, labels, env with PORT and DYNO over the config vars, group, userns, limits; web first", (t) => {
  t.deepEqual(wanted(good), [
    ['web', 1],
    ['worker', 1],
    ['worker', 2],
  ]);
  t.deepEqual(processRequest(good, 'worker', 2), {
    image: good.image,
    name: 'hello.worker.2.r3',
    cmd: ['/start', 'worker'],
    env: ['GREETING=hi', 'PORT=5000', 'DYNO=worker.2'],
    labels: { 'berth.app': 'hello', 'berth.release': '3', 'berth.process': 'worker' },
    networkGroup: 'app.hello',
    userns: good.userns,
    memory: 256 * 1024 * 1024,
  });
  t.false('cmd' in processRequest(good, 'clock', 1), "an empty argv runs the image's own command");
  t.like(releasePhaseRequest(good, ['sh', '-c', 'migrate']), {
    name: 'hello.release-phase.r3',
    cmd: ['sh', '-c', 'migrate'],
    env: ['GREETING=hi', 'PORT=1', 'DYNO=release.1'],
    labels: { 'berth.app': 'hello', 'berth.release': '3', 'berth.phase': 'release' },
  });
});

test("the web port: the image's first EXPOSEd TCP port, else 5000", (t) => {
  t.is(webPortOf(undefined), 5000);
  t.is(webPortOf({ ExposedPorts: null }), 5000);
  t.is(webPortOf({ ExposedPorts: { '53/udp': {}, '8080/tcp': {}, '3000/tcp': {} } }), 8080);
  t.is(webPortOf({ ExposedPorts: { '9000': {} } }), 9000);
  t.is(webPortOf({ ExposedPorts: { '53/udp': {} } }), 5000);
});
