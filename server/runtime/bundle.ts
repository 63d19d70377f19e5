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
import { BerthError, DEFAULT_PATH, issuePath, writeFileAtomic } from '../core/index.js';
import { defaultRuntimeBinary } from './binary.js';
import { ociSpecSchema, type OciMount, type OciProcess, type OciResources, type OciSpec } from './oci-spec.js';

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
  /** The network (bridge) to attach the container to (docs/networking.md). */
  network: 'berth.network',
  /** The app the container belongs to: containers of different groups do not reach each other unless linked. */
  networkGroup: 'berth.network.group',
  /** Ports published on the host's loopback: "127.0.0.1:HOSTPORT:PORT/tcp,...". */
  networkPublish: 'berth.network.publish',
  /** "true": the monitor serves `<root>/<id>/attach.sock` (docs/runtime.md, "The attach socket"). */
  attach: 'berth.attach',
  /** "true" (with attach): the program's stdin is a pipe fed from attach clients; else /dev/null. */
  stdin: 'berth.stdin',
  /** Where the monitor writes the json-file log (an absolute path in an existing directory); kept by delete. */
  logPath: 'berth.log.path',
  /** "true": delete keeps the writable directory, so the container can be created again on it. */
  rootfsKeep: 'berth.rootfs.keep',
  /** "true": the monitor deletes the container when it exits, and its exit frame says `"deleted": true`. */
  deleteOnExit: 'berth.delete-on-exit',
} as const;

/** A container's place on a Berth network (docs/networking.md). */
export interface NetworkAttachment {
  /** The network (bridge) name: [a-z0-9][a-z0-9_-]{0,14}. Created with the defaults if it does not exist. */
  name: string;
  /** The app: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. @defaultValue the container id (reaches no other container) */
  group?: string;
  /** TCP ports published on 127.0.0.1 of the host. @defaultValue none */
  publish?: { hostPort: number; containerPort: number }[];
}

function networkAnnotations(n: NetworkAttachment): Record<string, string> {
  if (!/^[a-z0-9][a-z0-9_-]{0,14}$/.test(n.name)) {
    throw invalid(`network name ${JSON.stringify(n.name)}: use 1 to 15 of a-z, 0-9, and - or _ after the first`, { network: n });
  }
  const out: Record<string, string> = { [annotations.network]: n.name };
  if (n.group !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(n.group)) {
      throw invalid(`network group ${JSON.stringify(n.group)}: use 1 to 128 of A-Z, a-z, 0-9, and - _ . after the first`, { network: n });
    }
    out[annotations.networkGroup] = n.group;
  }
  if (n.publish !== undefined && n.publish.length > 0) {
    const port = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;
    const seen = new Set<number>();
    for (const p of n.publish) {
      if (!port(p.hostPort) || !port(p.containerPort)) throw invalid(`published port ${p.hostPort}:${p.containerPort}: ports are 1 to 65535`, { network: n });
      if (seen.has(p.hostPort)) throw invalid(`published port ${p.hostPort} is given twice`, { network: n });
      seen.add(p.hostPort);
    }
    out[annotations.networkPublish] = n.publish.map((p) => `127.0.0.1:${p.hostPort}:${p.containerPort}/tcp`).join(',');
  }
  return out;
}

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
  /** cgroup limits. @defaultValue none (the device rules always apply) */
  limits?: ContainerLimits;
  /**
   * Run in a user namespace: container ids 0..size-1 are host ids hostId..hostId+size-1, so
   * the container's root is an unprivileged host uid. Layers are shared through idmapped
   * mounts (docs/isolation.md). @defaultValue no user namespace
   */
  userns?: { hostId: number; size: number };
  /** Attach to a Berth network (the config keeps its own network namespace). @defaultValue none: an empty network namespace with lo */
  network?: NetworkAttachment;
  /**
   * process.terminal: the program runs on a pseudo-terminal. Create it with `attach` (the
   * monitor keeps the terminal) or with a console socket. @defaultValue false
   */
  terminal?: boolean;
  /** The terminal's size at start (process.consoleSize). @defaultValue the kernel's (0x0) */
  consoleSize?: { rows: number; cols: number };
  /** Serve the attach socket (berth.attach). @defaultValue false */
  attach?: boolean;
  /** Keep stdin open for attach clients (berth.stdin; needs `attach`). @defaultValue false: stdin is /dev/null */
  stdin?: boolean;
  /** The log file (berth.log.path): absolute, in an existing directory; delete keeps it. @defaultValue <root>/<id>/container.log */
  logPath?: string;
  /** delete keeps `layers.writable` (berth.rootfs.keep; needs `layers`). @defaultValue false */
  keepWritable?: boolean;
  /** The program's user and groups. @defaultValue uid 0, gid 0 */
  user?: { uid: number; gid: number; additionalGids?: number[] };
  /**
   * The monitor deletes the container when it exits (berth.delete-on-exit), as `delete`
   * would: for a container whose exit only its attach clients need. @defaultValue false
   */
  deleteOnExit?: boolean;
}

