/**
 * Containers an app is made of: a network group chosen by the caller (containers of one
 * group reach each other over TCP; of different groups, or alone in their own by default,
 * they do not) and labels to list them by (Docker's `--filter label=`). Real containers on
 * the real runtime and a bridge of the test's own; the only traffic is between its
 * containers, in bounded tries.
 */
import test, { type ExecutionContext } from 'ava';
import { BerthError } from '../../../server/core/index.js';
import type { ContainerManager, ContainerView, CreateRequest } from '../../../server/containers/index.js';
import { until, useContainers } from '../../helpers/containers.js';

const PORT = 7000;

async function started(m: ContainerManager, req: Omit<CreateRequest, 'image'>): Promise<ContainerView> {
  const made = await m.create({ image: 'busybox', ...req });
  return m.start(made.id);
}

async function output(m: ContainerManager, id: string): Promise<string> {
  let text = '';
  for await (const line of m.logs(id)) text += line.log;
  return text;
}

async function exited(m: ContainerManager, id: string): Promise<ContainerView> {
  await until(`container ${id.slice(0, 12)} to exit`, () => m.inspect(id).state === 'exited', 60_000);
  return m.inspect(id);
}

/** A client that sends `word` to `address`: at most `tries` connects of 2 s each; exit 0 once one got through. */
function client(address: string, word: string, tries: number): string[] {
  const loop = `i=0; while [ $i -lt ${tries} ]; do echo ${word} | nc -w 2 ${address} ${PORT} && exit 0; i=$((i+1)); sleep 0.3; done; exit 1`;
  return ['sh', '-c', loop];
}

async function listener(t: ExecutionContext, m: ContainerManager, group: string | undefined): Promise<ContainerView> {
  const l = await started(m, { cmd: ['nc', '-l', '-p', String(PORT)], ...(group === undefined ? {} : { networkGroup: group }) });
  t.truthy(l.network?.address, 'a running container has an address');
  t.is(l.networkGroup, group);
  return l;
}

test('two containers given the same network group reach each other over TCP', async (t) => {
  const c = await useContainers(t);
  const l = await listener(t, c.manager, 'app-one');
  const sender = await started(c.manager, { cmd: client(l.network!.address, 'ping-same-group', 10), networkGroup: 'app-one' });
  t.is((await exited(c.manager, sender.id)).exitCode, 0, await output(c.manager, sender.id));
  t.is((await exited(c.manager, l.id)).exitCode, 0);
  t.is(await output(c.manager, l.id), 'ping-same-group\n');
  for (const id of [l.id, sender.id]) await c.manager.remove(id);
  t.deepEqual(c.leftovers(), []);
});

test('containers of different groups, or alone in their own by default, cannot reach each other', async (t) => {
  const c = await useContainers(t);
  const l = await listener(t, c.manager, 'app-one');
  const other = await started(c.manager, { cmd: client(l.network!.address, 'ping-other-group', 2), networkGroup: 'app-two' });
  const alone = await started(c.manager, { cmd: client(l.network!.address, 'ping-no-group', 2) });
  t.is((await exited(c.manager, other.id)).exitCode, 1, 'another group never gets through');
  t.is((await exited(c.manager, alone.id)).exitCode, 1, 'a container without a group never gets through');
  t.is(c.manager.inspect(l.id).state, 'running', 'the listener got no connection');
  // The listener was there all along: a container of its own group gets through.
  const same = await started(c.manager, { cmd: client(l.network!.address, 'ping-same-group', 10), networkGroup: 'app-one' });
  t.is((await exited(c.manager, same.id)).exitCode, 0);
  await exited(c.manager, l.id);
  t.is(await output(c.manager, l.id), 'ping-same-group\n');
  for (const id of [l.id, other.id, alone.id, same.id]) await c.manager.remove(id);
  t.deepEqual(c.leftovers(), []);
});

test('a bad network group is refused at create, naming it', async (t) => {
  const c = await useContainers(t);
  const err = await t.throwsAsync(c.manager.create({ image: 'busybox', cmd: ['true'], networkGroup: '-bad group' }), { instanceOf: BerthError });
  t.is(err?.code, 'E_CONTAINER_INVALID');
  t.regex(err?.message ?? '', /network group "-bad group"/);
  const api = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], networkGroup: 'x'.repeat(129) });
  t.is(api.status, 400, api.text);
  t.deepEqual(c.manager.list({ all: true }), []);
});

test('list({ labels }) returns exactly the containers with every label asked for, as GET ?label= does', async (t) => {
  const c = await useContainers(t);
  const make = async (labels?: Record<string, string>) =>
    (await c.manager.create({ image: 'busybox', cmd: ['sleep', '600'], ...(labels ? { labels } : {}) })).id;
  const webFront = await make({ app: 'web', tier: 'front' });
  const webBack = await make({ app: 'web', tier: 'back' });
  const api = await make({ app: 'api', tier: '' });
  const bare = await make();
  const ids = (views: ContainerView[]) => views.map((v) => v.id).sort();
  const list = (...labels: string[]) => ids(c.manager.list({ all: true, labels }));
  t.deepEqual(list('app=web'), [webFront, webBack].sort());
  t.deepEqual(list('app'), [webFront, webBack, api].sort());
  t.deepEqual(list('app=web', 'tier=back'), [webBack]);
  t.deepEqual(list('tier='), [api], 'key= matches the empty value only');
  t.deepEqual(list('app=nope'), []);
  t.deepEqual(list(), [webFront, webBack, api, bare].sort());
  t.deepEqual(c.manager.list({ labels: ['app=web'] }), [], 'without all, running ones only');
  await c.manager.start(webBack);
  t.deepEqual(ids(c.manager.list({ labels: ['app=web'] })), [webBack]);
  const bad = t.throws(() => c.manager.list({ labels: ['=web'] }), { instanceOf: BerthError });
  t.is(bad?.code, 'E_CONTAINER_INVALID');
  const viaApi = await c.api('GET', '/v1/containers?all=true&label=app=web&label=tier=front');
  t.is(viaApi.status, 200, viaApi.text);
  t.deepEqual(ids(viaApi.body as ContainerView[]), [webFront]);
  t.is((await c.api('GET', '/v1/containers?label=%3Dweb')).body.error.code, 'E_CONTAINER_INVALID');
  await c.manager.remove(webBack, true);
  for (const id of [webFront, api, bare]) await c.manager.remove(id);
  t.deepEqual(c.leftovers(), []);
});
