/**
 * Where the CLI finds the API: BERTH_API_URL and BERTH_TOKEN, else a cli.json file
 * (BERTH_CLI_CONFIG, ~/.config/berth/cli.json, then BERTH_HOME/cli.json, which the
 * daemon writes on the server with mode 0600).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../core/index.js';

export interface CliSettings {
  url: string;
  token: string;
  /** Where the settings came from, for messages. */
  source: string;
}

/** What is wrong with a cli.json's content (checked by hand: zod would add ~70 ms to every command). */
function problems(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['(top) must be an object'];
  const { url, token } = v as { url?: unknown; token?: unknown };
  const out: string[] = [];
  if (typeof url !== 'string' || !URL.canParse(url)) out.push('url must be a URL');
  if (typeof token !== 'string' || token === '') out.push('token must be a non-empty string');
  return out;
}

export function candidateFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.BERTH_CLI_CONFIG) return [env.BERTH_CLI_CONFIG];
  return [join(env.HOME ?? homedir(), '.config', 'berth', 'cli.json'), join(env.BERTH_HOME ?? '/var/lib/berth', 'cli.json')];
}

function readSettingsFile(path: string): { url: string; token: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new BerthError('E_CLI_NOT_CONFIGURED', `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const wrong = problems(parsed);
  if (wrong.length > 0) throw new BerthError('E_CLI_NOT_CONFIGURED', `${path} must hold {"url": "http://host:port", "token": "…"}: ${wrong.join('; ')}`);
  return parsed as { url: string; token: string };
}

export function resolveSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  let fromFile: (ReturnType<typeof readSettingsFile> & { path: string }) | undefined;
  const files = candidateFiles(env);
  if (!(env.BERTH_API_URL && env.BERTH_TOKEN)) {
    for (const path of files) {
      const s = readSettingsFile(path);
      if (s) {
        fromFile = { ...s, path };
        break;
      }
    }
  }
  const url = env.BERTH_API_URL ?? fromFile?.url;
  const token = env.BERTH_TOKEN ?? fromFile?.token;
  if (!url || !token) {
    throw new BerthError(
      'E_CLI_NOT_CONFIGURED',
      `no Berth API ${url ? 'token' : 'URL'} configured (looked at BERTH_API_URL, BERTH_TOKEN and ${files.join(', ')})`,
    );
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new BerthError('E_CLI_NOT_CONFIGURED', `the Berth API URL ${JSON.stringify(url)} is not an http(s) URL`);
  }
  const source = env.BERTH_API_URL && env.BERTH_TOKEN ? 'environment' : (fromFile?.path ?? 'environment');
  return { url: url.replace(/\/+$/, ''), token, source };
}
