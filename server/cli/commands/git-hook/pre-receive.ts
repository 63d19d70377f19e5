/**
 * The pre-receive hook (docs/git.md, "The hook"). git gives it one `<old> <new> <ref>` line per
 * updated ref on stdin; for each pushed branch it posts `{commit, ref, quarantine}` to
 * `POST /v1/apps/$BERTH_APP/deploys` and writes every line of the answer to stderr as it
 * arrives (git shows them to the pusher as `remote: …`). The daemon decides whether the branch
 * deploys; a deploy that fails, or a push the daemon refuses, ends the hook with status 1, so
 * git rejects the whole push. Deleted refs and tags deploy nothing.
 *
 * Where the daemon is: BERTH_API_URL and BERTH_TOKEN, which the daemon sets for the git it
 * runs (git over HTTP), else the CLI's settings file (cli/lib/settings.ts).
 */
import type { DeployProgress, DeployResultView } from '../../../api/index.js';
import { BerthError, renderError, toBerthError } from '../../../core/index.js';
import { apiStream } from '../../lib/client.js';
import { readResult } from '../../lib/ndjson.js';
import { resolveSettings } from '../../lib/settings.js';

const zero = /^0{40}$/;

/** The hook's input: one `<old> <new> <ref>` per line. */
export function parseUpdates(text: string): { old: string; commit: string; ref: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [old = '', commit = '', ref = ''] = line.trim().split(/\s+/);
      if (!/^[0-9a-f]{40}$/.test(old) || !/^[0-9a-f]{40}$/.test(commit) || ref === '') {
        throw new BerthError('E_CLI_USAGE', `the pre-receive hook read ${JSON.stringify(line)}, not "<old> <new> <ref>" from git`);
      }
      return { old, commit, ref };
    });
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** A line for the pusher (git prefixes it with `remote: `). A pusher gone away is no error: the deploy goes on. */
function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

export async function gitHook(hook: string): Promise<void> {
  if (hook !== 'pre-receive') throw new BerthError('E_CLI_USAGE', `unknown git hook ${JSON.stringify(hook)}: Berth installs only pre-receive`);
  process.stderr.on('error', () => undefined);
  const app = process.env.BERTH_APP;
  if (!app) {
    throw new BerthError('E_CLI_USAGE', 'BERTH_APP is not set: this hook runs under git pushed through Berth (HTTP or SSH), which names the app');
  }
  const settings = resolveSettings();
  for (const { commit, ref } of parseUpdates(await readStdin())) {
    if (zero.test(commit)) {
      say(`${ref} deleted: no deploy.`);
      continue;
    }
    if (!ref.startsWith('refs/heads/')) {
      say(`${ref} is not a branch: no deploy.`);
      continue;
    }
    const quarantine = process.env.GIT_QUARANTINE_PATH;
    try {
      const res = await apiStream(settings, 'POST', `/v1/apps/${app}/deploys`, { commit, ref, ...(quarantine ? { quarantine } : {}) });
      await readResult<DeployProgress, string, DeployResultView>(res, `the deploy of ${commit.slice(0, 7)} to app ${app}`, { line: say });
    } catch (err) {
      say(renderError(toBerthError(err)));
      process.exitCode = 1;
      return;
    }
  }
}
