/**
 * The typed subset of the OCI runtime-spec (v1.2.0, config.md, config-linux.md and
 * runtime.md "State") that Berth emits and reads back.
 *
 * Config objects are strict: a property outside the subset is a bug in Berth (a typo, or
 * a feature berth-runtime refuses, such as resources), so it is rejected rather than
 * written and silently ignored. The state schema is lenient, because runtimes add fields
 * of their own (berth-runtime and crun write `rootfs`, crun `owner`).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseEnvEntry } from '../core/index.js';

const absolutePath = z.string().refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path');
const uint32 = z.number().int().min(0).max(0xffff_ffff);
// config.md "POSIX process": env entries are KEY=VALUE, by core's one rule (docs/containers.md).
const envEntry = z.string().superRefine((entry, ctx) => {
  try {
    parseEnvEntry(entry);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
  }
});

/** config.md "Hooks": one program the runtime runs at a lifecycle point. */
export const ociHookSchema = z.strictObject({
  path: absolutePath,
  args: z.array(z.string()).optional(),
  env: z.array(envEntry).optional(),
  /** Seconds before the runtime aborts the hook. */
  timeout: z.number().int().positive().optional(),
});

/** config.md "POSIX process": `RLIMIT_NOFILE` and friends, as setrlimit(2) names them. */
export const ociRlimitSchema = z.strictObject({
  type: z.string().regex(/^RLIMIT_[A-Z]+$/, 'must be an RLIMIT_* name'),
  soft: z.number().int().min(0),
  hard: z.number().int().min(0),
});

/** config.md "capabilities": names as in capabilities(7). */
const capabilityName = z.string().regex(/^CAP_[A-Z_]+$/, 'must be a capability name such as CAP_CHOWN');

export const ociProcessSchema = z
  .strictObject({
    terminal: z.boolean().optional(),
    consoleSize: z.strictObject({ height: uint32, width: uint32 }).optional(),
    user: z.strictObject({
      uid: uint32,
      gid: uint32,
      umask: uint32.max(0o777).optional(),
      additionalGids: z.array(uint32).optional(),
    }),
    args: z.array(z.string()).min(1, 'must name the program to run'),
    env: z.array(envEntry).optional(),
    cwd: absolutePath,
    rlimits: z.array(ociRlimitSchema).optional(),
    noNewPrivileges: z.boolean().optional(),
    capabilities: z
      .strictObject({
        bounding: z.array(capabilityName).optional(),
        effective: z.array(capabilityName).optional(),
        permitted: z.array(capabilityName).optional(),
        inheritable: z.array(capabilityName).optional(),
        ambient: z.array(capabilityName).optional(),
      })
      .optional(),
    // config.md: "oomScoreAdj ... the range is -1000 to 1000" (proc(5), oom_score_adj).
    oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of (p.rlimits ?? []).entries()) {
      if (seen.has(r.type)) ctx.addIssue({ code: 'custom', path: ['rlimits', i, 'type'], message: `${r.type} is listed twice` });
      if (r.soft > r.hard) ctx.addIssue({ code: 'custom', path: ['rlimits', i, 'soft'], message: `soft limit ${r.soft} is above the hard limit ${r.hard}` });
      seen.add(r.type);
    }
  });

export const ociMountSchema = z.strictObject({
  destination: absolutePath,
  type: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  options: z.array(z.string()).optional(),
});

/**
 * config-linux.md "Namespaces": the types Berth asks for. The spec's `time` is left out:
 * berth-runtime refuses it.
 */
export const namespaceTypes = ['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup', 'user'] as const;
export type NamespaceType = (typeof namespaceTypes)[number];

export const ociNamespaceSchema = z.strictObject({
  type: z.enum(namespaceTypes),
  /** Join this namespace (a /proc/PID/ns/TYPE or bind-mounted file) instead of making one. */
  path: absolutePath.optional(),
});

/** config-linux.md "User namespace mappings". */
export const ociIdMappingSchema = z.strictObject({ containerID: uint32, hostID: uint32, size: uint32.min(1) });

const limit = z.number().int().min(-1);

/** config-linux.md "Control groups": what berth-runtime applies (it refuses the rest by name). */
export const ociResourcesSchema = z.strictObject({
  memory: z
    .strictObject({
      limit: limit.optional(),
      reservation: limit.optional(),
      swap: limit.optional(),
      swappiness: z.number().int().min(0).max(100).optional(),
      disableOOMKiller: z.boolean().optional(),
    })
    .optional(),
  cpu: z
    .strictObject({
      shares: z.number().int().min(2).max(262144).optional(),
      quota: limit.optional(),
      period: z.number().int().min(1000).max(1000000).optional(),
      cpus: z
        .string()
        .regex(/^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/)
        .optional(),
      mems: z
        .string()
        .regex(/^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/)
        .optional(),
    })
    .optional(),
  pids: z.strictObject({ limit }).optional(),
  devices: z
    .array(
      z.strictObject({
        allow: z.boolean(),
        type: z.enum(['a', 'c', 'b']).optional(),
        major: z.number().int().min(-1).optional(),
        minor: z.number().int().min(-1).optional(),
        access: z
          .string()
          .regex(/^[rwm]{1,3}$/)
          .optional(),
      }),
    )
    .optional(),
  unified: z.record(z.string(), z.string()).optional(),
});
export type OciResources = z.infer<typeof ociResourcesSchema>;