/** The limits Berth sets on a container's cgroup (docs/isolation.md). */
export interface ContainerLimits {
  /** Memory limit in bytes; swap is not allowed beyond it (memory+swap = the same). */
  memoryBytes?: number;
  /** CPUs as a fraction (0.5 = half of one CPU), enforced as a CFS quota per 100 ms period. */
  cpus?: number;
  /** CPU weight relative to other containers (runtime-spec shares, 2..262144; 1024 is normal). */
  cpuShares?: number;
  /** Most processes and threads at once. */
  pids?: number;
}

const CPU_PERIOD_US = 100_000;

/** linux.resources for `limits` (without the device rules). */
export function resourcesFor(limits: ContainerLimits): OciResources {
  const r: OciResources = {};
  if (limits.memoryBytes !== undefined) {
    if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes < 4 * 1024 * 1024) {
      throw invalid(`memory limit ${limits.memoryBytes} must be a whole number of bytes, at least 4 MiB`, { limits });
    }
    r.memory = { limit: limits.memoryBytes, swap: limits.memoryBytes };
  }
  if (limits.cpus !== undefined || limits.cpuShares !== undefined) {
    r.cpu = {};
    if (limits.cpus !== undefined) {
      if (!(limits.cpus >= 0.01) || !Number.isFinite(limits.cpus)) throw invalid(`cpus ${limits.cpus} must be at least 0.01`, { limits });
      r.cpu.quota = Math.round(limits.cpus * CPU_PERIOD_US);
      r.cpu.period = CPU_PERIOD_US;
    }
    if (limits.cpuShares !== undefined) r.cpu.shares = limits.cpuShares;
  }
  if (limits.pids !== undefined) {
    if (!Number.isSafeInteger(limits.pids) || limits.pids < 1) throw invalid(`pids limit ${limits.pids} must be a positive whole number`, { limits });
    r.pids = { limit: limits.pids };
  }
  return r;
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

/** berth.attach, berth.stdin, berth.log.path, berth.rootfs.keep, berth.delete-on-exit: checked as berth-runtime checks them. */
function ioAnnotations(o: DefaultSpecOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (o.stdin && !o.attach) throw invalid("stdin needs attach: only attach clients can write to a container's stdin", { stdin: o.stdin });
  if (o.attach) out[annotations.attach] = 'true';
  if (o.stdin) out[annotations.stdin] = 'true';
  if (o.logPath !== undefined) {
    if (!isAbsolute(o.logPath) || o.logPath.endsWith('/') || o.logPath.includes('\0')) {
      throw invalid(`log path ${JSON.stringify(o.logPath)} must be an absolute file path`, { logPath: o.logPath });
    }
    out[annotations.logPath] = o.logPath;
  }
  if (o.keepWritable) {
    if (!o.layers) throw invalid('keepWritable needs layers: only a layered root has a writable directory to keep', { keepWritable: true });
    out[annotations.rootfsKeep] = 'true';
  }
  if (o.deleteOnExit) out[annotations.deleteOnExit] = 'true';
  return out;
}

function userOf(user: DefaultSpecOptions['user']): OciProcess['user'] {
  if (user === undefined) return { uid: 0, gid: 0 };
  const id = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= 0xffff_ffff;
  for (const n of [user.uid, user.gid, ...(user.additionalGids ?? [])]) {
    if (!id(n)) throw invalid(`user id ${n} must be a whole number from 0 to 2^32-1`, { user });
  }
  return { uid: user.uid, gid: user.gid, ...(user.additionalGids?.length ? { additionalGids: [...user.additionalGids] } : {}) };
}

function consoleSizeOf(size: { rows: number; cols: number }): { height: number; width: number } {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!ok(size.rows) || !ok(size.cols)) throw invalid(`terminal size ${size.rows}x${size.cols}: rows and columns are 1 to 65535`, { consoleSize: size });
  return { height: size.rows, width: size.cols };
}

