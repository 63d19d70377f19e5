/**
 * The pre-receive hook (docs/git.md, "The hook"). git gives it one `<old> <new> <ref>` line per
 * updated ref on stdin; for each pushed branch it posts `{commit, ref, old, quarantine}` to
 * `POST /v1/apps/$BERTH_APP/deploys` and writes every line of the answer to stderr as it
 * arrives (git shows them to the pusher as `remote: …`). The daemon decides whether the branch
 * deploys; a deploy that fails, or a push the daemon refuses, ends the hook with status 1, so
 * git rejects the whole push. Deleted refs and tags deploy nothing.
 *
 * Which app, and where the daemon is: from the repository the hook runs in, an app's
 * `BERTH_HOME/apps/<app>/repo.git` (docs/apps.md, "On disk"): the app is its directory's name,
 * and the daemon's URL and token are in `BERTH_HOME/cli.json`, which the daemon rewrites at
 * every start. git over HTTP needs this: node-git-server spawns git with the daemon's
 * environment and nothing per request (server/git/http.ts). A git run that names all three
 * of BERTH_APP, BERTH_API_URL and BERTH_TOKEN in its environment (as git over SSH does) is
 * taken at its word instead.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { DeployProgress, DeployResultView } from '../../../api/index.js';
import { BerthError, renderError, toBerthError } from '../../../core/index.js';
import { apiStream } from '../../lib/client.js';
import { readResult } from '../../lib/ndjson.js';
import { resolveSettings, type CliSettings } from '../../lib/settings.js';

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

/**
 * The app and the daemon's settings file of the repository at `gitDir` (`BERTH_HOME/apps/<app>/repo.git`),
 * or undefined when it is not laid out so.
 */
export function repoContext(gitDir: string): { app: string; cliConfig: string } | undefined {
  let repo: string;
  try {
    repo = realpathSync(gitDir);
  } catch {
    return undefined;
  }
  const appDir = dirname(repo);
  const appsDir = dirname(appDir);
  if (basename(repo) !== 'repo.git' || basename(appsDir) !== 'apps') return undefined;
  return { app: basename(appDir), cliConfig: join(dirname(appsDir), 'cli.json') };
}

/** Which app the push is to, and how to reach the daemon (see the top of this file). */
export function hookContext(env: NodeJS.ProcessEnv, cwd: string): { app: string; settings: CliSettings } {
  if (env.BERTH_APP && env.BERTH_API_URL && env.BERTH_TOKEN) return { app: env.BERTH_APP, settings: resolveSettings(env) };
  // git runs a bare repository's hooks in it, with GIT_DIR set (to '.').
  const gitDir = resolve(cwd, env.GIT_DIR ?? '.');
  const context = repoContext(gitDir);
  if (context === undefined) {
    throw new BerthError('E_CLI_USAGE', `the pre-receive hook runs in ${gitDir}, which is not an app's repository (BERTH_HOME/apps/<app>/repo.git)`, {
      hint: "Berth's hook runs under git pushed through Berth (HTTP or SSH); it is not meant to be run by hand.",
    });
  }
  return { app: context.app, settings: resolveSettings({ BERTH_CLI_CONFIG: context.cliConfig }) };
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
  const { app, settings } = hookContext(process.env, process.cwd());
  for (const { old, commit, ref } of parseUpdates(await readStdin())) {
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
      const res = await apiStream(settings, 'POST', `/v1/apps/${app}/deploys`, { commit, ref, old, ...(quarantine ? { quarantine } : {}) });
      await readResult<DeployProgress, string, DeployResultView>(res, `the deploy of ${commit.slice(0, 7)} to app ${app}`, { line: say });
    } catch (err) {
      say(renderError(toBerthError(err)));
      process.exitCode = 1;
      return;
    }
  }
}
