/** What pull, push and base share: registry credentials from stdin, and the streamed answer read. */
import type { ProgressEvent } from '../../../api/index.js';
import { BerthError } from '../../../core/index.js';
import { apiFetch } from '../../lib/client.js';
import { readResult } from '../../lib/ndjson.js';
import { resolveSettings } from '../../lib/settings.js';
import { progressPrinter } from './render.js';

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += String(chunk);
  return s.replace(/\r?\n$/, '');
}

export interface CredentialFlags {
  username?: string;
  passwordStdin?: true;
}

/** `-u USER --password-stdin`: both or neither; the password never on the command line (Docker's rule). */
export async function credentials(o: CredentialFlags): Promise<{ credentials?: { username: string; password: string } }> {
  if (o.username === undefined) {
    if (o.passwordStdin) throw new BerthError('E_CLI_USAGE', '--password-stdin needs --username');
    return {};
  }
  if (!o.passwordStdin) throw new BerthError('E_CLI_USAGE', '--username needs --password-stdin (the password is read from stdin, never from the command line)');
  return { credentials: { username: o.username, password: await readStdin() } };
}

/** POST `body` to a streamed route: print its progress and output lines, return its result. */
export async function transfer<Result>(path: string, body: unknown): Promise<Result> {
  const res = await apiFetch(resolveSettings(), 'POST', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return readResult<ProgressEvent, string, Result>(res.body as AsyncIterable<Uint8Array> | null, `POST ${path}`, {
    progress: progressPrinter(),
    line: (text) => void process.stdout.write(`${text}\n`),
  });
}
