/**
 * What a buildpack's `bin/release` prints (the classic buildpack API): a YAML map with
 * `addons` (a list, ignored), `default_process_types` and `config_vars` (maps of strings).
 *
 * Read with a strict reader of the subset buildpacks print, because the `yaml` package is
 * not among the project's dependencies: block maps and lists two levels deep, plain,
 * 'single-' and "double-quoted" scalars, `{}` and `[]`, comments, `---` and `...`. Anything
 * else (anchors, block scalars, flow maps with entries, tabs for indentation) is refused,
 * naming the line, never guessed at.
 */
import { BerthError } from '../../core/index.js';

export interface ReleaseInfo {
  defaultProcessTypes: Record<string, string>;
  configVars: Record<string, string>;
}

type Value = string | Record<string, string> | string[];

class YamlError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const KEY = /^([A-Za-z0-9_.\-/]+|"[^"]*"|'[^']*')\s*:(?:\s+(.*))?$/;

function scalar(text: string, line: number): string {
  const t = text.trim();
  if (t.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(t)) throw new YamlError(line, `unterminated single-quoted string ${t}`);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(t)) throw new YamlError(line, `unterminated double-quoted string ${t}`);
    try {
      return JSON.parse(t) as string;
    } catch {
      throw new YamlError(line, `a double-quoted string with an escape Berth does not read: ${t}`);
    }
  }
  const plain = t.replace(/\s+#.*$/, '');
  if (/^[&*!|>%@`{[\]}]/.test(plain) || plain.startsWith('- '))
    throw new YamlError(
      line,
      `${JSON.stringify(plain)} is YAML Berth does not read here (anchors, tags, block scalars and flow collections are not supported)`,
    );
  return plain;
}

function keyOf(raw: string): string {
  return raw.startsWith('"') || raw.startsWith("'") ? raw.slice(1, -1) : raw;
}

/** The document as top-level key → value. */
function readDocument(text: string): Map<string, Value> {
  const out = new Map<string, Value>();
  let current: { key: string; value: Value | undefined; indent: number | undefined } | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || ((trimmed === '---' || trimmed === '...') && !/^\s/.test(line))) return;
    if (/^\s*\t/.test(line)) throw new YamlError(n, 'a tab in the indentation');
    const indent = line.length - line.trimStart().length;
    if (indent === 0) {
      const m = KEY.exec(trimmed);
      if (!m) throw new YamlError(n, `expected "key: value" at the top level, not ${JSON.stringify(trimmed)}`);
      const key = keyOf(m[1] as string);
      if (out.has(key)) throw new YamlError(n, `the key ${key} appears twice`);
      const rest = (m[2] ?? '').replace(/^#.*$/, '').trim();
      let value: Value | undefined;
      if (rest === '{}') value = {};
      else if (rest === '[]') value = [];
      else if (rest !== '') value = scalar(rest, n);
      current = { key, value, indent: undefined };
      out.set(key, value ?? {});
      return;
    }
    if (current === undefined || current.value !== undefined) {
      throw new YamlError(n, `an indented line that belongs to no key: ${JSON.stringify(trimmed)}`);
    }
    if (current.indent !== undefined && indent !== current.indent)
      throw new YamlError(n, `the indentation (${indent}) differs from the lines above (${current.indent})`);
    current.indent = indent;
    if (trimmed === '-' || trimmed.startsWith('- ')) {
      const list = out.get(current.key);
      const items = Array.isArray(list) ? list : Object.keys(list as object).length === 0 ? [] : undefined;
      if (items === undefined) throw new YamlError(n, `a list item inside the map ${current.key}`);
      items.push(scalar(trimmed.slice(1), n));
      out.set(current.key, items);
      return;
    }
    const m = KEY.exec(trimmed);
    if (!m) throw new YamlError(n, `expected "key: value" under ${current.key}, not ${JSON.stringify(trimmed)}`);
    const map = out.get(current.key);
    if (Array.isArray(map)) throw new YamlError(n, `a map entry inside the list ${current.key}`);
    const key = keyOf(m[1] as string);
    const record = map as Record<string, string>;
    if (Object.hasOwn(record, key)) throw new YamlError(n, `the key ${current.key}.${key} appears twice`);
    const value = (m[2] ?? '').trim();
    if (value === '') throw new YamlError(n, `${current.key}.${key} has no value (nested maps are not part of the release format)`);
    record[key] = scalar(value, n);
  });
  return out;
}

function stringMap(doc: Map<string, Value>, key: string): Record<string, string> {
  const v = doc.get(key);
  if (v === undefined) return {};
  if (typeof v === 'string' || Array.isArray(v)) {
    if (v === '' || (Array.isArray(v) && v.length === 0)) return {};
    throw new YamlError(0, `${key} must be a map of names to strings`);
  }
  return v;
}

/** Parse `bin/release`'s output of buildpack `buildpack`; E_BUILD_BUILDPACK_RELEASE_INVALID names it and the line. */
export function parseRelease(text: string, buildpack: string): ReleaseInfo {
  try {
    const doc = readDocument(text);
    const info = { defaultProcessTypes: stringMap(doc, 'default_process_types'), configVars: stringMap(doc, 'config_vars') };
    for (const name of Object.keys(info.defaultProcessTypes)) {
      if (!/^[a-zA-Z0-9_-]+$/.test(name)) throw new YamlError(0, `the default process type ${JSON.stringify(name)} may only have letters, digits, "_" and "-"`);
    }
    for (const name of Object.keys(info.configVars)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new YamlError(0, `the config var ${JSON.stringify(name)} is not an environment variable name`);
    }
    return info;
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    const where = e.line > 0 ? `, line ${e.line}` : '';
    throw new BerthError('E_BUILD_BUILDPACK_RELEASE_INVALID', `buildpack ${buildpack}, release: bin/release printed invalid YAML${where}: ${e.message}`, {
      details: { buildpack, phase: 'release', ...(e.line > 0 ? { line: e.line } : {}) },
    });
  }
}
