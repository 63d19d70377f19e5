/**
 * What a buildpack's `bin/release` prints (the classic buildpack API): a YAML map with
 * `addons` (ignored), `default_process_types` and `config_vars` (maps of strings).
 *
 * Read with the `yaml` package's failsafe schema (every scalar is a string, so `PORT: 5000`
 * stays "5000" and `on: yes` stays "yes"), duplicate keys refused; the shape is then checked
 * with zod. Errors name the buildpack and, for YAML errors, the line.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { BerthError } from '../../core/index.js';

export interface ReleaseInfo {
  defaultProcessTypes: Record<string, string>;
  configVars: Record<string, string>;
}

/** `key:` with nothing after it reads as "" under the failsafe schema: an empty map. */
const stringMap = z.preprocess(
  (v) => (v === '' ? {} : v),
  z.record(z.string(), z.string({ error: 'must be a string' }), { error: 'must be a map of names to strings' }).optional(),
);

/** An empty document is an empty map; anything else must be a map (other keys, such as addons, are not read). */
const releaseSchema = z.preprocess(
  (v) => (v === '' || v === null || v === undefined ? {} : v),
  z.looseObject({ default_process_types: stringMap, config_vars: stringMap }, { error: 'must be a map' }),
);

const names = [
  ['default_process_types', 'default process type', /^[a-zA-Z0-9_-]+$/, 'letters, digits, "_" and "-"'],
  ['config_vars', 'config var', /^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name ([A-Za-z_][A-Za-z0-9_]*)'],
] as const;

function invalid(buildpack: string, why: string, line?: number): BerthError {
  const where = line === undefined ? '' : `, line ${line}`;
  return new BerthError('E_BUILD_BUILDPACK_RELEASE_INVALID', `buildpack ${buildpack}, release: bin/release printed invalid YAML${where}: ${why}`, {
    details: { buildpack, phase: 'release', ...(line === undefined ? {} : { line }) },
  });
}

/** Parse `bin/release`'s output of buildpack `buildpack`; E_BUILD_BUILDPACK_RELEASE_INVALID names it and the line. */
export function parseRelease(text: string, buildpack: string): ReleaseInfo {
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error) throw invalid(buildpack, error.message.split('\n')[0] ?? error.code, error.linePos?.[0].line);
  const parsed = releaseSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw invalid(
      buildpack,
      `${path === '' ? 'the document' : path}: ${issue?.message ?? 'not a map'} (the classic API: a map with default_process_types and config_vars maps of strings)`,
    );
  }
  const v = parsed.data;
  for (const [key, what, rule, words] of names) {
    const bad = Object.keys(v[key] ?? {}).find((name) => !rule.test(name));
    if (bad !== undefined) throw invalid(buildpack, `${key}: the ${what} name ${JSON.stringify(bad)} must be ${words}`);
  }
  return { defaultProcessTypes: v.default_process_types ?? {}, configVars: v.config_vars ?? {} };
}
