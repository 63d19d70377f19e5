/**
 * Running the real berth-runtime (and crun, runc) on real bundles: a rootfs made of
 * Debian's static busybox and Berth's static probe, a state root per test, and leak checks.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { requireBinary, requireRoot } from './prereq.js';
import { tempDir, uniqueName } from './temp-dir.js';

export const nativeBuild = fileURLToPath(new URL('../../native/build/', import.meta.url));
export const runtimeBinary = join(nativeBuild, 'berth-runtime');
export const probeBinary = join(nativeBuild, 'berth-probe');

const busyboxApplets = [
  'sh',
  'true',
  'false',
  'sleep',
  'cat',
  'echo',
  'ls',
  'touch',
  'id',
  'ps',
  'mount',
  'env',
  'mkdir',
  'rm',
  'kill',
  'grep',
  'wc',
  'unshare',
  'test',
];

/** A root filesystem with /bin/busybox (and its applets) and /probe. */
export async function makeRootfs(dir: string): Promise<string> {
  requireBinary('/bin/busybox', 'busybox-static');
  if (!existsSync(probeBinary)) throw new Error(`${probeBinary} is missing: build it with \`make -C native\``);
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) await mkdir(join(dir, d), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of busyboxApplets) await symlink('busybox', join(dir, 'bin', applet));
  await copyFile(probeBinary, join(dir, 'probe'));
  await chmod(join(dir, 'probe'), 0o755);
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  return dir;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: OciConfig;
  /** Write `config` (after changing it) to config.json. */
  save(): Promise<void>;
}

// The part of config.json the tests touch; the rest passes through.
export interface OciConfig {
  ociVersion: string;
  process: { args: string[]; env: string[]; cwd: string; terminal?: boolean; [k: string]: unknown };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: { destination: string; type?: string; source?: string; options?: string[] }[];
  linux: { namespaces: { type: string; path?: string }[]; cgroupsPath?: string; [k: string]: unknown };
  hooks?: Record<string, { path: string; args?: string[]; env?: string[]; timeout?: number }[]>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

/** Berth's default config.json, from `berth-runtime spec`. */
export function defaultConfig(): OciConfig {
  requireRoot('berth-runtime');
  const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  const r = spawnSync(runtimeBinary, ['spec', '--bundle', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`berth-runtime spec failed: ${r.stderr}`);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as OciConfig;
  spawnSync('rm', ['-rf', dir]);
  return config;
}

/** A bundle with the busybox+probe rootfs, running `args`. */
export async function makeBundle(t: ExecutionContext, args: string[], change?: (c: OciConfig) => void): Promise<Bundle> {
  const dir = await tempDir(t, 'berth-bundle-');
  const rootfs = await makeRootfs(join(dir, 'rootfs'));
  const config = defaultConfig();
  config.process.args = args;
  config.root = { path: 'rootfs', readonly: false };
  change?.(config);
  const bundle: Bundle = {
    dir,
    rootfs,
    config,
    save: () => writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2)),
  };
  await bundle.save();
  return bundle;
}

export interface Runtime {
  name: 'berth-runtime' | 'crun' | 'runc';
  root: string;
  /** Run the runtime with `args` (global flags added), synchronously. */
  run(args: string[], options?: { input?: string; timeoutMs?: number }): SpawnSyncReturns<string>;
  /** The same, asynchronously (for long-running foreground runs). */
  spawnRun(args: string[]): ReturnType<typeof spawn>;
}

/** A runtime with a private state root; every container left is force-deleted in teardown. */
export async function useRuntime(t: ExecutionContext, name: Runtime['name'] = 'berth-runtime'): Promise<Runtime> {
  requireRoot(name);
  const root = join(await tempDir(t, `berth-${name}-root-`), 'state');
  const file = name === 'berth-runtime' ? runtimeBinary : requireBinary(`/usr/bin/${name}`, name);
  if (name === 'berth-runtime' && !existsSync(file)) throw new Error(`${file} is missing: build it with \`make -C native\``);
  // crun 1.8.1 refuses hybrid cgroups: run it in a private mount namespace with a tmpfs
  // over the (empty) cgroup2 mount, as these machines need.
  const argv = (args: string[]): [string, string[]] =>
    name === 'crun'
      ? ['unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none /sys/fs/cgroup/unified && exec "$0" "$@"', file, '--root', root, ...args]]
      : [file, ['--root', root, ...(name === 'berth-runtime' ? ['--log-format=json'] : []), ...args]];
  const rt: Runtime = {
    name,
    root,
    run: (args, options = {}) => {
      const [cmd, a] = argv(args);
      return spawnSync(cmd, a, { encoding: 'utf8', input: options.input, timeout: options.timeoutMs ?? 30_000 });
    },
    spawnRun: (args) => {
      const [cmd, a] = argv(args);
      return spawn(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    },
  };
  t.teardown(() => {
    const ids = existsSync(root) ? readdirSync(root) : [];
    for (const id of ids) rt.run(['delete', '--force', id]);
  });
  return rt;
}

export function containerId(): string {
  return uniqueName('c');
}

/** The last JSON error line berth-runtime wrote on stderr. */
export function runtimeError(stderr: string): { msg: string; errno?: number; op?: string } | undefined {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const last = lines.at(-1);
  return last ? (JSON.parse(last) as { msg: string; errno?: number; op?: string }) : undefined;
}

/** What a container may leave behind on the host, found by its id. */
export function leftovers(id: string): string[] {
  const found: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(id));
  found.push(...mounts.map((m) => `mount: ${m}`));
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', hierarchy, 'berth');
    if (existsSync(join(base, id))) found.push(`cgroup: ${join(base, id)}`);
  }
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes(id)) found.push(`process ${pid}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

export async function readJsonLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
