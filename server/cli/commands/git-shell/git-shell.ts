import { BerthError, validateKeyName } from '../../../core/index.js';
import { resolveSettings } from '../../lib/settings.js';
import { openStream, relay } from '../../lib/stream.js';
import { parseSshCommand } from './parse.js';

/** How git-shell runs a Berth command: the CLI's own `run` (given by program.ts), and which commands may run over SSH. */
export interface ShellRunner {
  run(argv: string[]): Promise<{ status: number }>;
  runsOverSsh(name: string): boolean;
}

/** GIT_PROTOCOL as git sets it (`version=2`); passed on only when sshd accepted it (AcceptEnv). */
const protocolValue = /^[a-z0-9-]+(=[a-z0-9.-]+)?(:[a-z0-9-]+(=[a-z0-9.-]+)?)*$/;

/**
 * `git-shell KEY`: a git service is relayed to the daemon, which runs it on the app's
 * repository (nothing here touches a repository: the SSH user cannot); a Berth command runs
 * as the CLI would, against the API in `--api-config`. The exit status is git's or the command's.
 */
export async function gitShell(key: string, o: { apiConfig: string }, runner: ShellRunner): Promise<void> {
  validateKeyName(key);
  // Only the file Berth wrote for this user says where the API is: never a variable the client could send.
  process.env.BERTH_CLI_CONFIG = o.apiConfig;
  delete process.env.BERTH_API_URL;
  delete process.env.BERTH_TOKEN;
  const original = process.env.SSH_ORIGINAL_COMMAND ?? '';
  let command;
  try {
    command = parseSshCommand(original, runner.runsOverSsh);
  } catch (err) {
    if (original.trim() === '') process.stderr.write(`Hi ${key}! You are authenticated to Berth, which gives no shell.\n`);
    throw err;
  }
  if (command.kind === 'berth') {
    process.exitCode = (await runner.run(command.argv)).status;
    return;
  }
  const protocol = process.env.GIT_PROTOCOL;
  const query = new URLSearchParams({ key, ...(protocol && protocolValue.test(protocol) ? { protocol } : {}) });
  const socket = await openStream(resolveSettings(), `/v1/ssh/${encodeURIComponent(command.app)}/${command.service}?${query}`);
  const result = await relay(socket, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, tty: false });
  if (result.kind === 'exit') {
    process.exitCode = result.status.exitCode;
    return;
  }
  throw new BerthError('E_CLI_BAD_RESPONSE', `the daemon ended ${command.service} of ${command.app} without its exit status`);
}
