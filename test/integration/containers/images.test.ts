/**
 * Containers and the image store: commit makes an image that runs with the container's
 * changes; images containers use survive image rm (refused unless forced) and prune.
 */
import test from 'ava';
import { until, useContainers } from '../../helpers/containers.js';

function logText(text: string): string {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { line: { log: string } }).line.log)
    .join('');
}

test('commit, then run the new image and see the file', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', {
    image: 'busybox',
    cmd: ['sh', '-c', 'echo committed content > /hello.txt; rm /bin/vi'],
    env: ['MODE=made'],
  });
  const id = r.body.id as string;
  await c.api('POST', `/v1/containers/${id}/start`);
  await until('exit', async () => (await c.api('GET', `/v1/containers/${id}`)).body.state === 'exited');
  const commit = await c.api('POST', `/v1/containers/${id}/commit`, {
    reference: 'snapshot:v1',
    message: 'a test',
    author: 'tester',
    changes: { cmd: ['cat', '/hello.txt'], labels: { purpose: 'test' } },
  });
  t.is(commit.status, 201, commit.text);
  t.deepEqual(commit.body.tags, ['snapshot:v1']);
  t.deepEqual(commit.body.config.Cmd, ['cat', '/hello.txt']);
  t.true((commit.body.config.Env as string[]).includes('MODE=made'), 'the container env is baked in');
  t.is(commit.body.config.Labels.purpose, 'test');
  t.is(commit.body.layers.length, 2);
  t.is(commit.body.history.at(-1).comment, 'a test');
  const run = await c.api('POST', '/v1/containers', { image: 'snapshot:v1' });
  t.deepEqual(run.body.command, ['cat', '/hello.txt']);
  await c.api('POST', `/v1/containers/${run.body.id}/start`);
  await until('exit', async () => (await c.api('GET', `/v1/containers/${run.body.id}`)).body.state === 'exited');
  t.is(logText((await c.api('GET', `/v1/containers/${run.body.id}/logs`)).text), 'committed content\n');
  const check = await c.api('POST', '/v1/containers', { image: 'snapshot:v1', cmd: ['sh', '-c', 'test -e /bin/vi && echo present || echo deleted'] });
  await c.api('POST', `/v1/containers/${check.body.id}/start`);
  await until('exit', async () => (await c.api('GET', `/v1/containers/${check.body.id}`)).body.state === 'exited');
  t.is(logText((await c.api('GET', `/v1/containers/${check.body.id}/logs`)).text), 'deleted\n', 'a deletion is committed as a whiteout');
  for (const x of [id, run.body.id, check.body.id]) await c.api('DELETE', `/v1/containers/${x}`);
  t.deepEqual(c.leftovers(), []);
});

test('an image a container uses: rm refused naming it, forced rm and prune keep its content', async (t) => {
  const c = await useContainers(t);
  const base = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'echo v1 > /version'] });
  await c.api('POST', `/v1/containers/${base.body.id}/start`);
  await until('exit', async () => (await c.api('GET', `/v1/containers/${base.body.id}`)).body.state === 'exited');
  const image = await c.api('POST', `/v1/containers/${base.body.id}/commit`, { reference: 'keepme:1' });
  await c.api('DELETE', `/v1/containers/${base.body.id}`);
  const user = await c.api('POST', '/v1/containers', { image: 'keepme:1', cmd: ['cat', '/version'], name: 'user-of-keepme' });
  t.is(user.body.imageDigest, image.body.digest);

  const refused = await c.api('DELETE', '/v1/images?ref=keepme:1');
  t.is(refused.status, 409);
  t.is(refused.body.error.code, 'E_IMAGE_IN_USE');
  t.regex(refused.body.error.message, /user-of-keepme/);
  t.is((await c.api('DELETE', '/v1/images?ref=keepme:1&force=true')).status, 200);
  const pruned = await c.api('POST', '/v1/images/prune');
  t.is(pruned.status, 200, pruned.text);
  t.false((pruned.body.removedBlobs as string[]).includes(image.body.digest));
  t.true(await c.store.hasBlob(image.body.digest));

  await c.api('POST', '/v1/containers/user-of-keepme/start');
  await until('exit', async () => (await c.api('GET', '/v1/containers/user-of-keepme')).body.state === 'exited');
  t.is(logText((await c.api('GET', '/v1/containers/user-of-keepme/logs')).text), 'v1\n', 'the container still runs its image');

  await c.api('DELETE', '/v1/containers/user-of-keepme');
  const after = await c.api('POST', '/v1/images/prune');
  t.true((after.body.removedBlobs as string[]).includes(image.body.digest), 'once no container uses it, prune frees it');
  t.deepEqual(c.leftovers(), []);
});
