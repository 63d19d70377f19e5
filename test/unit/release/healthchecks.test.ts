/**
 * app.json healthchecks (Dokku's format) are validated with every problem named by its key;
 * the checks a container gets (app.json's, else the default, plus the image's HEALTHCHECK
 * for web) with Dokku's default timings; Docker's HEALTHCHECK read from an image config.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { checksFor, dockerHealthcheck, parseHealthchecks } from '../../../server/release/healthchecks.js';

const settings = { uptimeSeconds: 1, bootTimeoutSeconds: 60 };

function problems(value: unknown): string[] {
  try {
    parseHealthchecks(value);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'E_RELEASE_HEALTHCHECKS_INVALID') return e.details.problems as string[];
    throw e;
  }
  throw new Error('expected E_RELEASE_HEALTHCHECKS_INVALID');
}

test("Dokku's example validates; no healthchecks is no check", (t) => {
  const hc = parseHealthchecks({
    web: [
      { type: 'startup', name: 'web check', description: 'ready?', path: '/health/ready', port: 8080, attempts: 3, timeout: 5, wait: 5, initialDelay: 0 },
      { type: 'readiness', name: 'cmd', command: ['/app/check-ready.sh'], initialDelay: 10 },
    ],
    worker: [{ type: 'startup', name: 'worker uptime', uptime: 30 }],
  });
  t.deepEqual(Object.keys(hc), ['web', 'worker']);
  t.deepEqual(parseHealthchecks(undefined), {});
});

test('every problem is listed with its key: unknown and misspelt keys, ranges, strategies, onFailure', (t) => {
  t.deepEqual(
    problems({
      web: [
        { path: '/', intialDelay: 5 },
        { path: '/', command: ['true'] },
        { attempts: 0, listening: true },
        { type: 'warmup', uptime: 5 },
        { content: 'ok', uptime: 1 },
        { path: 'health', timeout: 1.5 },
        { command: ['x'], onFailure: { command: ['/bin/rm', '-rf', '/'] } },
        { description: 'nothing to do' },
      ],
      'bad type!': [],
      worker: { uptime: 1 },
    }),
    [
      'healthchecks.web[6].onFailure: not supported: Berth runs no command or request on the host for a check',
      'healthchecks.web[0]: unknown key "intialDelay"',
      'healthchecks.web[1]: a check has one strategy, but this one sets path and command',
      'healthchecks.web[2].attempts: Too small: expected number to be >=1',
      'healthchecks.web[3].type: Invalid option: expected one of "startup"|"liveness"|"readiness"',
      'healthchecks.web[4].content: content goes with path only',
      'healthchecks.web[5].path: a path starts with / and has no spaces or control characters',
      'healthchecks.web[5].timeout: Invalid input: expected int, received number',
      'healthchecks.web[7]: a check needs one of path, command, listening (true) or uptime',
      'healthchecks.bad type!: not a process type (letters, digits, _ and -, starting with a letter or digit)',
      'healthchecks.worker: Invalid input: expected array, received object',
    ],
  );
  t.deepEqual(problems(['web']), ['healthchecks: Invalid input: expected record, received array']);
});

test("the checks of a type: app.json's with Dokku's default timings, else the default; web also gets the image's HEALTHCHECK", (t) => {
  const hc = parseHealthchecks({
    web: [
      { path: '/up', content: 'ok' },
      { listening: true, port: 3000, attempts: 10, wait: 1 },
    ],
    worker: [{ uptime: 20 }],
  });
  const image = dockerHealthcheck({ Healthcheck: { Test: ['CMD-SHELL', 'test -f /ready'] } });
  t.deepEqual(checksFor('web', { healthchecks: hc, port: 5000, image, settings }), [
    {
      kind: 'path',
      name: 'web check 1',
      port: 5000,
      scheme: 'http',
      path: '/up',
      content: 'ok',
      headers: {},
      attempts: 3,
      timeoutMs: 5000,
      waitMs: 5000,
      initialDelayMs: 0,
      warn: false,
    },
    { kind: 'listening', name: 'web check 2', port: 3000, attempts: 10, timeoutMs: 5000, waitMs: 1000, initialDelayMs: 0, warn: false },
    {
      kind: 'command',
      name: 'Dockerfile HEALTHCHECK',
      argv: ['/bin/sh', '-c', 'test -f /ready'],
      attempts: 3,
      timeoutMs: 30_000,
      waitMs: 30_000,
      initialDelayMs: 0,
      warn: false,
    },
  ]);
  t.deepEqual(checksFor('worker', { healthchecks: hc, port: 5000, image, settings }), [{ kind: 'uptime', name: 'worker check 1', uptimeMs: 20_000 }]);
  t.deepEqual(checksFor('web', { healthchecks: {}, port: 8080, image: undefined, settings }), [
    { kind: 'boot', name: 'default web check', port: 8080, bootTimeoutMs: 60_000, uptimeMs: 1000 },
  ]);
  t.deepEqual(checksFor('clock', { healthchecks: {}, port: 5000, image, settings: { uptimeSeconds: 3, bootTimeoutSeconds: 60 } }), [
    { kind: 'uptime', name: 'default clock check', uptimeMs: 3000 },
  ]);
});

test("Docker's HEALTHCHECK: CMD and CMD-SHELL, retries plus the start period's attempts, NONE and nonsense ignored", (t) => {
  t.like(dockerHealthcheck({ Healthcheck: { Test: ['CMD', 'curl', '-f', 'http://localhost/'], Interval: 2e9, Timeout: 1e9, Retries: 5 } }), {
    argv: ['curl', '-f', 'http://localhost/'],
    attempts: 5,
    timeoutMs: 1000,
    waitMs: 2000,
  });
  t.like(dockerHealthcheck({ Healthcheck: { Test: ['CMD-SHELL', 'true'], StartPeriod: 10e9, StartInterval: 2e9 } }), { attempts: 3 + 5, waitMs: 2000 });
  t.is(dockerHealthcheck({ Healthcheck: { Test: ['NONE'] } }), undefined);
  t.is(dockerHealthcheck({ Healthcheck: { Test: [] } }), undefined);
  t.is(dockerHealthcheck({ Healthcheck: 'curl' }), undefined);
  t.is(dockerHealthcheck({}), undefined);
  t.is(dockerHealthcheck(undefined), undefined);
});
