/**
 * How the pre-receive hook finds its app and the daemon: from the repository it runs in
 * (BERTH_HOME/apps/<app>/repo.git and BERTH_HOME/cli.json), since node-git-server gives the git
 * it spawns no per-request environment; or from BERTH_APP, BERTH_API_URL and BERTH_TOKEN when a
 * git run names all three.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { hookContext, repoContext } from '../../../server/cli/commands/git-hook/pre-receive.js';
import { BerthError } from '../../../server/core/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function berthHome(t: Parameters<typeof tempDir>[0]): Promise<{ home: string; repo: string }> {
  const home = join(await tempDir(t, 'berth-hook-'), 'home');
  const repo = join(home, 'apps', 'hello', 'repo.git');
  await mkdir(repo, { recursive: true });
  await writeFile(join(home, 'cli.json'), JSON.stringify({ url: 'http://127.0.0.1:7071', token: 'from-the-file' }));
  return { home, repo };
}

test("an app's repository names the app and the daemon's cli.json beside apps/", async (t) => {
  const { home, repo } = await berthHome(t);
  t.deepEqual(repoContext(repo), { app: 'hello', cliConfig: join(home, 'cli.json') });
  // Through a link, the real path counts.
  const link = join(home, '..', 'link.git');
  await symlink(repo, link);
  t.deepEqual(repoContext(link), { app: 'hello', cliConfig: join(home, 'cli.json') });
});

test('a repository laid out otherwise, or missing, has no context', async (t) => {
  const { home } = await berthHome(t);
  const other = join(home, 'elsewhere', 'hello', 'repo.git');
  await mkdir(other, { recursive: true });
  t.is(repoContext(other), undefined);
  t.is(repoContext(join(home, 'apps', 'hello')), undefined);
  t.is(repoContext(join(home, 'apps', 'missing', 'repo.git')), undefined);
});

test('git runs the hook in the bare repository with GIT_DIR=.: the file gives the URL and token, the environment is not read', async (t) => {
  const { repo } = await berthHome(t);
  const context = hookContext({ GIT_DIR: '.', BERTH_API_URL: 'http://elsewhere:1', HOME: '/nonexistent' }, repo);
  t.is(context.app, 'hello');
  t.is(context.settings.url, 'http://127.0.0.1:7071');
  t.is(context.settings.token, 'from-the-file');
  t.is(hookContext({}, repo).app, 'hello', 'GIT_DIR unset: the working directory');
  t.is(hookContext({ GIT_DIR: repo }, '/').app, 'hello', 'an absolute GIT_DIR');
  t.is(hookContext({ BERTH_APP: 'other' }, repo).app, 'hello', 'BERTH_APP alone does not override the repository');
});

test('a git run that names the app, the URL and the token is taken at its word', async (t) => {
  const { repo } = await berthHome(t);
  const context = hookContext({ BERTH_APP: 'other', BERTH_API_URL: 'http://127.0.0.1:9', BERTH_TOKEN: 'env' }, repo);
  t.is(context.app, 'other');
  t.deepEqual([context.settings.url, context.settings.token], ['http://127.0.0.1:9', 'env']);
});

test("outside an app's repository the hook refuses, saying where it runs", async (t) => {
  const dir = await tempDir(t, 'berth-hook-');
  const err = t.throws(() => hookContext({ GIT_DIR: '.' }, dir), { instanceOf: BerthError });
  t.is(err?.code, 'E_CLI_USAGE');
  t.true(err?.message.includes(dir), err?.message);
  t.regex(err?.message ?? '', /BERTH_HOME\/apps\/<app>\/repo\.git/);
});
