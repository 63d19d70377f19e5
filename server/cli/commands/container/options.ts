/**
 * The values of `berth container:*` flags, parsed as Docker parses them: sizes with units
 * (`-m 512m`), decimal CPUs, `-p HOST:PORT`, labels, and `commit -c` Dockerfile
 * instructions (`-e` is env.ts). Pure, and light (the declarations load it): unit-tested in
 * test/unit/cli/container-options.test.ts. A bad value throws commander's
 * InvalidArgumentError, which names the flag; the command maps it to Docker's exit status.
 */
import { InvalidArgumentError } from '@commander-js/extra-typings';
import type { CommitRequest } from '../../../api/index.js';

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A memory size as Docker's `-m` takes it: a number and an optional unit b, k, m or g
 * (binary multiples: `512m` = 512 MiB), `kb`/`mb`/`gb` and `kib`… spellings too.
 */
export function parseMemory(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not a size: write a number with an optional unit b, k, m or g (512m, 1g)`);
  const bytes = Math.floor(Number(m[1]) * (sizeUnits[(m[2] ?? '').toLowerCase()] ?? 1));
  if (bytes <= 0) throw new InvalidArgumentError(`"${value}" is not a size above zero`);
  return bytes;
}

/** `--cpus 1.5`: how many CPUs' worth of time (a decimal above zero). */
export function parseCpus(value: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) || Number(value) <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a number of CPUs: write a decimal above zero (0.5, 2)`);
  }
  return Number(value);
}

/** A positive integer flag (`--pids-limit`, `--tail`, `-t` seconds). */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return Number(value);
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
}

function port(text: string, whole: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidArgumentError(`"${whole}": ${JSON.stringify(text)} is not a port (1-65535)`);
  return n;
}

/**
 * `-p HOST:PORT` (or `127.0.0.1:HOST:PORT`, `/tcp` allowed). Ports are published on the
 * host's loopback only (docs/networking.md), so another address or `/udp` is refused
 * rather than silently narrowed.
 */
export function parsePublish(value: string): PortMapping {
  let rest = value.trim();
  const proto = /\/(\w+)$/.exec(rest);
  if (proto) {
    if (proto[1]!.toLowerCase() !== 'tcp') throw new InvalidArgumentError(`"${value}": only tcp ports can be published, not ${proto[1]}`);
    rest = rest.slice(0, proto.index);
  }
  const parts = rest.split(':');
  if (parts.length === 3) {
    if (parts[0] !== '127.0.0.1' && parts[0] !== 'localhost') {
      throw new InvalidArgumentError(`"${value}": ports are published on 127.0.0.1 only; write HOST:PORT or 127.0.0.1:HOST:PORT`);
    }
    parts.shift();
  }
  if (parts.length !== 2) throw new InvalidArgumentError(`"${value}" is not HOST:PORT (e.g. 8080:80): the host port is required`);
  return { hostPort: port(parts[0]!, value), containerPort: port(parts[1]!, value) };
}

/** `-l k=v` labels. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`"${v}" is not a label: the key is empty`);
    out[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '' : v.slice(eq + 1);
  }
  return out;
}

/** Collects a repeatable flag's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Collects a repeatable flag's values through a parser. */
export function collectWith<T>(parse: (v: string) => T): (value: string, previous?: T[]) => T[] {
  return (value, previous = []) => [...previous, parse(value)];
}

/** What `commit -c` may change: the API's (server/containers). */
export type CommitChanges = NonNullable<CommitRequest['changes']>;

/** Split a Dockerfile argument list on spaces, honouring "…" (with \\ escapes) and '…' anywhere in a word. */
function words(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i]!;
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new InvalidArgumentError(`${JSON.stringify(text)} has an unclosed ${quote}`);
  if (word !== undefined) out.push(word);
  return out;
}

/** CMD/ENTRYPOINT: the JSON (exec) form, or the shell form run by `/bin/sh -c`. */
function commandForm(rest: string, change: string): string[] {
  if (rest.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(rest);
    } catch {
      throw new InvalidArgumentError(`"${change}": the JSON form must be an array of strings, e.g. ["sh", "-c", "echo hi"]`);
    }
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new InvalidArgumentError(`"${change}": the JSON form must be an array of strings`);
    return v;
  }
  return ['/bin/sh', '-c', rest];
}

/** Key=value pairs (`ENV A=1 B="x y"`, `LABEL k=v`), or the old `ENV KEY value` form. */
function pairs(rest: string, change: string, oldForm: boolean): [string, string][] {
  const first = /^(\S+)(\s+)(.*)$/.exec(rest);
  if (oldForm && first && !first[1]!.includes('=')) return [[first[1]!, first[3]!]];
  return words(rest).map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${change}": ${JSON.stringify(w)} is not key=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/**
 * `commit -c` instructions, as Docker takes them: CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE,
 * LABEL. Anything else is refused (nothing is silently dropped).
 */
export function parseChanges(changes: readonly string[]): CommitChanges {
  const out: CommitChanges = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*?)\s*$/.exec(change);
    if (!m) throw new InvalidArgumentError(`"${change}" is not an instruction: write e.g. CMD ["sh"] or ENV K=V`);
    const rest = m[2]!;
    switch (m[1]!.toUpperCase()) {
      case 'CMD':
        out.cmd = commandForm(rest, change);
        break;
      case 'ENTRYPOINT':
        out.entrypoint = commandForm(rest, change);
        break;
      case 'ENV':
        out.env = [...(out.env ?? []), ...pairs(rest, change, true).map(([k, v]) => `${k}=${v}`)];
        break;
      case 'WORKDIR':
        if (!rest.startsWith('/')) throw new InvalidArgumentError(`"${change}": WORKDIR must be an absolute path`);
        out.workdir = rest;
        break;
      case 'EXPOSE':
        out.exposedPorts = [
          ...(out.exposedPorts ?? []),
          ...words(rest).map((p) => {
            const pm = /^(\d+)(?:\/(tcp|udp))?$/i.exec(p);
            if (!pm || Number(pm[1]) < 1 || Number(pm[1]) > 65535) throw new InvalidArgumentError(`"${change}": ${JSON.stringify(p)} is not PORT[/tcp|udp]`);
            return `${pm[1]}/${(pm[2] ?? 'tcp').toLowerCase()}`;
          }),
        ];
        break;
      case 'LABEL':
        out.labels = { ...(out.labels ?? {}), ...Object.fromEntries(pairs(rest, change, false)) };
        break;
      default:
        throw new InvalidArgumentError(`"${change}": ${m[1]} cannot be changed by commit; allowed: CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, LABEL`);
    }
  }
  return out;
}
