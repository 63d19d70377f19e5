/**
 * server/runtime's client against the real berth-runtime: Berth's own bundle writer,
 * layered roots, the lifecycle through the typed client, and failures as RuntimeError.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeClient, RuntimeError, defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { waitFor } from '../../helpers/http.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { containerId, leftovers, makeRootfs, runtimeBinary } from '../../helpers/runtime.js';
import { requireRoot } from '../../helpers/prereq.js';

test('a bundle from defaultSpec on overlay layers runs through the client; errors are RuntimeErrors', async (t) => {
  requireRoot('berth-runtime');
  const dir = await tempDir(t, 'berth-client-');
  const layer = await makeRootfs(join(dir, 'layer'));
  const client = new RuntimeClient({ binary: runtimeBinary, root: join(dir, 'state') });
  const id = containerId();
  t.teardown(() => client.delete(id, { force: true }).catch(() => undefined));

  const bundle = join(dir, 'bundle');
  const spec = defaultSpec({ args: ['/probe', 'signals'], hostname: 'client', layers: { lower: [layer], writable: join(dir, 'writable') }, init: true });
  await writeBundle(bundle, spec);
  await client.create(id, bundle);
  t.is((await client.state(id)).status, 'created');
  await client.start(id);
  const running = await client.state(id);
  t.is(running.status, 'running');
  t.deepEqual(await client.ps(id), await client.ps(id));
  t.true((await client.ps(id)).includes(running.pid ?? -1));
  const exec = await client.exec(id, ['/probe', 'report']);
  t.is(exec.code, 0);
  t.is((JSON.parse(exec.stdout) as { hostname: string }).hostname, 'client');
  t.true(existsSync(join(dir, 'writable', 'upper')), 'the writable layer is in use');

  const duplicate = await t.throwsAsync(client.create(id, bundle), { instanceOf: RuntimeError });
  t.is(duplicate?.code, 'E_RUNTIME_FAILED');
  t.is(duplicate?.containerId, id);
  t.is(duplicate?.errno, 17);
  t.regex(duplicate?.message ?? '', /already exists/);

  const missing = await t.throwsAsync(client.exec(id, ['/nope']), { instanceOf: RuntimeError });
  t.is(missing?.op, 'exec');
  t.regex(missing?.message ?? '', /exec \/nope: No such file or directory/);

  await client.kill(id, 'SIGTERM');
  await waitFor('the container to stop', async () => ((await client.state(id)).status === 'stopped' ? true : undefined));
  await client.delete(id);
  t.false(existsSync(join(dir, 'writable')), 'delete removes the writable layer');
  const gone = await t.throwsAsync(client.state(id), { instanceOf: RuntimeError });
  t.is(gone?.errno, 2);
  t.deepEqual(leftovers(id), []);
});
