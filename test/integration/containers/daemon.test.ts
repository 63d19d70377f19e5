/**
 * The real daemon (the built CLI) drives containers: its config keys give it a runtime root
 * and a bridge of this test's own, attach needs the token on the upgrade, and a restart
 * reconciles what happened while it was down.
 */
import test from 'ava';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { containerLeftovers, openStream } from '../../helpers/containers.js';
import { waitFor } from '../../helpers/http.js';
import { requireRoot } from '../../helpers/prereq.js';
import { isAlive } from '../../helpers/processes.js';
import { spawnDaemon, startTestDaemon } from '../../helpers/start-daemon.js';

test('the daemon: containers on its own network, the token on upgrades, reconcile after a restart', async (t) => {
  requireRoot('containers');
  const d = await startTestDaemon(t);
  let url = d.url;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${d.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      body: (() => {
        try {
          return JSON.parse(text) as any;
        } catch {
          return text;
        }
      })(),
    }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  t.regex((await api('POST', '/v1/images/base', { name: 'busybox' })).text, /"result"/);
  const mk = async (body: Record<string, unknown>) => {
    const r = await api('POST', '/v1/containers', { image: 'busybox', ...body });
    t.is(r.status, 201, r.text);
    t.is((await api('POST', `/v1/containers/${r.body.id}/start`)).status, 200);
    return r.body.id as string;
  };
  const runs = await mk({ cmd: ['sleep', '600'], name: 'long' });
  const view = (await api('GET', '/v1/containers/long')).body;
  t.is(view.network.name, d.env.BERTH_NETWORK, 'joins BERTH_NETWORK');
  const ends = await mk({ cmd: ['sh', '-c', 'sleep 2; exit 7'] });
  const removes = await mk({ cmd: ['sleep', '2'], rm: true });

  const noToken = await openStream(url, `/v1/containers/${runs}/attach`, null);
  t.is(noToken.status, 401);
  t.is(noToken.body.error.code, 'E_API_UNAUTHORIZED');
  const attached = await openStream(url, `/v1/containers/${ends}/attach`, d.token);
  t.is(attached.status, 101, 'the daemon serves the stream upgrade');
  attached.destroy();

  // Down for longer than the short containers live.
  d.child.kill('SIGTERM');
  t.is(await d.exited, 0);
  await new Promise((r) => setTimeout(r, 3000));
  await rm(join(d.home, 'cli.json'));
  const again = spawnDaemon(d.env);
  t.teardown(async () => {
    if (again.child.exitCode === null && again.child.pid && isAlive(again.child.pid)) {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
  url = (
    await waitFor(
      'the daemon to start again',
      async () => {
        const text = await readFile(join(d.home, 'cli.json'), 'utf8').catch(() => undefined);
        return text === undefined ? undefined : (JSON.parse(text) as { url: string });
      },
      30_000,
    )
  ).url;
  t.like((await api('GET', `/v1/containers/${ends}`)).body, { state: 'exited', exitCode: 7 });
  t.is((await api('GET', `/v1/containers/${removes}`)).status, 404);
  t.like((await api('GET', '/v1/containers/long')).body, { state: 'running' });
  t.like((await api('POST', '/v1/containers/long/kill')).body, { state: 'exited', exitCode: 137 });
  for (const id of [runs, ends]) t.is((await api('DELETE', `/v1/containers/${id}`)).status, 200);
  t.deepEqual(containerLeftovers(d.env.BERTH_RUNTIME_ROOT!, d.env.BERTH_NETWORK!), []);
  again.child.kill('SIGTERM');
  t.is(await again.exited, 0);
});
