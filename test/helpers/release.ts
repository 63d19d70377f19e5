/**
 * The release engine for tests: real containers (useContainers: runtime, bridge and store of
 * the test's own), a real nginx on a random port (startTestNginx) behind a real ProxyRouter,
 * short timings, tiny busybox web app images that name their version, and a recorder for
 * what a deploy prints.
 */
import type { ExecutionContext } from 'ava';
import { busyboxLayer, buildImage, type Image } from '../../server/images/index.js';
import { ProxyRouter } from '../../server/proxy/index.js';
import {
  createReleaseEngine,
  type ReleaseEngine,
  type ReleaseIo,
  type ReleasePlan,
  type ReleaseSettings,
  type ReleaseStage,
} from '../../server/release/index.js';
import { useContainers, type ContainerEnv } from './containers.js';
import { httpGet, type HttpAnswer } from './http.js';
import { testLogger } from './logger.js';
import { startTestNginx, type TestNginx } from './start-nginx.js';
import { tarball } from './tarball.js';
import { tempDir, uniqueName } from './temp-dir.js';

/** Timings short enough for tests, long enough to be real. */
export const testReleaseSettings: ReleaseSettings = {
  uptimeSeconds: 1,
  bootTimeoutSeconds: 5,
  waitToRetireSeconds: 10,
  stopTimeoutSeconds: 2,
  switchWaitSeconds: 2,
};

/** The command of the test app's web process: busybox httpd on $PORT, serving /www. */
export const httpdArgv = ['sh', '-c', 'exec httpd -f -p "$PORT" -h /www'];

export interface ReleaseEnv {
  c: ContainerEnv;
  nginx: TestNginx;
  router: ProxyRouter;
  engine: ReleaseEngine;
  /** A busybox image with /www/index.html saying `version`, httpd as its command; `config` goes into its image config. */
  appImage(version: string, config?: Record<string, unknown>): Promise<Image>;
  /** A plan for `app` with one web container of `image`, on `<app>.localhost`. */
  plan(app: string, release: number, image: Image, extra?: Partial<ReleasePlan>): ReleasePlan;
  /** GET / through nginx with Host: `<app>.localhost`. */
  get(app: string): Promise<HttpAnswer>;
  /** A user namespace range for an app: unique in this process, spread so parallel test files rarely meet. */
  userns(): { hostId: number; size: number };
}

let nextRange = Math.floor(Math.random() * 64);

export async function useRelease(t: ExecutionContext, settings: Partial<ReleaseSettings> = {}): Promise<ReleaseEnv> {
  const c = await useContainers(t);
  const nginx = await startTestNginx(t);
  const log = testLogger(await tempDir(t, 'berth-release-log-'));
  const router = await ProxyRouter.open({ nginx, log });
  const engine = createReleaseEngine({ containers: c.manager, images: c.store, router, log, settings: { ...testReleaseSettings, ...settings } });
  const base = await busyboxLayer();
  const userns = () => ({ hostId: 1_000_000 + 65_536 * (nextRange++ % 1024), size: 65_536 });
  return {
    c,
    nginx,
    router,
    engine,
    appImage: async (version, config = {}) => {
      const app = await tarball([
        { name: 'www/', type: 'directory' },
        { name: 'www/index.html', content: `${version}\n` },
      ]);
      return buildImage(c.store, {
        layers: [base.tar, app],
        config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: httpdArgv, ...config },
        tags: [`${uniqueName('web')}:${version}`],
      });
    },
    plan: (app, release, image, extra = {}) => ({
      app,
      release,
      image: image.digest,
      processes: { web: { argv: [] } },
      scale: { web: 1 },
      env: {},
      port: 5000,
      domains: [`${app}.localhost`],
      userns: extra.userns ?? userns(),
      ...extra,
    }),
    get: (app) => httpGet(`http://127.0.0.1:${nginx.port}/`, { Host: `${app}.localhost`, Connection: 'close' }, 3000),
    userns,
  };
}

/** What a deploy told its io: the lines and the stages, in order. */
export interface Recorded {
  io: ReleaseIo;
  lines: string[];
  stages: { name: ReleaseStage; at: number }[];
  abort: AbortController;
}

export function recorder(): Recorded {
  const abort = new AbortController();
  const lines: string[] = [];
  const stages: Recorded['stages'] = [];
  return {
    io: { line: (text) => lines.push(text), stage: (name) => stages.push({ name, at: Date.now() }), signal: abort.signal },
    lines,
    stages,
    abort,
  };
}
