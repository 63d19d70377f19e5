/**
 * Container networks for tests: a network with a unique bridge name per test (so files run
 * in parallel), containers on it running busybox httpd, and checks of what is left behind.
 * Traffic goes only to addresses of this machine's own bridges and namespaces.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { requireBinary } from './prereq.js';
import { defaultConfig, makeRootfs, type OciConfig, type Runtime } from './runtime.js';
import { tempDir } from './temp-dir.js';

export interface NetworkInfo {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  nat: boolean;
  table: string;
  leases: number;
  containers: { id: string; address: string; group: string; veth: string; publish: string }[];
  links: [string, string][];
}

/** A bridge name no other test uses: `bt` and 8 hex digits. */
export function uniqueBridge(): string {
  return `bt${randomBytes(4).toString('hex')}`;
}

/** `network create` with a unique name; removed (--force) in teardown, then checked gone. */
export async function useNetwork(t: ExecutionContext, rt: Runtime, args: string[] = []): Promise<NetworkInfo> {
  requireBinary('/usr/sbin/nft', 'nftables');
  requireBinary('/usr/sbin/ip', 'iproute2');
  const name = uniqueBridge();
  const r = rt.run(['network', 'create', ...args, name]);
  if (r.status !== 0) throw new Error(`network create ${name} failed: ${r.error?.message ?? r.stderr}`);
  t.teardown(() => {
    // Whatever the test did: remove it, and say so loudly when that fails (a leak).
    for (const id of existsSync(rt.root) ? readdirSync(rt.root).filter((d) => !d.startsWith('.')) : []) rt.run(['delete', '--force', id]);
    const rm = rt.run(['network', 'rm', '--force', name]);
    if (rm.status !== 0 && !/does not exist/.test(rm.stderr)) throw new Error(`network rm --force ${name} failed: ${rm.stderr}`);
  });
  return inspectNetwork(rt, name);
}

export function inspectNetwork(rt: Runtime, name: string): NetworkInfo {
  const r = rt.run(['network', 'inspect', name]);
  if (r.status !== 0) throw new Error(`network inspect ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as NetworkInfo;
}

/** What a network leaves on the host: its bridge, veths on it, its nft tables, its state. */
export function networkLeftovers(rt: Runtime, name: string, vethPrefix?: string): string[] {
  const found: string[] = [];
  const links = spawnSync('/usr/sbin/ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  for (const line of links.split('\n')) {
    const dev = line.split(': ')[1]?.split('@')[0];
    if (dev === name) found.push(`bridge ${dev}`);
    if (vethPrefix && dev?.startsWith(vethPrefix)) found.push(`veth ${dev}`);
  }
  const tables = spawnSync('/usr/sbin/nft', ['list', 'tables'], { encoding: 'utf8' }).stdout;
  for (const line of tables.split('\n')) if (line.endsWith(` berth_${name}`)) found.push(line);
  if (existsSync(join(rt.root, '.network', name))) found.push(`state ${join(rt.root, '.network', name)}`);
  return found;
}

/** The elements of one nft set or map of the network's tables (family inet or bridge). */
export function nftElements(name: string, family: 'inet' | 'bridge', set: string, kind: 'set' | 'map' = 'set'): unknown[] {
  // By absolute path: node_modules/.bin has an unrelated `nft` (@vercel/nft) on the PATH of npx.
  const r = spawnSync('/usr/sbin/nft', ['-j', 'list', kind, family, `berth_${name}`, set], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft list ${kind} ${family} berth_${name} ${set}: ${r.stderr}`);
  const out = r.stdout;
  const doc = JSON.parse(out) as { nftables: Record<string, { elem?: unknown[] }>[] };
  for (const o of doc.nftables) {
    const s = o[kind];
    if (s) return s.elem ?? [];
  }
  return [];
}

/** The veth prefix of a network: `bv` and the hex of the subnet's first two octets (a /16). */
export function vethPrefix(subnet: string): string {
  const [a, b] = subnet.split('.').map(Number);
  return `bv${(a ?? 0).toString(16).padStart(2, '0')}${(b ?? 0).toString(16).padStart(2, '0')}`;
}

