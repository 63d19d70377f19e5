/**
 * `berth apps:*`, `buildpacks:*`, `builder:set`, `git:set` and `repo:purge-cache` through
 * the real daemon (the built CLI, as scripts/up runs it) in a fresh BERTH_HOME: what each
 * prints, what lands on disk, and the errors bad names, bad values and unknown apps get.
 * `apps:destroy` asks for the name again under a real pseudo-terminal (python3's pty).
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath, runCli, startTestDaemon, type CliResult } from '../helpers/start-daemon.js';
import { underPty } from '../helpers/pty.js';

interface Cli {
  home: string;
  env: NodeJS.ProcessEnv;
  cli: (...args: string[]) => Promise<CliResult>;
  /** Run the CLI and require exit 0; its stdout. */
  ok: (...args: string[]) => Promise<string>;
  /** Run the CLI and require exit 1 with `code` in the rendered error; its stderr. */
  fails: (code: string, ...args: string[]) => Promise<string>;
}

async function daemon(t: ExecutionContext): Promise<Cli> {
  t.timeout(3 * 60_000);
  const d = await startTestDaemon(t);
  const cli = (...args: string[]) => runCli(args, d.env);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    t.is(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = async (code: string, ...args: string[]) => {
    const r = await cli(...args);
    t.is(r.code, 1, `berth ${args.join(' ')} exits 1: ${r.stdout}${r.stderr}`);
    t.true(r.stderr.includes(`[${code}]`), `berth ${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /^ ! {5}/m, 'rendered as Dokku renders failures');
    return r.stderr;
  };
  return { home: d.home, env: d.env, cli, ok, fails };
}

interface AppJson {
  name: string;
  createdAt: string;
  buildpacks: string[];
  builder?: string;
  deployBranch?: string;
  userns: { hostId: number; size: number };
  paths: { dir: string; repo: string; cache: string };
}

test('apps:create, list, info (text and json), rename and destroy --force, with what lands on disk', async (t) => {
  const d = await daemon(t);
  t.is(await d.ok('apps:create', 'hello'), '-----> Creating hello...\n       done\n');
  await d.ok('apps:create', 'world');
  const repo = join(d.home, 'apps', 'hello', 'repo.git');
  t.true((await stat(join(repo, 'HEAD'))).isFile(), 'a bare repository');
  t.true((await stat(join(d.home, 'apps', 'hello', 'cache'))).isDirectory());

  t.is(await d.ok('apps:list'), '=====> My Apps\nhello\nworld\n');
  const listed = JSON.parse(await d.ok('apps:list', '--format', 'json')) as AppJson[];
  t.deepEqual(
    listed.map((a) => a.name),
    ['hello', 'world'],
  );
  t.not(listed[0]!.userns.hostId, listed[1]!.userns.hostId, 'each app its own user-namespace range');

  const info = JSON.parse(await d.ok('apps:info', 'hello', '--format', 'json')) as AppJson;
  t.is(info.name, 'hello');
  t.is(info.paths.repo, repo);
  t.deepEqual(info.buildpacks, []);
  t.is(info.userns.size, 65_536);
  const text = await d.ok('apps:info', 'hello');
  t.regex(text, /^=====> hello app information$/m);
  t.regex(text, new RegExp(`^ {7}Repo dir: +${repo.replaceAll('/', '\\/')}$`, 'm'));
  t.regex(text, /^ {7}Deploy branch: +main, else master \(default\)$/m);
  t.regex(text, new RegExp(`^ {7}User namespace: +host ids ${info.userns.hostId}-${info.userns.hostId + 65_535}$`, 'm'));

  t.is(await d.ok('apps:rename', 'hello', 'greeting'), '-----> Renamed hello to greeting\n');
  t.false(existsSync(join(d.home, 'apps', 'hello')));
  const renamed = JSON.parse(await d.ok('apps:info', 'greeting', '--format', 'json')) as AppJson;
  t.deepEqual(renamed.userns, info.userns, 'the range goes with the app');
  t.is(renamed.createdAt, info.createdAt);

  t.is(await d.ok('apps:destroy', 'greeting', '--force'), '-----> Destroying greeting (including all add-ons)\n');
  t.false(existsSync(join(d.home, 'apps', 'greeting')), 'record, repo and cache are gone');
  t.is(await d.ok('apps:list'), '=====> My Apps\nworld\n');
  t.deepEqual(await readdir(join(d.home, 'apps')), ['world'], 'nothing else left in BERTH_HOME/apps');
});

test('bad names, taken names, unknown apps and an unconfirmed destroy are refused with their codes, changing nothing', async (t) => {
  const d = await daemon(t);
  const bad = await d.fails('E_NAME_INVALID', 'apps:create', 'My_App');
  t.regex(bad, /invalid app name "My_App": character 'M' at position 1 is not allowed/);
  await d.fails('E_NAME_INVALID', 'apps:create', 'ends-with-');
  await d.fails('E_NAME_INVALID', 'apps:create', 'a'.repeat(64));
  await d.fails('E_NAME_INVALID', 'apps:info', '..');
  await d.ok('apps:create', 'taken');
  t.regex(await d.fails('E_APP_EXISTS', 'apps:create', 'taken'), /app taken already exists/);
  await d.ok('apps:create', 'other');
  await d.fails('E_APP_EXISTS', 'apps:rename', 'other', 'taken');

  const missing = await d.fails('E_APP_NOT_FOUND', 'apps:destroy', 'ghost', '--force');
  t.regex(missing, /app ghost does not exist/);
  t.regex(missing, /berth apps:create ghost/, 'the hint names the command');
  await d.fails('E_APP_NOT_FOUND', 'apps:destroy', 'ghost');
  await d.fails('E_APP_NOT_FOUND', 'apps:info', 'ghost');
  await d.fails('E_APP_NOT_FOUND', 'apps:rename', 'ghost', 'spirit');
  await d.fails('E_APP_NOT_FOUND', 'buildpacks:list', 'ghost');
  await d.fails('E_APP_NOT_FOUND', 'repo:purge-cache', 'ghost');

  // stdin is a pipe here: no terminal to confirm on, so only --force destroys.
  const refused = await d.fails('E_APP_DESTROY_UNCONFIRMED', 'apps:destroy', 'taken');
  t.regex(refused, /no terminal to ask on; nothing was removed/);
  t.regex(refused, /--force/);
  t.is(await d.ok('apps:list'), '=====> My Apps\nother\ntaken\n');
  t.true(existsSync(join(d.home, 'apps', 'taken', 'repo.git')));

  const usage = await d.cli('apps:create');
  t.is(usage.code, 2, 'a missing argument is a usage error');
  t.regex(usage.stderr, /missing required argument 'app'/);
});

test('apps:destroy on a terminal asks for the name again: a wrong answer keeps the app, the right one destroys it', async (t) => {
  const d = await daemon(t);
  await d.ok('apps:create', 'doomed');
  const argv = [process.execPath, cliPath, 'apps:destroy', 'doomed'];
  const wrong = await underPty(argv, d.env, [24, 80], [{ expect: 'To proceed, type "doomed"' }, { expect: '> ' }, { send: 'doom\r' }]);
  t.is(wrong.error, null, wrong.output);
  t.is(wrong.status, 1, wrong.output);
  t.regex(wrong.output, /WARNING: Potentially Destructive Action/);
  t.regex(wrong.output, /the name typed does not match doomed; nothing was removed \[E_APP_DESTROY_UNCONFIRMED\]/);
  t.true(existsSync(join(d.home, 'apps', 'doomed')));

  const right = await underPty(argv, d.env, [24, 80], [{ expect: '> ' }, { send: 'doomed\r' }]);
  t.is(right.error, null, right.output);
  t.is(right.status, 0, right.output);
  t.regex(right.output, /-----> Destroying doomed/);
  t.false(existsSync(join(d.home, 'apps', 'doomed')));
});

test('buildpacks:*, builder:set, git:set and repo:purge-cache change the app as Dokku does, and refuse bad values', async (t) => {
  const d = await daemon(t);
  await d.ok('apps:create', 'web');
  const info = async () => JSON.parse(await d.ok('apps:info', 'web', '--format', 'json')) as AppJson;

  await d.ok('buildpacks:add', 'web', 'nodejs');
  await d.ok('buildpacks:add', 'web', 'https://example.com/bp.git#v2');
  await d.ok('buildpacks:add', '--index', '1', 'web', '/opt/buildpacks/first');
  t.is(await d.ok('buildpacks:list', 'web'), '-----> web buildpack urls\n       /opt/buildpacks/first\n       nodejs\n       https://example.com/bp.git#v2\n');
  await d.ok('buildpacks:set', 'web', 'python');
  await d.ok('buildpacks:set', '--index', '3', 'web', 'static');
  t.deepEqual((await info()).buildpacks, ['python', 'nodejs', 'static']);
  t.is(await d.ok('buildpacks:remove', 'web', 'nodejs'), '-----> Removing nodejs\n');
  t.is(await d.ok('buildpacks:remove', 'web', '--index', '2'), '-----> Removing static\n');
  t.deepEqual((await info()).buildpacks, ['python']);
  t.regex(await d.fails('E_APP_SETTING_INVALID', 'buildpacks:add', 'web', 'python'), /already in the list, at position 1/);
  t.regex(await d.fails('E_APP_SETTING_INVALID', 'buildpacks:add', 'web', 'ftp://host/bp'), /URL scheme ftp: is not one git clones/);
  t.regex(await d.fails('E_APP_SETTING_INVALID', 'buildpacks:remove', 'web', 'ruby'), /buildpack ruby is not in the list \(python\)/);
  await d.fails('E_CLI_USAGE', 'buildpacks:remove', 'web');
  const index0 = await d.cli('buildpacks:add', '--index', '0', 'web', 'x');
  t.is(index0.code, 2, index0.stderr);
  t.regex(index0.stderr, /"0" is not a position/);
  await d.ok('buildpacks:clear', 'web');
  t.is(await d.ok('buildpacks:list', 'web'), '-----> web buildpack urls\n');

  t.is(await d.ok('builder:set', 'web', 'selected', 'dockerfile'), '-----> Setting selected to dockerfile\n');
  t.is((await info()).builder, 'dockerfile');
  t.regex(await d.fails('E_APP_SETTING_INVALID', 'builder:set', 'web', 'selected', 'pack'), /invalid builder "pack": choose dockerfile or herokuish/);
  t.regex(await d.fails('E_CLI_USAGE', 'builder:set', 'web', 'chosen', 'herokuish'), /the one property is selected/);
  await d.ok('builder:set', 'web', 'selected', '');
  t.is((await info()).builder, undefined, 'an empty value clears it');

  t.is(await d.ok('git:set', 'web', 'deploy-branch', 'production'), '-----> Setting deploy-branch to production\n');
  t.is((await info()).deployBranch, 'production');
  t.regex(await d.fails('E_APP_SETTING_INVALID', 'git:set', 'web', 'deploy-branch', 'a..b'), /invalid deploy branch "a\.\.b": it contains "\.\."/);
  await d.ok('git:set', 'web', 'deploy-branch');
  t.is((await info()).deployBranch, undefined, 'no value clears it');

  const cache = (await info()).paths.cache;
  await writeFile(join(cache, 'node-v24.tar'), 'x');
  t.is(await d.ok('repo:purge-cache', 'web'), '-----> Purged the build cache of web\n');
  t.deepEqual(await readdir(cache), []);
});
