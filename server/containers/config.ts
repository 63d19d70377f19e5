/**
 * A container's settings from its image and the request, with Docker's precedence:
 * the request's entrypoint replaces the image's (and then drops the image's Cmd), the
 * request's cmd replaces the image's Cmd; Env is the image's with the request's keys
 * replacing; WorkingDir and User come from the request, else the image. Every option is
 * checked here, before anything is written: a bad one is E_CONTAINER_INVALID naming it.
 */
import { cpus as hostCpus } from 'node:os';
import { lstat, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { BerthError, isErrno, mergeEnv as mergeEnvEntries } from '../core/index.js';
import type { ContainerConfig } from '../images/index.js';
import type { RuntimeSignal } from '../runtime/index.js';
import type { CreateRequest } from './types.js';

/** The host's CPU count, read once: os.cpus() parses /proc/cpuinfo (milliseconds), and a build checks it per RUN step. */
let hostCpuCount: number | undefined;

function invalid(option: string, message: string, value?: unknown): BerthError {
  return new BerthError('E_CONTAINER_INVALID', message, { details: { option, ...(value === undefined ? {} : { value }) } });
}

export interface ResolvedProgram {
  entrypoint: string[];
  cmd: string[];
  command: string[];
}

/** entrypoint + cmd, Docker's way. */
export function resolveProgram(image: ContainerConfig, req: Pick<CreateRequest, 'entrypoint' | 'cmd'>): ResolvedProgram {
  // `--entrypoint ""` (an empty list, or [""]) resets the image's entrypoint.
  const given = req.entrypoint === undefined ? undefined : req.entrypoint.length === 1 && req.entrypoint[0] === '' ? [] : req.entrypoint;
  const entrypoint = given ?? image.Entrypoint ?? [];
  const cmd = req.cmd !== undefined && req.cmd.length > 0 ? req.cmd : given !== undefined ? [] : (image.Cmd ?? []);
  const command = [...entrypoint, ...cmd];
  if (command.length === 0) {
    throw invalid('cmd', 'no command: the image has no Entrypoint or Cmd and the request gives none; give the program to run after the image');
  }
  if (command[0] === '') throw invalid('cmd', 'the program to run is an empty string');
  for (const a of command) if (a.includes('\0')) throw invalid('cmd', `argument ${JSON.stringify(a)} contains a NUL byte`);
  return { entrypoint, cmd, command };
}

/**
 * The image's Env with the request's `K=V` entries replacing the same keys (core's rule);
 * a bad request entry is E_CONTAINER_INVALID naming the `env` option.
 */
export function mergeEnv(image: readonly string[], request: readonly string[]): string[] {
  try {
    return mergeEnvEntries(image, request);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'E_NAME_INVALID') throw invalid('env', e.message, e.details.entry);
    throw e;
  }
}

/** Docker's signal forms: KILL, SIGKILL, 9. */
export function checkSignal(signal: string): RuntimeSignal {
  if (/^\d{1,2}$/.test(signal) && Number(signal) >= 1 && Number(signal) <= 64) return Number(signal);
  const upper = signal.toUpperCase();
  if (/^(SIG)?[A-Z][A-Z0-9]*(\+\d+)?$/.test(upper)) return (upper.startsWith('SIG') ? upper : `SIG${upper}`) as RuntimeSignal;
  throw invalid('signal', `signal ${JSON.stringify(signal)} is not a signal: give a name such as TERM, SIGKILL or a number from 1 to 64`, signal);
}

/**
 * The network group a container joins (berth.network.group, docs/networking.md): the
 * containers of one group reach each other, those of different groups do not.
 */
export function checkNetworkGroup(group: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(group)) {
    throw invalid('networkGroup', `network group ${JSON.stringify(group)} is not allowed: use 1 to 128 of A-Z, a-z, 0-9, and - _ . after the first`, group);
  }
  return group;
}

/** A user namespace map (defaultSpec's userns): whole numbers, never host root, below 2^32. */
export function checkUserns(userns: { hostId: number; size: number }): { hostId: number; size: number } {
  const { hostId, size } = userns;
  if (!Number.isSafeInteger(hostId) || !Number.isSafeInteger(size) || hostId < 1 || size < 1 || hostId + size > 0xffff_ffff) {
    throw invalid(
      'userns',
      `user namespace map ${JSON.stringify(userns)} is not allowed: give hostId of at least 1 (host root is never mapped) and size of at least 1, whole numbers ending below 2^32`,
      userns,
    );
  }
  return { hostId, size };
}

export function checkWorkdir(dir: string): string {
  if (!isAbsolute(dir) || dir.includes('\0')) throw invalid('workdir', `working directory ${JSON.stringify(dir)} must be an absolute path such as /app`, dir);
  return dir;
}

