import { readFile } from 'node:fs/promises';
import type { SshKeyView } from '../../../api/index.js';
import { BerthError } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { table, timeAgo } from '../../lib/format.js';
import { resolveSettings } from '../../lib/settings.js';

/** The most bytes read as a key: the daemon refuses more anyway (E_GIT_SSH_KEY_INVALID). */
const MAX_READ = 64 * 1024;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new BerthError('E_CLI_USAGE', 'ssh-keys:add reads the key from stdin, which is a terminal', {
      hint: 'Give the file (berth ssh-keys:add NAME ~/.ssh/id_ed25519.pub) or pipe it (… | berth ssh-keys:add NAME -).',
    });
  }
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > MAX_READ) break;
  }
  return text;
}

async function keyText(file: string | undefined): Promise<string> {
  if (file === undefined || file === '-') return readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new BerthError('E_CLI_USAGE', `cannot read the key file ${file}: ${(cause as Error).message}`, { cause });
  }
}

const describe = (k: SshKeyView) => `${k.fingerprint} (${k.type}, ${k.bits} bits${k.comment ? `, ${k.comment}` : ''})`;

/** `ssh-keys:add NAME [FILE|-]`. */
export async function add(name: string, file: string | undefined): Promise<void> {
  const key = await apiRequest<SshKeyView>(resolveSettings(), 'POST', '/v1/ssh-keys', { name, key: await keyText(file) });
  process.stdout.write(`Added SSH key ${key.name}: ${describe(key)}\n`);
}

/** `ssh-keys:list`: NAME, TYPE, FINGERPRINT, ADDED; `--format json` the API's answer. */
export async function list(o: { format: 'text' | 'json' }): Promise<void> {
  const keys = await apiRequest<SshKeyView[]>(resolveSettings(), 'GET', '/v1/ssh-keys');
  if (o.format === 'json') {
    process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${table([['NAME', 'TYPE', 'FINGERPRINT', 'ADDED'], ...keys.map((k) => [k.name, k.type, k.fingerprint, timeAgo(k.addedAt)])])}\n`);
}

/** `ssh-keys:remove NAME`. */
export async function remove(name: string): Promise<void> {
  const key = await apiRequest<SshKeyView>(resolveSettings(), 'DELETE', `/v1/ssh-keys/${encodeURIComponent(name)}`);
  process.stdout.write(`Removed SSH key ${key.name}: ${key.fingerprint}\n`);
}
