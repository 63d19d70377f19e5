import test from 'ava';
import type { ContainerView } from '../../../server/api/index.js';
import { commandText, renderContainers, statsRow, statusText } from '../../../server/cli/commands/container/table.js';
import { bytesSize, humanDuration } from '../../../server/cli/lib/format.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const ago = (s: number) => new Date(now - s * 1000).toISOString();

test("durations in Docker's words", (t) => {
  t.is(humanDuration(500), 'Less than a second');
  t.is(humanDuration(1000), '1 second');
  t.is(humanDuration(45_000), '45 seconds');
  t.is(humanDuration(90_000), 'About a minute');
  t.is(humanDuration(3 * 60_000), '3 minutes');
  t.is(humanDuration(3600_000), 'About an hour');
  t.is(humanDuration(5 * 3600_000), '5 hours');
  t.is(humanDuration(3 * 86_400_000), '3 days');
  t.is(humanDuration(21 * 86_400_000), '3 weeks');
  t.is(humanDuration(90 * 86_400_000), '3 months');
  t.is(humanDuration(800 * 86_400_000), '2 years');
});

test('STATUS: Created, Up …, Exited (N) … ago', (t) => {
  t.is(statusText({ state: 'created', created: ago(5) }, now), 'Created');
  t.is(statusText({ state: 'running', created: ago(300), startedAt: ago(180) }, now), 'Up 3 minutes');
  t.is(statusText({ state: 'exited', created: ago(300), startedAt: ago(200), finishedAt: ago(120), exitCode: 0 }, now), 'Exited (0) 2 minutes ago');
  t.is(statusText({ state: 'exited', created: ago(300), finishedAt: ago(2), exitCode: 137 }, now), 'Exited (137) 2 seconds ago');
});

test('COMMAND is quoted and cut to 20 characters', (t) => {
  t.is(commandText(['echo', 'hi']), '"echo hi"');
  t.is(commandText(['sh', '-c', 'while true; do sleep 1; done']), '"sh -c while true; d…"');
  t.is(commandText(['sh', '-c', 'while true; do sleep 1; done'], false), '"sh -c while true; do sleep 1; done"');
});

function view(over: Partial<ContainerView>): ContainerView {
  return {
    id: 'a'.repeat(64),
    name: 'quirky_turing',
    image: 'busybox',
    imageDigest: `sha256:${'b'.repeat(64)}`,
    command: ['sh'],
    created: ago(600),
    state: 'running',
    startedAt: ago(590),
    ports: [],
    tty: false,
    stdin: false,
    autoRemove: false,
    limits: {},
    config: { env: [], workdir: '/', labels: {} },
    ...over,
  };
}

test("container:ls: Docker's columns, short ids, loopback ports", (t) => {
  const out = renderContainers(
    [
      view({ ports: [{ hostPort: 8080, containerPort: 80 }] }),
      view({ id: `c${'0'.repeat(63)}`, name: 'done', command: ['echo', 'hi'], state: 'exited', exitCode: 3, finishedAt: ago(120) }),
    ],
    { now },
  );
  const lines = out.split('\n');
  t.regex(lines[0] ?? '', /^CONTAINER ID\s{3,}IMAGE\s{3,}COMMAND\s{3,}CREATED\s{3,}STATUS\s{3,}PORTS\s{3,}NAMES$/);
  t.regex(lines[1] ?? '', /^aaaaaaaaaaaa\s+busybox\s+"sh"\s+10 minutes ago\s+Up 9 minutes\s+127\.0\.0\.1:8080->80\/tcp\s+quirky_turing$/);
  t.regex(lines[2] ?? '', /^c00000000000\s+busybox\s+"echo hi"\s+10 minutes ago\s+Exited \(3\) 2 minutes ago\s+done$/);
  // Columns line up: NAMES starts at the same offset on every line.
  t.is(lines[1]?.indexOf('quirky_turing'), lines[0]?.indexOf('NAMES'));
  t.is(lines[2]?.indexOf('done'), lines[0]?.indexOf('NAMES'));
  t.regex(renderContainers([view({})], { now, noTrunc: true }), new RegExp(`^${'a'.repeat(64)} `, 'm'));
  t.is(renderContainers([], { now }).split('\n').length, 1);
});

test('stats: CPU % from two samples, memory in binary units', (t) => {
  t.is(bytesSize(512), '512B');
  t.is(bytesSize(1_597_000), '1.523MiB');
  t.is(bytesSize(512 * 1024 ** 2), '512MiB');
  const a = {
    id: 'f'.repeat(64),
    memory: { usage: 10 * 1024 ** 2, limit: 100 * 1024 ** 2 },
    cpu: { usageNanoseconds: 1_000_000_000 },
    pids: { current: 3, limit: 100 },
    oomKills: 0,
  };
  const b = { ...a, cpu: { usageNanoseconds: 1_250_000_000 } };
  t.deepEqual(statsRow('web', a, b, 1000), ['ffffffffffff', 'web', '25.00%', '10MiB / 100MiB', '10.00%', '3']);
  const unlimited = { ...b, memory: { usage: 1024, limit: null }, cpu: { usageNanoseconds: null }, pids: { current: null, limit: null } };
  t.deepEqual(statsRow('x', a, unlimited, 1000), ['ffffffffffff', 'x', '--', '1KiB / unlimited', '--', '--']);
});
