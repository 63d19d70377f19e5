/**
 * The pure parts of containers: Docker's command and env precedence, option checks, names,
 * references, and users from an image's /etc/passwd and /etc/group.
 */
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../server/core/index.js';
import { generateName, resolveRef, validateContainerName } from '../../../server/containers/names.js';
import { checkLimits, mergeEnv, resolveProgram, resolveUser } from '../../../server/containers/config.js';

const invalid = { instanceOf: BerthError, code: 'E_CONTAINER_INVALID' } as const;

test("command: Docker's precedence of entrypoint and cmd", (t) => {
  const image = { Entrypoint: ['/entry'], Cmd: ['default'] };
  t.deepEqual(resolveProgram(image, {}).command, ['/entry', 'default']);
  t.deepEqual(resolveProgram(image, { cmd: ['mine'] }).command, ['/entry', 'mine']);
  t.deepEqual(resolveProgram(image, { entrypoint: ['/other'] }).command, ['/other'], 'a new entrypoint drops the image Cmd');
  t.deepEqual(resolveProgram(image, { entrypoint: ['/other'], cmd: ['x'] }).command, ['/other', 'x']);
  t.deepEqual(resolveProgram(image, { entrypoint: [''], cmd: ['ls'] }).command, ['ls'], '[""] resets the entrypoint');
  t.deepEqual(resolveProgram({ Cmd: ['sh'] }, {}).command, ['sh']);
  t.throws(() => resolveProgram({}, {}), { ...invalid, message: /no command/ });
});

test("env: the request replaces the image's keys, and must be KEY=VALUE", (t) => {
  t.deepEqual(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=']), ['PATH=/bin', 'A=2', 'B=']);
  t.throws(() => mergeEnv([], ['NOEQUALS']), { ...invalid, message: /NOEQUALS/ });
  t.throws(() => mergeEnv([], ['=x']), invalid);
});

test('limits: memory, cpus and pids are checked, naming the option', (t) => {
  t.deepEqual(checkLimits({ memory: 64 * 1024 * 1024, cpus: 0.5, pids: 10 }), { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 10 });
  t.throws(() => checkLimits({ memory: 1024 }), { ...invalid, message: /memory limit 1024/ });
  t.throws(() => checkLimits({ memory: 1.5e8 + 0.5 }), invalid);
  t.throws(() => checkLimits({ cpus: 0 }), { ...invalid, message: /cpus 0/ });
  t.throws(() => checkLimits({ pids: 0 }), { ...invalid, message: /pids/ });
});

test("names: Docker's rule, rejected (never repaired) naming the character; generated ones are free", (t) => {
  t.is(validateContainerName('web-1.a_b'), 'web-1.a_b');
  t.throws(() => validateContainerName('a'), invalid);
  t.throws(() => validateContainerName('-x'), { ...invalid, message: /starts with/ });
  t.throws(() => validateContainerName('a b'), { ...invalid, message: /character " " at position 2/ });
  t.throws(() => validateContainerName('a'.repeat(64).replace(/a/g, 'f')), { ...invalid, message: /hex id/ });
  const taken = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const n = generateName((x) => taken.has(x));
    t.false(taken.has(n));
    t.regex(n, /^[a-z]+_[a-z]+\d*$/);
    taken.add(n);
  }
});

test('refs: exact id, then name, then a unique prefix of at least 4', (t) => {
  const all = [
    { id: 'abcd1111'.padEnd(64, '0'), name: 'web' },
    { id: 'abcd2222'.padEnd(64, '0'), name: 'abcd1111' },
    { id: 'ef01'.padEnd(64, '1'), name: 'worker' },
  ];
  t.is(resolveRef('abcd1111', all), all[1]!, 'a name wins over a prefix');
  t.is(resolveRef('ef01', all), all[2]!);
  t.is(resolveRef(all[0]!.id, all), all[0]!);
  t.throws(() => resolveRef('abcd', all), { instanceOf: BerthError, code: 'E_CONTAINER_AMBIGUOUS', message: /2 containers/ });
  t.throws(() => resolveRef('ef0', all), { instanceOf: BerthError, code: 'E_CONTAINER_NOT_FOUND', message: /at least 4/ });
  t.throws(() => resolveRef('wrker', all), { instanceOf: BerthError, code: 'E_CONTAINER_NOT_FOUND', message: /did you mean worker/ });
});

test("users: names from the image's passwd and group (top layer first), numbers as given", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  for (const d of [lower, upper]) await mkdir(join(d, 'etc'), { recursive: true });
  await writeFile(join(lower, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\nold:x:5:5::/:/bin/sh\n');
  await writeFile(join(upper, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n');
  await writeFile(join(upper, 'etc', 'group'), 'root:x:0:\napp:x:1001:\nextra:x:2000:app,other\n');
  const layers = [upper, lower];
  t.deepEqual(await resolveUser(undefined, layers), { uid: 0, gid: 0, additionalGids: [] });
  t.deepEqual(await resolveUser('app', layers), { uid: 1000, gid: 1001, additionalGids: [2000] });
  t.deepEqual(await resolveUser('app:root', layers), { uid: 1000, gid: 0, additionalGids: [] });
  t.deepEqual(await resolveUser('1234', layers), { uid: 1234, gid: 0, additionalGids: [] });
  t.deepEqual(await resolveUser('1234:55', layers), { uid: 1234, gid: 55, additionalGids: [] });
  await t.throwsAsync(
    resolveUser('old', layers),
    { ...invalid, message: /"old" is not in the image's \/etc\/passwd/ },
    "the top layer's passwd hides the lower one",
  );
  await t.throwsAsync(resolveUser('app:nogroup', layers), { ...invalid, message: /group "nogroup"/ });
  await t.throwsAsync(resolveUser('a:b:c', layers), invalid);
});
