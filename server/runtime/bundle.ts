/**
 * OCI bundles (runtime-spec bundle.md): a directory with config.json, whose `root.path`
 * names the root filesystem. Berth's own settings travel as `berth.`-prefixed annotations
 * (docs/runtime.md, "Berth's annotations"), so the same bundle also runs under crun and runc.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { z } from 'zod';
import { BerthError, writeFileAtomic } from '../core/index.js';
import { defaultRuntimeBinary } from './binary.js';
import { ociSpecSchema, type OciMount, type OciSpec } from './oci-spec.js';

/** The runtime-spec version Berth writes (berth-runtime reads 1.0.2 to 1.2). */
export const OCI_VERSION = '1.2.0';

/** Annotation keys berth-runtime reads. */
export const annotations = {
  /** Read-only layer directories, ":"-joined, top first. */
  rootfsLower: 'berth.rootfs.lower',
  /** The container's writable directory (upper/ and work/ are made in it). */
  rootfsWritable: 'berth.rootfs.writable',
  /** "true": a tiny PID 1 reaps orphans and forwards signals. */
  init: 'berth.init',
} as const;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The root filesystem as overlay layers, mounted by berth-runtime on `root.path`. */
export interface RootfsLayers {
  /** Read-only layer directories, top first. Absolute paths without ":". */
  lower: string[];
  /** The container's own writable directory. An absolute path. */
  writable: string;
}

export interface DefaultSpecOptions {
  /** The program and its arguments. */
  args: string[];
  /** Environment; PATH and TERM get defaults when absent. @defaultValue PATH and TERM=xterm only */
  env?: Record<string, string>;
  /** @defaultValue 'berth' (as `berth-runtime spec`) */
  hostname?: string;
  /** Overlay layers; without them `root.path` (bundle/rootfs) must already hold a root filesystem. */
  layers?: RootfsLayers;
  /** Run the program under berth-runtime's tiny init. @defaultValue false */
  init?: boolean;
  /** @defaultValue '/' */
  cwd?: string;
}

// The mounts every container gets: runc's and crun's defaults, as `berth-runtime spec` writes them.
const defaultMounts: readonly OciMount[] = [
  { destination: '/proc', type: 'proc', source: 'proc' },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  {
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
];

function invalid(message: string, details: Record<string, unknown>): BerthError {
  return new BerthError('E_BERTH_INTERNAL', message, { details });
}

function checkLayers(layers: RootfsLayers): void {
  if (layers.lower.length === 0) throw invalid('rootfs layers: at least one lower layer is needed', { layers });
  for (const dir of [...layers.lower, layers.writable]) {
    // ":" separates layers in the annotation (and in overlayfs' lowerdir); "," ends an overlay option.
    if (!isAbsolute(dir) || /[:,\0]/.test(dir)) {
      throw invalid(`rootfs layer ${JSON.stringify(dir)} must be an absolute path without ":" or ","`, { layers });
    }
  }
}

function environment(env: Record<string, string> = {}): string[] {
  const merged: Record<string, string> = { PATH: DEFAULT_PATH, TERM: 'xterm', ...env };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

let seccompProfile: Record<string, unknown> | undefined;

/**
 * Docker's default seccomp profile, as berth-runtime carries it (native/src/seccomp-default.c,
 * from moby's profiles): read once from `berth-runtime spec`, so the table lives in one place.
 */
export function dockerSeccompProfile(binary: string = defaultRuntimeBinary): { defaultAction: string; [k: string]: unknown } {
  if (seccompProfile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
    try {
      const r = spawnSync(binary, ['spec', '--bundle', dir], { encoding: 'utf8', shell: false });
      if (r.status !== 0) {
        throw new BerthError('E_RUNTIME_FAILED', `${binary} spec failed (${r.error?.message ?? r.stderr.trim()}); build it with \`make -C native\``);
      }
      const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { linux: { seccomp: Record<string, unknown> } };
      seccompProfile = spec.linux.seccomp;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return structuredClone(seccompProfile) as { defaultAction: string };
}

/** Docker's default capability set (docs/isolation.md). */
export const dockerCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Docker's masked and read-only kernel paths. */
const maskedPaths = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
] as const;
const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/**
 * Berth's default config.json: the same defaults as `berth-runtime spec` (six namespaces,
 * the standard /proc, /dev, /sys mounts, NOFILE 1024, no_new_privs), a writable root at
 * bundle/rootfs, and the layers and init as annotations.
 *
 * No resource limits yet: berth-runtime
 * refuses them until the isolation work lands, and they will be added here with it.
 */
export function defaultSpec(options: DefaultSpecOptions): OciSpec {
  const annotationMap: Record<string, string> = {};
  if (options.layers) {
    checkLayers(options.layers);
    annotationMap[annotations.rootfsLower] = options.layers.lower.join(':');
    annotationMap[annotations.rootfsWritable] = options.layers.writable;
  }
  if (options.init) annotationMap[annotations.init] = 'true';
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...options.args],
      env: environment(options.env),
      cwd: options.cwd ?? '/',
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
      noNewPrivileges: true,
      capabilities: { bounding: [...dockerCapabilities], effective: [...dockerCapabilities], permitted: [...dockerCapabilities] },
    },
    root: { path: 'rootfs', readonly: false },
    hostname: options.hostname ?? 'berth',
    mounts: defaultMounts.map((m) => ({ ...m, ...(m.options ? { options: [...m.options] } : {}) })),
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [...maskedPaths],
      readonlyPaths: [...readonlyPaths],
      seccomp: dockerSeccompProfile(),
    },
  };
  if (Object.keys(annotationMap).length > 0) spec.annotations = annotationMap;
  return spec;
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? '(config)' : out;
}

/** Every problem zod found, one per line, each with the property's path. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
}

/**
 * `spec` checked against the subset Berth may emit; every problem is listed, not just the
 * first. `where` names the bundle in the message.
 */
export function validateSpec(spec: unknown, where?: string): OciSpec {
  const result = ociSpecSchema.safeParse(spec);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  const what = where === undefined ? 'invalid OCI config' : `invalid OCI config for ${where}`;
  throw new BerthError('E_BERTH_INTERNAL', `${what}:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
    details: { problems, ...(where === undefined ? {} : { bundle: where }) },
    cause: result.error,
  });
}

/**
 * Validate `spec` and write `dir/config.json` atomically, creating `dir`. The root
 * filesystem is the caller's business, except that for a layered root the empty directory
 * the layers are mounted on (root.path) is made here. Returns the path of config.json.
 */
export async function writeBundle(dir: string, spec: OciSpec): Promise<string> {
  const valid = validateSpec(spec, `bundle ${dir}`);
  await mkdir(dir, { recursive: true, mode: 0o711 });
  if (valid.annotations?.[annotations.rootfsLower] !== undefined) {
    await mkdir(isAbsolute(valid.root.path) ? valid.root.path : join(dir, valid.root.path), { recursive: true, mode: 0o755 });
  }
  const path = join(dir, 'config.json');
  await writeFileAtomic(path, `${JSON.stringify(valid, null, 2)}\n`, { mode: 0o600 });
  return path;
}