/** A root filesystem shared by the containers of a test: busybox (with httpd and nc) and the probe. */
export async function makeNetRootfs(t: ExecutionContext): Promise<string> {
  const dir = await tempDir(t, 'berth-netroot-');
  const rootfs = await makeRootfs(join(dir, 'rootfs'));
  for (const applet of ['httpd', 'nc', 'ip', 'hostname']) await symlink('busybox', join(rootfs, 'bin', applet));
  await mkdir(join(rootfs, 'www'), { recursive: true });
  await writeFile(join(rootfs, 'www', 'index.html'), 'hello from a container\n');
  // The mount points of the files berth-runtime binds in, made here once: the containers
  // of a test share this root.
  for (const f of ['hosts', 'resolv.conf', 'hostname']) await writeFile(join(rootfs, 'etc', f), '');
  return rootfs;
}

export interface NetContainerOptions {
  network: string;
  group?: string;
  publish?: string;
  /** @defaultValue busybox httpd on :8080 serving / (so /etc/hostname tells who answers) */
  args?: string[];
  change?: (c: OciConfig) => void;
}

/** A bundle on `rootfs` (shared) for one container on a network; its hostname is its id. */
export async function makeNetBundle(t: ExecutionContext, rootfs: string, id: string, o: NetContainerOptions): Promise<string> {
  const dir = await tempDir(t, 'berth-netbundle-');
  const config = defaultConfig();
  config.process.args = o.args ?? ['/bin/httpd', '-f', '-p', '8080', '-h', '/'];
  config.root = { path: rootfs, readonly: false };
  config.hostname = id;
  config.annotations = { ...config.annotations, 'berth.network': o.network };
  if (o.group) config.annotations['berth.network.group'] = o.group;
  if (o.publish) config.annotations['berth.network.publish'] = o.publish;
  o.change?.(config);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** `run -d` a container on a network; its address from `network inspect`. */
export async function runOnNetwork(t: ExecutionContext, rt: Runtime, rootfs: string, id: string, o: NetContainerOptions): Promise<string> {
  const bundle = await makeNetBundle(t, rootfs, id, o);
  const r = rt.run(['run', '-d', '--bundle', bundle, id]);
  if (r.status !== 0) throw new Error(`run -d ${id} failed: ${r.error?.message ?? r.stderr}`);
  const c = inspectNetwork(rt, o.network).containers.find((x) => x.id === id);
  if (!c) throw new Error(`${id} has no lease on ${o.network}`);
  return c.address;
}

/**
 * From inside container `id`: send an HTTP GET for `path` to ip:port with busybox nc
 * (at most `seconds` to connect and answer). The answer's body, or undefined when the
 * connection failed (refused, dropped, timed out).
 */
export function containerGet(rt: Runtime, id: string, ip: string, port: number, path = '/', seconds = 2): string | undefined {
  const script = `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w ${seconds} ${ip} ${port}`;
  const r = rt.run(['exec', id, '/bin/sh', '-c', script], { timeoutMs: (seconds + 5) * 1000 });
  if (r.status !== 0 || !r.stdout.includes('HTTP/1.')) return undefined;
  return r.stdout.split('\r\n\r\n').slice(1).join('\r\n\r\n');
}

/** From the host: GET http://ip:port/path within `ms`; the body, or undefined on failure. */
export async function hostGet(ip: string, port: number, path = '/', ms = 3000): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${ip}:${port}${path}`, { signal: AbortSignal.timeout(ms) });
    return await res.text();
  } catch {
    return undefined;
  }
}

/** Retry `get` until it answers (a server just started), for at most `ms`. */
export async function waitAnswer(get: () => Promise<string | undefined> | string | undefined, ms = 15_000): Promise<string | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const body = await get();
    if (body !== undefined || Date.now() > until) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A command in the background, killed (by its pid) in teardown. */
export function background(t: ExecutionContext, cmd: string, args: string[]): void {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}