function environment(env: Record<string, string> = {}): string[] {
  const merged: Record<string, string> = { PATH: DEFAULT_PATH, TERM: 'xterm', ...env };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

interface RuntimeDefaults {
  seccomp: { defaultAction: string; [k: string]: unknown };
  devices: NonNullable<OciResources['devices']>;
}
let runtimeDefaults: RuntimeDefaults | undefined;

/**
 * What `berth-runtime spec` carries as data tables (Docker's seccomp profile from moby's
 * profiles, the device cgroup rules): read once, so each table lives in one place.
 */
function defaultsFromRuntime(binary: string = defaultRuntimeBinary): RuntimeDefaults {
  if (runtimeDefaults === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
    try {
      const r = spawnSync(binary, ['spec', '--bundle', dir], { encoding: 'utf8', shell: false });
      if (r.status !== 0) {
        throw new BerthError('E_RUNTIME_FAILED', `${binary} spec failed (${r.error?.message ?? r.stderr.trim()}); build it with \`make -C native\``);
      }
      const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
        linux: { seccomp: RuntimeDefaults['seccomp']; resources: { devices: RuntimeDefaults['devices'] } };
      };
      runtimeDefaults = { seccomp: spec.linux.seccomp, devices: spec.linux.resources.devices };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return structuredClone(runtimeDefaults);
}

/** Docker's default seccomp profile, as berth-runtime carries it (native/src/seccomp-default.c). */
export function dockerSeccompProfile(binary: string = defaultRuntimeBinary): { defaultAction: string; [k: string]: unknown } {
  return defaultsFromRuntime(binary).seccomp;
}

/** The device cgroup rules of `berth-runtime spec`: deny all, then the standard devices. */
export function defaultDeviceRules(binary: string = defaultRuntimeBinary): NonNullable<OciResources['devices']> {
  return defaultsFromRuntime(binary).devices;
}

/** Docker's default capability set (docs/isolation.md). */
export const dockerCapabilities = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

/** Docker's masked and read-only kernel paths. */
const maskedPaths = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;
const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/**
 * Berth's default config.json: the same defaults as `berth-runtime spec` (six namespaces,
 * the standard /proc, /dev, /sys mounts, NOFILE 1024, no_new_privs, Docker's capabilities,
 * seccomp profile and device rules), a writable root at bundle/rootfs, the layers and init
 * as annotations, and the limits and user namespace asked for.
 */
export function defaultSpec(options: DefaultSpecOptions): OciSpec {
  const annotationMap: Record<string, string> = {};
  if (options.layers) {
    checkLayers(options.layers);
    annotationMap[annotations.rootfsLower] = options.layers.lower.join(':');
    annotationMap[annotations.rootfsWritable] = options.layers.writable;
  }
  if (options.init) annotationMap[annotations.init] = 'true';
  if (options.network) Object.assign(annotationMap, networkAnnotations(options.network));
  Object.assign(annotationMap, ioAnnotations(options));
  const user = userOf(options.user);
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: options.terminal ?? false,
      ...(options.consoleSize ? { consoleSize: consoleSizeOf(options.consoleSize) } : {}),
      user,
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
      resources: { ...resourcesFor(options.limits ?? {}), devices: defaultDeviceRules() },
    },
  };
  if (options.userns) {
    const { hostId, size } = options.userns;
    if (!Number.isSafeInteger(hostId) || !Number.isSafeInteger(size) || hostId < 1 || size < 1 || hostId + size > 0xffff_ffff) {
      throw invalid(`user namespace ids ${hostId}+${size} must be positive whole numbers below 2^32, not starting at host root`, { userns: options.userns });
    }
    const map = [{ containerID: 0, hostID: hostId, size }];
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = map;
    spec.linux!.gidMappings = structuredClone(map);
  }
  if (Object.keys(annotationMap).length > 0) spec.annotations = annotationMap;
  return spec;
}

/** Every problem zod found, one per line, each with the property's path. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${issuePath(i.path, '(config)')}: ${i.message}`);
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
 * `durable: false` skips the fsyncs (writeFileAtomic), for a container a power failure may forget.
 */
export async function writeBundle(dir: string, spec: OciSpec, options: { durable?: boolean } = {}): Promise<string> {
  const valid = validateSpec(spec, `bundle ${dir}`);
  await mkdir(dir, { recursive: true, mode: 0o711 });
  if (valid.annotations?.[annotations.rootfsLower] !== undefined) {
    await mkdir(isAbsolute(valid.root.path) ? valid.root.path : join(dir, valid.root.path), { recursive: true, mode: 0o755 });
  }
  const path = join(dir, 'config.json');
  await writeFileAtomic(path, `${JSON.stringify(valid, null, 2)}\n`, { mode: 0o600, durable: options.durable ?? true });
  return path;
}