export interface Limits {
  memoryBytes?: number;
  cpus?: number;
  pids?: number;
}

const MIN_MEMORY = 6 * 1024 * 1024; // Docker's minimum

/** -m, --cpus, --pids-limit: checked against what the host and the kernel take. */
export function checkLimits(req: Pick<CreateRequest, 'memory' | 'cpus' | 'pids'>): Limits {
  const out: Limits = {};
  if (req.memory !== undefined) {
    if (!Number.isSafeInteger(req.memory) || req.memory < MIN_MEMORY) {
      throw invalid('memory', `memory limit ${req.memory} is not allowed: give a whole number of bytes, at least ${MIN_MEMORY} (6 MiB)`, req.memory);
    }
    out.memoryBytes = req.memory;
  }
  if (req.cpus !== undefined) {
    const n = (hostCpuCount ??= hostCpus().length);
    if (!Number.isFinite(req.cpus) || req.cpus < 0.01 || req.cpus > n) {
      throw invalid('cpus', `cpus ${req.cpus} is not allowed: give a number from 0.01 to ${n} (the CPUs this host has)`, req.cpus);
    }
    out.cpus = req.cpus;
  }
  if (req.pids !== undefined) {
    if (!Number.isSafeInteger(req.pids) || req.pids < 1) throw invalid('pids', `pids limit ${req.pids} is not allowed: give a positive whole number`, req.pids);
    out.pids = req.pids;
  }
  return out;
}

export function checkPorts(publish: readonly { hostPort: number; containerPort: number }[]): { hostPort: number; containerPort: number }[] {
  const seen = new Set<number>();
  const port = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;
  for (const p of publish) {
    if (!port(p.hostPort) || !port(p.containerPort))
      throw invalid('publish', `published port ${p.hostPort}:${p.containerPort} is not allowed: ports are 1 to 65535`, p);
    if (seen.has(p.hostPort)) throw invalid('publish', `host port ${p.hostPort} is published twice`, p);
    seen.add(p.hostPort);
  }
  return publish.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort }));
}

/** The file at `path` in the image, from the topmost layer that has it (a whiteout hides it). */
async function layerFile(lowers: readonly string[], path: string): Promise<string | undefined> {
  for (const dir of lowers) {
    const file = join(dir, path);
    try {
      const st = await lstat(file);
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // deleted in this layer
      if (!st.isFile()) return undefined;
      return await readFile(file, 'utf8');
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  return undefined;
}

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

const ID_MAX = 0xffff_fffe;

/**
 * Docker's `-u`: `user`, `user:group`, `uid`, `uid:gid`. Names are looked up in the image's
 * /etc/passwd and /etc/group; a uid without a group takes its passwd entry's group, else 0.
 * Supplementary groups come from /etc/group, as Docker does.
 */
export async function resolveUser(spec: string | undefined, lowers: readonly string[]): Promise<ProcessUser> {
  const text = spec ?? '';
  if (text === '') return { uid: 0, gid: 0, additionalGids: [] };
  const m = /^([^:]+)(?::([^:]+))?$/.exec(text);
  if (!m) throw invalid('user', `user ${JSON.stringify(text)} is not USER, USER:GROUP, UID or UID:GID`, text);
  const [, userPart, groupPart] = m as unknown as [string, string, string | undefined];
  const passwd = ((await layerFile(lowers, 'etc/passwd')) ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4);
  const groups = ((await layerFile(lowers, 'etc/group')) ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3);
  const numeric = (s: string): number | undefined => (/^\d{1,10}$/.test(s) && Number(s) <= ID_MAX ? Number(s) : undefined);
  let uid = numeric(userPart);
  let name: string | undefined;
  let gid: number | undefined;
  const entry = passwd.find((f) => (uid === undefined ? f[0] === userPart : Number(f[2]) === uid));
  if (entry) {
    name = entry[0];
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else if (uid === undefined) {
    throw invalid('user', `user ${JSON.stringify(userPart)} is not in the image's /etc/passwd; give a numeric uid or a user the image has`, text);
  }
  if (groupPart !== undefined) {
    const g =
      numeric(groupPart) ??
      (() => {
        const ge = groups.find((f) => f[0] === groupPart);
        if (!ge)
          throw invalid('user', `group ${JSON.stringify(groupPart)} is not in the image's /etc/group; give a numeric gid or a group the image has`, text);
        return Number(ge[2]);
      })();
    gid = g;
  }
  const additionalGids =
    name === undefined || groupPart !== undefined
      ? []
      : groups.filter((f) => (f[3] ?? '').split(',').includes(name) && Number(f[2]) !== gid).map((f) => Number(f[2]));
  return { uid: uid as number, gid: gid ?? 0, additionalGids };
}
