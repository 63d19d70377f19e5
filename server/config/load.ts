import { readFileSync } from 'node:fs';
import { parse as parseEnvFile } from 'dotenv';
import { BerthError, isErrno } from '../core/index.js';
import { configKeys, type BerthConfig, type ConfigKey } from './schema.js';

/** The default config file; `BERTH_CONFIG` (environment only) names another. */
export const defaultConfigFile = '/etc/berth/berth.conf';

interface Source {
  value: string;
  from: string;
}

function readConfigFile(path: string, required: boolean): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (!required && isErrno(cause, 'ENOENT')) return {};
    throw new BerthError('E_CONFIG_FILE_UNREADABLE', `cannot read config file ${path}: ${(cause as Error).message}`, { cause });
  }
  const bad = text
    .split('\n')
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .find(({ line }) => line !== '' && !line.startsWith('#') && !/^(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line));
  if (bad) {
    throw new BerthError('E_CONFIG_FILE_UNREADABLE', `config file ${path} line ${bad.n} is not KEY=VALUE: ${JSON.stringify(bad.line)}`);
  }
  return parseEnvFile(text);
}

/**
 * Read the configuration from the environment and the config file (the environment wins),
 * validate every key and report every bad one at once, naming key, value, source and what
 * is allowed. Unknown BERTH_* keys are errors too: a typo must not silently fall back.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BerthConfig {
  const file = env.BERTH_CONFIG ?? defaultConfigFile;
  const fromFile = readConfigFile(file, env.BERTH_CONFIG !== undefined);
  const sources = new Map<string, Source>();
  for (const [k, v] of Object.entries(fromFile)) sources.set(k, { value: v, from: file });
  for (const [k, v] of Object.entries(env)) if (k.startsWith('BERTH_') && v !== undefined) sources.set(k, { value: v, from: 'environment' });

  const problems: string[] = [];
  // The CLI's own variables may share the environment with the daemon's.
  const cliOnly = new Set<string>(['BERTH_CONFIG', 'BERTH_API_URL', 'BERTH_TOKEN', 'BERTH_CLI_CONFIG']);
  for (const [k, s] of sources) {
    if (k in configKeys || (cliOnly.has(k) && s.from === 'environment')) continue;
    problems.push(
      cliOnly.has(k)
        ? `${k} (from ${s.from}) has no effect in the config file; set it in the environment`
        : `${k} (from ${s.from}) is not a Berth setting; known settings: ${Object.keys(configKeys).join(', ')}`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(configKeys) as [ConfigKey, (typeof configKeys)[ConfigKey]][]) {
    const source = sources.get(name);
    const raw = source?.value ?? spec.default;
    if (raw === undefined) {
      values[spec.field] = undefined;
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[spec.field] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)} (from ${source?.from ?? 'default'}) is not allowed: must be ${spec.allowed}`);
  }
  if (problems.length > 0) {
    throw new BerthError('E_CONFIG_INVALID', `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
      details: { problems },
    });
  }
  return values as BerthConfig;
}
