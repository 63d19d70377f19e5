/**
 * The containers' records without a runtime: saved and loaded back, names reserved while a
 * create runs, and the list filtered by state and by labels (Docker's `--filter label=`).
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../../server/core/index.js';
import { checkNetworkGroup, checkSignal } from '../../../server/containers/config.js';
import { ContainerRecords, parseLabelFilters } from '../../../server/containers/records.js';
import type { ContainerRecord } from '../../../server/containers/types.js';
import { testLogger } from '../../helpers/logger.js';
import { tempDir } from '../../helpers/temp-dir.js';

function record(name: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    version: 1,
    id: randomBytes(32).toString('hex'),
    name,
    image: 'busybox',
    imageDigest: `sha256:${'a'.repeat(64)}`,
    command: ['true'],
    entrypoint: [],
    cmd: ['true'],
    created: new Date().toISOString(),
    state: 'created',
    ports: [],
    tty: false,
    stdin: false,
    autoRemove: false,
    limits: {},
    config: { env: [], workdir: '/', labels: {} },
    process: { uid: 0, gid: 0, additionalGids: [] },
    ...over,
  };
}

async function records(t: Parameters<typeof tempDir>[0]): Promise<ContainerRecords> {
  const dir = await tempDir(t, 'records-');
  return new ContainerRecords(dir, testLogger(dir));
}

async function saved(r: ContainerRecords, rec: ContainerRecord): Promise<ContainerRecord> {
  await mkdir(r.containerDir(rec.id), { recursive: true });
  await r.save(rec);
  return rec;
}

test('records are saved, found by id, prefix and name, and loaded back; a directory without one is an orphan', async (t) => {
  const r = await records(t);
  const web = await saved(r, record('web', { networkGroup: 'shop' }));
  t.is(r.find('web').id, web.id);
  t.is(r.find(web.id.slice(0, 8)).id, web.id);
  const orphan = randomBytes(32).toString('hex');
  await mkdir(r.containerDir(orphan));
  await writeFile(join(r.dir, 'not-a-container'), '');
  const again = new ContainerRecords(r.dir, testLogger(r.dir));
  t.deepEqual(await again.load(), [orphan]);
  t.deepEqual(again.get(web.id), web);
  t.deepEqual(again.ids(), [web.id]);
  again.forget(web.id);
  t.throws(() => again.find('web'), { instanceOf: BerthError, message: /no container "web"/ });
});

test('a transient record is saved and loaded back, and left out of the view; a container.json that is not JSON is ignored, not fatal', async (t) => {
  const r = await records(t);
  const step = await saved(r, record('step', { transient: true }));
  const torn = await saved(r, record('torn'));
  // What a power failure can leave of a record written without fsync.
  await writeFile(join(r.containerDir(torn.id), 'container.json'), '');
  const again = new ContainerRecords(r.dir, testLogger(r.dir));
  t.deepEqual(await again.load(), []);
  t.deepEqual(again.ids(), [step.id]);
  t.deepEqual(again.get(step.id), step);
  t.false('transient' in (again.list({ all: true })[0] ?? {}), 'the API does not show it');
});

test('a name is taken while reserved and once saved; a generated one is free', async (t) => {
  const r = await records(t);
  await saved(r, record('web'));
  t.throws(() => r.reserveName('web'), { instanceOf: BerthError, message: /the name web is in use by container/ });
  t.is(r.reserveName('worker'), 'worker');
  t.throws(() => r.reserveName('worker'), { message: /\(being created\)/ });
  r.releaseName('worker');
  t.is(r.reserveName('worker'), 'worker');
  t.regex(r.reserveName(undefined), /^[a-z]+_[a-z]+\d*$/);
  t.throws(() => r.reserveName('-bad'), { instanceOf: BerthError, message: /invalid container name/ });
});

test('list: running ones unless all, newest first, only those with every label filter', async (t) => {
  const r = await records(t);
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const a = await saved(r, record('a', { created: at(1), state: 'running', config: { env: [], workdir: '/', labels: { app: 'shop', proc: 'web' } } }));
  const b = await saved(r, record('b', { created: at(2), config: { env: [], workdir: '/', labels: { app: 'shop', proc: 'worker' } } }));
  await saved(r, record('c', { created: at(3), config: { env: [], workdir: '/', labels: { app: '' } } }));
  await saved(r, record('d', { created: at(4) }));
  const names = (labels?: string[], all = true) => r.list({ all, ...(labels ? { labels } : {}) }).map((v) => v.name);
  t.deepEqual(names(), ['d', 'c', 'b', 'a']);
  t.deepEqual(names(undefined, false), ['a']);
  t.deepEqual(names(['app']), ['c', 'b', 'a']);
  t.deepEqual(names(['app=shop']), ['b', 'a']);
  t.deepEqual(names(['app=shop', 'proc=worker']), ['b']);
  t.deepEqual(names(['app=']), ['c']);
  t.deepEqual(names(['app=shop'], false), ['a']);
  t.deepEqual(names(['app=shop=x']), [], 'the value is everything after the first "="');
  t.deepEqual(names(['constructor']), [], 'only the labels themselves count');
  t.false('process' in (r.list({ all: true })[0] ?? {}), 'views leave out what only the daemon needs');
  t.deepEqual(r.imageRoots(), [a.imageDigest]);
  t.is(r.usersOf(b.imageDigest).length, 4);
  t.deepEqual(r.usersOf(`sha256:${'b'.repeat(64)}`), []);
});

test('label filters, network groups and signals are checked, naming the bad value', (t) => {
  t.deepEqual(parseLabelFilters(['a', 'b=c', 'd=', 'e=f=g']), [{ key: 'a' }, { key: 'b', value: 'c' }, { key: 'd', value: '' }, { key: 'e', value: 'f=g' }]);
  const bad = t.throws(() => parseLabelFilters(['=x']), { instanceOf: BerthError });
  t.is(bad?.code, 'E_CONTAINER_INVALID');
  t.regex(bad?.message ?? '', /label filter "=x" has no key/);
  t.is(checkNetworkGroup('shop.web-1_a'), 'shop.web-1_a');
  for (const g of ['', '-x', 'a b', 'x'.repeat(129), 'a/b']) {
    const e = t.throws(() => checkNetworkGroup(g), { instanceOf: BerthError });
    t.is(e?.code, 'E_CONTAINER_INVALID', g);
    t.deepEqual(e?.details, { option: 'networkGroup', value: g });
  }
  t.is(checkSignal('term'), 'SIGTERM');
  t.is(checkSignal('SIGKILL'), 'SIGKILL');
  t.is(checkSignal('9'), 9);
  t.throws(() => checkSignal('-9'), { instanceOf: BerthError, message: /signal "-9" is not a signal/ });
});
