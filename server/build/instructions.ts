/**
 * The instructions that only change the image's config (ENV, LABEL, EXPOSE, CMD, ENTRYPOINT,
 * USER, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER): each turns its
 * arguments (substituted where Docker substitutes) into the new config and the history's
 * `created_by`, written as Docker's classic builder writes it (`/bin/sh -c #(nop)  ENV A=1`).
 * Pure functions over the stage's config; errors name the line through `at`.
 */
import { BerthError, mergeEnv } from '../core/index.js';
import type { ContainerConfig } from '../images/index.js';
import type { Instruction } from './dockerfile.js';
import { substituteWord, substituteWords } from './substitute.js';
import { splitWords } from './words.js';

/** What an instruction sees: its line's place, the variables in scope, and where used ones are recorded. */
export interface Scope {
  file: string;
  escape: string;
  env: ReadonlyMap<string, string>;
  used: Set<string>;
  /** SHELL, for the shell forms. */
  shell: string[];
  /** Whether CMD was set in this stage (ENTRYPOINT clears an inherited one). */
  cmdSet: boolean;
}

export interface ConfigStep {
  config: ContainerConfig;
  /** The history's created_by. */
  createdBy: string;
  /** The instruction after substitution, for the cache key. */
  key: string;
  author?: string;
  shell?: string[];
  cmdSet?: boolean;
}

export function at(
  scope: Pick<Scope, 'file'>,
  ins: Instruction,
  message: string,
  code: 'E_BUILD_DOCKERFILE_INVALID' | 'E_BUILD_UNSUPPORTED' = 'E_BUILD_DOCKERFILE_INVALID',
): BerthError {
  return new BerthError(code, `${scope.file}:${ins.line}: ${ins.keyword}: ${message}`, { details: { file: scope.file, line: ins.line } });
}

/** Run `fn`, turning a substitution error into one that names the line. */
export function onLine<T>(scope: Pick<Scope, 'file'>, ins: Instruction, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BerthError && !e.message.startsWith(`${scope.file}:`)) {
      throw new BerthError(e.code, `${scope.file}:${ins.line}: ${ins.keyword}: ${e.message}`, {
        cause: e,
        hint: e.hint,
        details: { ...e.details, file: scope.file, line: ins.line },
      });
    }
    throw e;
  }
}

const nop = (text: string): string => `/bin/sh -c #(nop)  ${text}`;
/** Go's %q of a []string: ["a" "b"]. */
const goQuoted = (list: readonly string[]): string => `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;

/** ENV and LABEL: `k=v k2=v2`, or the old `k value with spaces`. Values substituted (ENV/LABEL keys too). */
export function keyValues(scope: Scope, ins: Instruction): [string, string][] {
  const words = splitWords(ins.rest, scope.escape);
  const sub = (w: string): string => substituteWord(w, { env: scope.env, escape: scope.escape, used: scope.used });
  if (!(words[0] as string).includes('=')) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(ins.rest);
    if (!m) throw at(scope, ins, `needs a name and a value: ${ins.keyword} NAME=VALUE`);
    return [[sub(m[1] as string), sub((m[2] as string).trim())]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw at(scope, ins, `can't find = in ${JSON.stringify(w)}: write NAME=VALUE`);
    const key = sub(w.slice(0, eq));
    if (key === '') throw at(scope, ins, `${JSON.stringify(w)} has an empty name`);
    return [key, sub(w.slice(eq + 1))] as [string, string];
  });
}

/** `300ms`, `30s`, `1m30s`, `2h` (Go's time.ParseDuration, without fractions of units below ms) → nanoseconds. */
export function parseDuration(text: string): number | undefined {
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (unit[m[2] as string] as number);
  return Math.round(total);
}

const SIGNAL = /^(SIG)?[A-Z][A-Z0-9]*(\+\d+)?$|^\d{1,2}$/;

function exposed(scope: Scope, ins: Instruction): string[] {
  const ports: string[] = [];
  for (const word of substituteWords(ins.rest, { env: scope.env, escape: scope.escape, used: scope.used })) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || lo < 1 || hi > 65535 || hi < lo || hi - lo > 1000)
      throw at(scope, ins, `${JSON.stringify(word)} is not PORT[-PORT][/tcp|udp|sctp] with ports from 1 to 65535`);
    for (let p = lo; p <= hi; p++) ports.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
  }
  return ports;
}

