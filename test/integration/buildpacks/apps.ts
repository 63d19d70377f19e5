/**
 * The bundled buildpacks' tests: the real buildpack builder (useBuildpacks) on a network
 * with outbound NAT (a build reaches the npm registry as on a server; host services stay
 * unreachable), the sample apps of test/fixtures/apps/, and a built image served as the
 * app runs: a container with its port published on loopback, answering HTTP.
 */
import { cp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { useBuildpacks, type BuildpackEnv } from '../../helpers/buildpacks.js';
import { httpGet, waitFor, type HttpAnswer } from '../../helpers/http.js';
import { tempDir } from '../../helpers/temp-dir.js';

export const fixtures = new URL('../../fixtures/apps/', import.meta.url).pathname;

export interface AppsEnv extends BuildpackEnv {
  /** A copy of test/fixtures/apps/<name> to build (and change). */
  fixture(name: string): Promise<string>;
  /** Run `image` as the app runs (its own command, PORT 5000 published on loopback) until `stop` or the test's end; its URL once it answers. */
  serve(image: string, env?: string[]): Promise<{ url: string; get(path: string): Promise<HttpAnswer>; stop(): Promise<void> }>;
}

/** A loopback port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function useApps(t: ExecutionContext): Promise<AppsEnv> {
  const b = await useBuildpacks(t);
  // The build reaches registries through outbound NAT, as on a server (BERTH_NETWORK_NAT).
  // The manager makes its network (without NAT, as tests' networks are) when it first
  // starts a container, once: make it so, then turn NAT on.
  const first = await b.c.manager.create({ image: 'busybox', cmd: ['true'] });
  await b.c.manager.start(first.id);
  await b.c.manager.remove(first.id, true);
  await b.c.runtime.networkUpdate(b.c.network, { nat: true });
  const base = await tempDir(t, 'bpapps-');
  let n = 0;
  return Object.assign(b, {
    fixture: async (name: string) => {
      const dir = join(base, `${name}-${n++}`);
      await cp(join(fixtures, name), dir, { recursive: true });
      return dir;
    },
    serve: async (image: string, env: string[] = []) => {
      const hostPort = await freePort();
      const view = await b.c.manager.create({ image, env, publish: [{ hostPort, containerPort: 5000 }] });
      let removed: Promise<unknown> | undefined;
      const stop = async () => {
        removed ??= b.c.manager.remove(view.id, true);
        await removed;
      };
      t.teardown(stop);
      await b.c.manager.start(view.id);
      const url = `http://127.0.0.1:${hostPort}`;
      const get = (path: string) => httpGet(`${url}${path}`);
      await waitFor(
        `${image} to answer on ${url}`,
        async () => {
          const state = b.c.manager.inspect(view.id);
          if (state.state === 'exited') throw new Error(`${image} exited with ${state.exitCode}: ${await logsOf(b, view.id)}`);
          return get('/').catch(() => undefined);
        },
        60_000,
      );
      return { url, get, stop };
    },
  });
}

async function logsOf(b: BuildpackEnv, id: string): Promise<string> {
  const lines: string[] = [];
  for await (const l of b.c.manager.logs(id, {})) lines.push(l.log);
  return lines.join('');
}
