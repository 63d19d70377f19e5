/**
 * Containers for tests: a real ContainerManager on the real berth-runtime (a state root, a
 * BERTH_HOME and a bridge network of the test's own), the busybox image, the real API on a
 * random loopback port with its upgrade handler, and checks that nothing is left behind.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { containerUpgradeHandler, createApi } from '../../server/api/index.js';
import { ContainerManager } from '../../server/containers/index.js';
import { encodeFrame, FrameDecoder, frameTypes, type Frame } from '../../server/core/index.js';
import { ensureBusyboxImage, ImageStore } from '../../server/images/index.js';
import { RuntimeClient } from '../../server/runtime/index.js';
import { testLogger } from './logger.js';
import { requireBinary, requireRoot } from './prereq.js';
import { leftovers, runtimeBinary } from './runtime.js';
import { tempDir } from './temp-dir.js';

/** A bridge name no other test uses: `bt` and 6 hex digits (bridge names are host-wide, ≤ 15 characters). */
export function uniqueNetworkName(): string {
  return `bt${randomBytes(3).toString('hex')}`;
}

export interface ApiAnswer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read what they check
  text: string;
}

export interface ContainerEnv {
  home: string;
  root: string;
  network: string;
  store: ImageStore;
  runtime: RuntimeClient;
  manager: ContainerManager;
  url: string;
  token: string;
  /** A JSON request to the API with the token. */
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** Close the manager and open a new one on the same directories (what a daemon restart does). */
  restart(): Promise<ContainerManager>;
  /** What is left of containers in the runtime and on the network (nothing, after a test removed its containers). */
  leftovers(): string[];
}

