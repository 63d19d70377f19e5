/**
 * The program's shape: every topic's commands registered, a command's code loaded only
 * when it runs (checked by the modules a `--version` and a `--help` load, not by timing),
 * and how main ends the process.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { containerCommands } from '../../../server/cli/commands/container/index.js';
import { imageCommands } from '../../../server/cli/commands/image/index.js';
import { systemCommands } from '../../../server/cli/commands/system/index.js';
import { buildProgram, run } from '../../../server/cli/program.js';

const mainTs = fileURLToPath(new URL('../../../server/cli/main.ts', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** Records every module the CLI loads (file URLs), one per line on stderr, then runs main.ts. */
const recorder = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ load(url, context, next) { if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n'); return next(url, context); } });",
)}`;

function loadedBy(args: string[]): { status: number | null; stdout: string; modules: string[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', recorder, mainTs, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
  });
  const modules = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => fileURLToPath(l.slice('LOADED '.length)).replace(repo, ''));
  return { status: r.status, stdout: r.stdout, modules };
}

test("--version and --help load commander and the declarations only: no command's code, no core, zod, pino or express", (t) => {
  for (const args of [['--version'], ['--help'], ['container:run', '--help']]) {
    const { status, stdout, modules } = loadedBy(args);
    t.is(status, 0, args.join(' '));
    t.regex(stdout, /berth/, args.join(' '));
    const ours = modules.filter((m) => m.startsWith('server/'));
    t.true(ours.includes('server/cli/commands/container/index.ts'), 'the recorder sees our modules');
    const unexpected = ours.filter((m) => !/^server\/cli\/(main|program|lib\/(command|version)|commands\/[a-z][a-z-]*\/(index|options|exit))\.ts$/.test(m));
    t.deepEqual(unexpected, [], `${args.join(' ')} loads only declarations`);
    const packages = new Set(
      modules
        .filter((m) => m.startsWith('node_modules/'))
        .map((m) =>
          m
            .split('/')
            .slice(1, m.startsWith('node_modules/@') ? 3 : 2)
            .join('/'),
        ),
    );
    for (const heavy of ['zod', 'pino', 'express', 'ioredis', 'tar-stream']) t.false(packages.has(heavy), `${args.join(' ')} does not load ${heavy}`);
  }
});

test('every command of every topic is registered, once, with its help', (t) => {
  const names = buildProgram().commands.map((c) => c.name());
  for (const name of [
    'status',
    'version',
    'daemon',
    'images',
    'image:pull',
    'image:export',
    'image:build',
    'builder:prune',
    'container:run',
    'container:exec',
    'container:stats',
    'apps:create',
    'apps:destroy',
    'apps:info',
    'buildpacks:add',
    'buildpacks:remove',
    'builder:set',
    'git:set',
    'repo:purge-cache',
    'ssh-keys:add',
    'ssh-keys:list',
    'ssh-keys:remove',
    'git-shell',
    'builds:list',
    'builds:output',
    'git-hook',
  ])
    t.true(names.includes(name), name);
  t.is(new Set(names).size, names.length, 'no command twice');
  t.is(names.length, 49);
  for (const c of buildProgram().commands) t.not(c.description(), '', `${c.name()} has a description`);
});

test('the commands git hooks run are left out of --help', (t) => {
  const help = buildProgram().helpInformation();
  t.regex(help, /builds:list/);
  t.notRegex(help, /git-hook/);
});

test("usage errors: 2, or Docker's 125 for run and exec; only the daemon is long-running", async (t) => {
  const write = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = ((chunk: string) => ((said += chunk), true)) as typeof process.stderr.write;
  try {
    t.deepEqual(await run(['container:ls', '--bogus']), { status: 2, longRunning: false });
    t.deepEqual(await run(['container:exec', '--bogus', 'c', 'ls']), { status: 125, longRunning: false });
    t.deepEqual(await run(['nosuch']), { status: 2, longRunning: false });
    // A flag value checked in the action (commit -c) is printed, not swallowed.
    said = '';
    const settings = { BERTH_API_URL: 'http://127.0.0.1:1', BERTH_TOKEN: 't' };
    const saved = { ...process.env };
    Object.assign(process.env, settings);
    try {
      t.deepEqual(await run(['container:commit', '-c', 'VOLUME /x', 'c']), { status: 2, longRunning: false });
    } finally {
      for (const k of Object.keys(settings)) if (saved[k] === undefined) delete process.env[k];
    }
    t.regex(said, /VOLUME cannot be changed by commit/);
  } finally {
    process.stderr.write = write;
  }
  const longRunning = [...systemCommands, ...imageCommands, ...containerCommands].filter((d) => d.longRunning).map((d) => d.command.name());
  t.deepEqual(longRunning, ['daemon']);
});