function healthcheck(scope: Scope, ins: Instruction): Record<string, unknown> {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.rest) as RegExpExecArray;
  const kind = (m[1] as string).toUpperCase();
  if (kind === 'NONE') {
    if ((m[2] as string).trim() !== '' || ins.flags.length > 0) throw at(scope, ins, 'HEALTHCHECK NONE takes no other arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw at(scope, ins, `the type must be CMD or NONE, not ${JSON.stringify(m[1])}`);
  const rest = (m[2] as string).trim();
  if (rest === '') throw at(scope, ins, 'HEALTHCHECK CMD needs a command');
  let json: unknown;
  try {
    json = rest.startsWith('[') ? JSON.parse(rest) : undefined;
  } catch {
    json = undefined;
  }
  const test = Array.isArray(json) && json.every((x) => typeof x === 'string') ? ['CMD', ...(json as string[])] : ['CMD-SHELL', rest];
  const out: Record<string, unknown> = { Test: test };
  const names: Record<string, string> = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' };
  for (const f of ins.flags) {
    const value = f.value as string;
    if (f.name === 'retries') {
      if (!/^\d+$/.test(value) || Number(value) < 0) throw at(scope, ins, `--retries=${value} is not a whole number of 0 or more`);
      out.Retries = Number(value);
      continue;
    }
    const ns = parseDuration(value);
    if (ns === undefined || (ns !== 0 && ns < 1e6)) throw at(scope, ins, `--${f.name}=${value} is not a duration of at least 1ms (such as 30s, 1m30s)`);
    out[names[f.name] as string] = ns;
  }
  return out;
}

/** The form of CMD, ENTRYPOINT: the JSON array, or the shell form run by SHELL. */
function program(scope: Scope, ins: Instruction): string[] {
  return ins.json ?? [...scope.shell, ins.rest];
}

/** Apply a config-only instruction to `config`. */
export function applyConfig(scope: Scope, ins: Instruction, config: ContainerConfig): ConfigStep {
  const c: ContainerConfig = structuredClone(config);
  const sub = (w: string): string => onLine(scope, ins, () => substituteWord(w, { env: scope.env, escape: scope.escape, used: scope.used }));
  switch (ins.keyword) {
    case 'ENV': {
      const pairs = onLine(scope, ins, () => keyValues(scope, ins));
      c.Env = mergeEnv(
        c.Env ?? [],
        pairs.map(([k, v]) => `${k}=${v}`),
      );
      const text = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      return { config: c, createdBy: nop(text), key: text };
    }
    case 'LABEL': {
      const pairs = onLine(scope, ins, () => keyValues(scope, ins));
      c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) };
      const text = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      return { config: c, createdBy: nop(text), key: JSON.stringify(['LABEL', pairs]) };
    }
    case 'EXPOSE': {
      const ports = onLine(scope, ins, () => exposed(scope, ins));
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) };
      const text = `EXPOSE ${ports.join(' ')}`;
      return { config: c, createdBy: nop(text), key: text };
    }
    case 'CMD': {
      c.Cmd = program(scope, ins);
      return { config: c, createdBy: nop(`CMD ${goQuoted(c.Cmd)}`), key: JSON.stringify(['CMD', c.Cmd]), cmdSet: true };
    }
    case 'ENTRYPOINT': {
      c.Entrypoint = program(scope, ins);
      if (!scope.cmdSet) c.Cmd = null;
      return { config: c, createdBy: nop(`ENTRYPOINT ${goQuoted(c.Entrypoint)}`), key: JSON.stringify(['ENTRYPOINT', c.Entrypoint, scope.cmdSet]) };
    }
    case 'USER': {
      const user = sub(ins.rest);
      if (!/^[^:\s]+(:[^:\s]+)?$/.test(user)) throw at(scope, ins, `${JSON.stringify(user)} is not USER, USER:GROUP, UID or UID:GID`);
      c.User = user;
      return { config: c, createdBy: nop(`USER ${user}`), key: `USER ${user}` };
    }
    case 'VOLUME': {
      const paths = ins.json ?? onLine(scope, ins, () => substituteWords(ins.rest, { env: scope.env, escape: scope.escape, used: scope.used }));
      if (paths.length === 0 || paths.some((p) => p.trim() === '')) throw at(scope, ins, 'needs at least one path');
      c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) };
      return { config: c, createdBy: nop(`VOLUME [${paths.join(' ')}]`), key: JSON.stringify(['VOLUME', paths]) };
    }
    case 'STOPSIGNAL': {
      const signal = sub(ins.rest);
      if (!SIGNAL.test(signal) || (/^\d+$/.test(signal) && (Number(signal) < 1 || Number(signal) > 64))) {
        throw at(scope, ins, `${JSON.stringify(signal)} is not a signal: give a name such as SIGTERM or a number from 1 to 64`);
      }
      c.StopSignal = signal;
      return { config: c, createdBy: nop(`STOPSIGNAL ${signal}`), key: `STOPSIGNAL ${signal}` };
    }
    case 'HEALTHCHECK': {
      const hc = healthcheck(scope, ins);
      (c as Record<string, unknown>).Healthcheck = hc;
      return { config: c, createdBy: nop(`HEALTHCHECK ${ins.original.replace(/^\S+\s*/, '')}`), key: JSON.stringify(['HEALTHCHECK', hc]) };
    }
    case 'SHELL': {
      const shell = ins.json as string[];
      if (shell.length === 0) throw at(scope, ins, 'needs at least the shell program: SHELL ["/bin/sh", "-c"]');
      (c as Record<string, unknown>).Shell = shell;
      return { config: c, createdBy: nop(`SHELL [${shell.join(' ')}]`), key: JSON.stringify(['SHELL', shell]), shell };
    }
    case 'ONBUILD': {
      const trigger = ins.rest;
      const list = ((c as Record<string, unknown>).OnBuild as string[] | null | undefined) ?? [];
      (c as Record<string, unknown>).OnBuild = [...list, trigger];
      return { config: c, createdBy: nop(`ONBUILD ${trigger}`), key: `ONBUILD ${trigger}` };
    }
    case 'MAINTAINER': {
      return { config: c, createdBy: nop(`MAINTAINER ${ins.rest}`), key: `MAINTAINER ${ins.rest}`, author: ins.rest };
    }
    default:
      throw new BerthError('E_BERTH_INTERNAL', `${ins.keyword} is not a config instruction`);
  }
}