function runtimeRun(root: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(runtimeBinary, ['--root', root, '--log-format=json', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** What containers of `root` and network `network` left: runtime containers, veths on the bridge, nft elements, cgroups, mounts, processes. */
export function containerLeftovers(root: string, network: string, ids: Iterable<string> = []): string[] {
  const found: string[] = [];
  const list = runtimeRun(root, ['list', '--format', 'json']);
  if (list.status === 0) {
    for (const c of JSON.parse(list.stdout || '[]') as { id: string; status: string }[]) found.push(`runtime container ${c.id} (${c.status})`);
  } else if (existsSync(root)) found.push(`berth-runtime list failed: ${list.stderr}`);
  const links = spawnSync('/usr/sbin/ip', ['-o', 'link', 'show', 'master', network], { encoding: 'utf8' });
  if (links.status === 0) for (const line of links.stdout.split('\n').filter(Boolean)) found.push(`veth on ${network}: ${line.split(': ')[1] ?? line}`);
  const nft = spawnSync('/usr/sbin/nft', ['-j', 'list', 'set', 'bridge', `berth_${network}`, 'ports'], { encoding: 'utf8' });
  if (nft.status === 0) {
    const doc = JSON.parse(nft.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
    for (const o of doc.nftables) for (const e of o.set?.elem ?? []) found.push(`nft element of ${network}: ${JSON.stringify(e)}`);
  }
  for (const id of ids) found.push(...leftovers(id));
  return found;
}

/** Remove everything of the test's network and root, whatever the test did; throws when that fails. */
function forceClean(root: string, network: string): void {
  for (const id of existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('.')) : []) runtimeRun(root, ['delete', '--force', id]);
  const rm = runtimeRun(root, ['network', 'rm', '--force', network]);
  if (rm.status !== 0 && !/does not exist/.test(rm.stderr)) throw new Error(`network rm --force ${network} failed: ${rm.stderr}`);
}

/** A ContainerManager and the API in front of it, all of the test's own; cleaned in teardown. */
export async function useContainers(t: ExecutionContext): Promise<ContainerEnv> {
  requireRoot('containers');
  requireBinary('/usr/sbin/nft', 'nftables');
  requireBinary('/usr/sbin/ip', 'iproute2');
  if (!existsSync(runtimeBinary)) throw new Error(`${runtimeBinary} is missing: build it with \`make -C native\``);
  // Short: <root>/<64-hex id>/attach.sock must fit a unix socket path (107 bytes).
  const base = await tempDir(t, 'bc-');
  const home = join(base, 'home');
  const root = join(base, 'run');
  const network = uniqueNetworkName();
  const store = await ImageStore.open(join(home, 'images'));
  await ensureBusyboxImage(store);
  const runtime = new RuntimeClient({ root });
  const token = randomBytes(16).toString('hex');
  const log = testLogger(base);
  const open = () => ContainerManager.open({ dir: join(home, 'containers'), images: store, runtime, network: { name: network, nat: false }, log });
  let manager = await open();
  const streams = new Set<Duplex>();
  /** Every container the test created through the API: their cgroups, mounts and processes are checked too. */
  const created = new Set<string>();
  let server: Server | undefined;
  const env: ContainerEnv = {
    home,
    root,
    network,
    store,
    runtime,
    get manager() {
      return manager;
    },
    url: '',
    token,
    api: async (method, path, body) => {
      const res = await fetch(`${env.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(90_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* NDJSON or empty: the text is there */
      }
      if (method === 'POST' && path === '/v1/containers' && res.status === 201) created.add((parsed as { id: string }).id);
      return { status: res.status, body: parsed, text };
    },
    restart: async () => {
      await stopServer();
      manager.close();
      manager = await open();
      await listen();
      return manager;
    },
    leftovers: () => containerLeftovers(root, network, created),
  };
  const listen = (): Promise<void> =>
    new Promise((resolve) => {
      server = createServer(
        createApi({
          token,
          log,
          status: async () => {
            throw new Error('no status in this test');
          },
          images: { store, debootstrapCache: join(base, 'cache') },
          containers: manager,
        }),
      );
      server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
        streams.add(socket);
        socket.once('close', () => streams.delete(socket));
        containerUpgradeHandler({ token, log, containers: manager })(req, socket, head);
      });
      server.listen(0, '127.0.0.1', () => {
        env.url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
        resolve();
      });
    });
  const stopServer = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of streams) s.destroy();
      server = undefined;
    });
  await listen();
  t.teardown(async () => {
    await stopServer();
    manager.close();
    await store.close();
    forceClean(root, network);
  });
  return env;
}

export interface StreamConn {
  /** Status of the answer: 101, or the error's. */
  status: number;
  /** The error body when not upgraded. */
  body?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  frames: Frame[];
  send(type: number, payload?: Buffer): void;
  /** Resolves when the daemon has closed the stream. */
  closed: Promise<void>;
  stdout(): string;
  stderr(): string;
  /** The final type-3 frame's status. */
  exit(): { exitCode: number; signal?: string; oomKilled?: boolean } | undefined;
  destroy(): void;
}

/** POST `path` as an Upgrade to berth-stream (token unless `token` is null). */
export function openStream(url: string, path: string, token: string | null): Promise<StreamConn> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method: 'POST',
      headers: { connection: 'Upgrade', upgrade: 'berth-stream', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      timeout: 60_000,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* keep the text */
        }
        resolve({
          status: res.statusCode ?? 0,
          body,
          frames: [],
          send: () => undefined,
          closed: Promise.resolve(),
          stdout: () => '',
          stderr: () => '',
          exit: () => undefined,
          destroy: () => undefined,
        });
      });
    });
    req.on('upgrade', (res, socket, head) => {
      const decoder = new FrameDecoder();
      const frames: Frame[] = [];
      const feed = (b: Buffer) => frames.push(...decoder.push(b));
      if (head.length > 0) feed(head);
      socket.on('data', feed);
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.on('error', () => undefined);
      const text = (type: number) => Buffer.concat(frames.filter((f) => f.type === type).map((f) => f.payload)).toString();
      resolve({
        status: res.statusCode ?? 0,
        frames,
        send: (type, payload = Buffer.alloc(0)) => socket.write(encodeFrame(type as never, payload)),
        closed,
        stdout: () => text(frameTypes.stdout),
        stderr: () => text(frameTypes.stderr),
        exit: () => {
          const f = frames.find((x) => x.type === frameTypes.exit);
          return f ? (JSON.parse(f.payload.toString()) as { exitCode: number }) : undefined;
        },
        destroy: () => socket.destroy(),
      });
    });
    req.end();
  });
}

/** Wait until `check` is true (at most `ms`). */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
