/**
 * The API app for router tests: `createApi` around a real image store in a temp dir and a
 * small in-memory stand-in for the container manager (routing, auth and validation are
 * under test here, not containers).
 */
import type { ExecutionContext } from 'ava';
import type { Express } from 'express';
import { createApi } from '../../../server/api/index.js';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildService, ContainerService } from '../../../server/api/services.js';
import { BerthError } from '../../../server/core/index.js';
import type { ContainerView, LogLine } from '../../../server/containers/index.js';
import { ImageStore } from '../../../server/images/index.js';
import { testLogger } from '../../helpers/logger.js';
import { tempDir } from '../../helpers/temp-dir.js';

export const token = 'a'.repeat(64);

export const view: ContainerView = {
  id: 'c'.repeat(64),
  name: 'web-1',
  image: 'busybox',
  imageDigest: `sha256:${'d'.repeat(64)}`,
  command: ['true'],
  created: '2026-01-01T00:00:00.000Z',
  state: 'created',
  ports: [],
  tty: false,
  stdin: false,
  autoRemove: false,
  limits: {},
  config: { env: [], workdir: '/', labels: {} },
};

/** What the stand-in was asked, call by call: `['remove', ref, force]`. */
export type Calls = unknown[][];

function missing(ref: string): BerthError {
  return new BerthError('E_CONTAINER_NOT_FOUND', `no container ${ref}`);
}

/** An in-memory ContainerService knowing one container (`view`, by its name or id); `logs` yields `logLines`. */
export function fakeContainers(calls: Calls, logLines: LogLine[] | Error = []): ContainerService {
  const find = (ref: string): ContainerView => {
    if (ref === view.name || ref === view.id) return view;
    throw missing(ref);
  };
  const record = <T>(name: string, args: unknown[], result: T): T => {
    calls.push([name, ...args]);
    return result;
  };
  return {
    list: (all) => record('list', [all], [view]),
    create: async (req) => record('create', [req], view),
    inspect: (ref) => record('inspect', [ref], find(ref)),
    remove: async (ref, force) => record('remove', [ref, force], find(ref).id),
    start: async (ref) => record('start', [ref], find(ref)),
    stop: async (ref, timeout) => record('stop', [ref, timeout], find(ref)),
    kill: async (ref, signal) => record('kill', [ref, signal], find(ref)),
    stats: async (ref) => {
      throw missing(ref);
    },
    commit: async (ref) => {
      throw missing(ref);
    },
    logs: (ref, o) => {
      find(ref);
      calls.push(['logs', ref, { follow: o?.follow, tail: o?.tail }]);
      return (async function* () {
        if (logLines instanceof Error) throw logLines;
        yield* logLines;
      })();
    },
    attach: async (ref) => {
      throw missing(ref);
    },
    exec: async (ref) => {
      throw missing(ref);
    },
    usersOf: () => [],
    imageRoots: () => [],
  };
}

/**
 * A stand-in for the builder: it records each build (the context's file names, its
 * Dockerfile's text, the options), reports one step, and answers a made-up image; or fails
 * with `failWith`.
 */
export function fakeBuilds(calls: Calls, contextDir: string, failWith?: BerthError): BuildService {
  return {
    contextDir,
    contextMax: 64 * 1024,
    async build(dir, options, progress) {
      const files = (await readdir(dir, { recursive: true })).sort();
      const dockerfile = await readFile(join(dir, options.dockerfile ?? 'Dockerfile'), 'utf8').catch(() => undefined);
      calls.push(['build', files, dockerfile, { ...options, signal: options.signal instanceof AbortSignal }]);
      progress({ type: 'step', step: 1, total: 1, instruction: 'FROM scratch', line: 1 });
      if (failWith) throw failWith;
      progress({ type: 'built', id: 'e'.repeat(12) });
      const digest = `sha256:${'e'.repeat(64)}`;
      return { image: { digest } as never, id: 'e'.repeat(12), tags: options.tags ?? [], steps: 1, cached: 0 };
    },
    async buildpacks(dir, options, progress) {
      calls.push(['buildpacks', (await readdir(dir, { recursive: true })).sort(), { ...options, signal: options.signal instanceof AbortSignal }]);
      progress({ type: 'line', line: '-----> Procfile app detected' });
      return { image: { digest: `sha256:${'f'.repeat(64)}` } as never, id: 'f'.repeat(12), tags: options.tags ?? [], steps: 1, cached: 0 };
    },
    async cacheRoots() {
      calls.push(['cacheRoots']);
      return [];
    },
    async pruneCache() {
      calls.push(['pruneCache']);
      return 3;
    },
  };
}

export interface ApiFixture {
  app: Express;
  calls: Calls;
  containers: ContainerService;
  /** Where the fake builder's contexts are extracted. */
  contextDir: string;
}

/** The whole API, every router mounted. */
export async function apiFixture(t: ExecutionContext, logLines?: LogLine[] | Error, failWith?: BerthError): Promise<ApiFixture> {
  const dir = await tempDir(t, 'berth-api-');
  const contextDir = await tempDir(t, 'berth-api-contexts-');
  const store = await ImageStore.open(`${dir}/images`);
  t.teardown(() => store.close());
  const calls: Calls = [];
  const containers = fakeContainers(calls, logLines);
  const app = createApi({
    token,
    log: testLogger(dir),
    status: async () => ({
      berth: { version: '0.0.0', node: process.version, pid: process.pid, uptimeSeconds: 1, home: dir },
      redis: { mode: 'embedded', healthy: true },
      nginx: { mode: 'embedded', healthy: true, port: 80 },
    }),
    images: { store, debootstrapCache: `${dir}/debootstrap` },
    containers,
    builds: fakeBuilds(calls, contextDir, failWith),
  });
  return { app, calls, containers, contextDir };
}

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every route registered on the app, found by walking express's router stack: `[METHOD, path]`. */
export function registeredRoutes(app: Express): [string, string][] {
  const out: [string, string][] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) out.push([method.toUpperCase(), `${prefix}${layer.route.path}`]);
      } else if (layer.handle.stack && typeof layer.rawPath === 'string') {
        walk(layer.handle.stack, `${prefix}${layer.rawPath === '/' ? '' : layer.rawPath}`);
      }
    }
  };
  walk((app.router as unknown as { stack: Layer[] }).stack, '');
  return out;
}