export const ociLinuxSchema = z
  .strictObject({
    namespaces: z.array(ociNamespaceSchema).optional(),
    uidMappings: z.array(ociIdMappingSchema).optional(),
    gidMappings: z.array(ociIdMappingSchema).optional(),
    resources: ociResourcesSchema.optional(),
    cgroupsPath: z.string().min(1).optional(),
    sysctl: z.record(z.string().min(1), z.string()).optional(),
    rootfsPropagation: z.enum(['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable']).optional(),
    maskedPaths: z.array(absolutePath).optional(),
    readonlyPaths: z.array(absolutePath).optional(),
    // config-linux.md "Seccomp": checked in depth by berth-runtime, which names the bad field.
    seccomp: z.looseObject({ defaultAction: z.string().regex(/^SCMP_ACT_[A-Z_]+$/) }).optional(),
  })
  .superRefine((linux, ctx) => {
    // config-linux.md: "If a namespace type is specified more than once, ... MUST generate an error."
    const seen = new Set<string>();
    for (const [i, ns] of (linux.namespaces ?? []).entries()) {
      if (seen.has(ns.type)) ctx.addIssue({ code: 'custom', path: ['namespaces', i, 'type'], message: `namespace ${ns.type} is listed twice` });
      seen.add(ns.type);
    }
  });

const hookList = z.array(ociHookSchema).optional();

export const ociHooksSchema = z.strictObject({
  /** Deprecated in runtime-spec 1.2 (createRuntime replaces it); still run by every runtime. */
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});

/** config.json, as far as Berth writes it. */
export const ociSpecSchema = z.strictObject({
  ociVersion: z.string().regex(/^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'must be a 1.x.y version'),
  process: ociProcessSchema,
  root: z.strictObject({ path: z.string().min(1), readonly: z.boolean().optional() }),
  hostname: z.string().max(64).optional(),
  mounts: z.array(ociMountSchema).optional(),
  linux: ociLinuxSchema.optional(),
  hooks: ociHooksSchema.optional(),
  annotations: z.record(z.string().min(1), z.string()).optional(),
});

export type OciHook = z.infer<typeof ociHookSchema>;
export type OciRlimit = z.infer<typeof ociRlimitSchema>;
export type OciProcess = z.infer<typeof ociProcessSchema>;
export type OciMount = z.infer<typeof ociMountSchema>;
export type OciNamespace = z.infer<typeof ociNamespaceSchema>;
export type OciLinux = z.infer<typeof ociLinuxSchema>;
export type OciHooks = z.infer<typeof ociHooksSchema>;
export type OciSpec = z.infer<typeof ociSpecSchema>;

/** runtime.md "State": the lifecycle statuses. */
export const containerStatuses = ['creating', 'created', 'running', 'stopped'] as const;
export type ContainerStatus = (typeof containerStatuses)[number];

/**
 * runtime.md "State", plus what berth-runtime adds when it knows it: `created` (RFC 3339),
 * and once stopped `exitCode` and `finishedAt`. Unknown fields are dropped.
 */
export const ociStateSchema = z.object({
  ociVersion: z.string().min(1),
  id: z.string().min(1),
  status: z.enum(containerStatuses),
  /** The container process's pid on the host; runtime.md requires it while created or running. */
  pid: z.number().int().min(0).optional(),
  bundle: z.string(),
  annotations: z.record(z.string(), z.string()).optional(),
  created: z.string().optional(),
  exitCode: z.number().int().optional(),
  finishedAt: z.string().optional(),
  /** Berth's: the kernel's OOM killer killed a process of the container (Docker's OOMKilled). */
  oomKilled: z.boolean().optional(),
});

export type OciState = z.infer<typeof ociStateSchema>;

const figure = z.number().int().min(0).nullable();

/** `berth-runtime stats ID`. */
export const containerStatsSchema = z.strictObject({
  id: z.string().min(1),
  memory: z.strictObject({ usage: figure, limit: figure }),
  cpu: z.strictObject({ usageNanoseconds: figure }),
  pids: z.strictObject({ current: figure, limit: figure }),
  oomKills: figure,
});
export type ContainerStats = z.infer<typeof containerStatsSchema>;
