/**
 * What git-shell makes of SSH_ORIGINAL_COMMAND: words split as a shell splits them but with
 * nothing expanded, git's two services with every path form git sends, the Berth commands
 * that run over SSH, and a clear refusal for anything else.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { appOfPath, parseSshCommand, splitWords } from '../../../server/cli/commands/git-shell/parse.js';
import { buildProgram } from '../../../server/cli/program.js';

test('words: whitespace splits, quotes group, backslashes escape, nothing is expanded', (t) => {
  t.deepEqual(splitWords("git-receive-pack '/hello.git'"), ['git-receive-pack', '/hello.git']);
  t.deepEqual(splitWords('  config:set  hello "A=b c" \'D=$HOME\'\tE=\\"x\\" '), ['config:set', 'hello', 'A=b c', 'D=$HOME', 'E="x"']);
  t.deepEqual(splitWords('a"b"\'c\'d'), ['abcd']);
  t.deepEqual(splitWords('"a\\"b\\\\c\\d"'), ['a"b\\c\\d']);
  t.deepEqual(splitWords('echo $(id);rm -rf / `x` | y'), ['echo', '$(id);rm', '-rf', '/', '`x`', '|', 'y']);
  t.deepEqual(splitWords("''"), ['']);
  t.deepEqual(splitWords(''), []);
  for (const bad of ["'open", '"open', 'end\\']) {
    const err = t.throws(() => splitWords(bad), { instanceOf: BerthError });
    t.is(err?.code, 'E_GIT_SSH_COMMAND_REFUSED');
  }
});

test('git paths: with or without a leading / or ~/, .git and a trailing slash, all name the app', (t) => {
  for (const path of ['hello', '/hello', '~/hello', 'hello.git', '/hello.git', '/hello.git/', '~/hello.git']) t.is(appOfPath(path), 'hello', path);
  for (const path of ['/Hello', '../hello', '/a/b', '', '/.git', 'hello world']) {
    const err = t.throws(() => appOfPath(path), { instanceOf: BerthError }, path);
    t.is(err?.code, 'E_GIT_SSH_COMMAND_REFUSED', path);
    t.regex(err?.message ?? '', /does not name an app: invalid app name/, path);
  }
});

const overSsh = (name: string) => ['apps:list', 'help', 'status', 'container:ps'].includes(name);

test("git's services and Berth commands are recognised; everything else is refused saying why", (t) => {
  t.deepEqual(parseSshCommand("git-receive-pack '/hello.git'", overSsh), { kind: 'git', service: 'git-receive-pack', app: 'hello' });
  t.deepEqual(parseSshCommand("git-upload-pack 'hello'", overSsh), { kind: 'git', service: 'git-upload-pack', app: 'hello' });
  t.deepEqual(parseSshCommand('apps:list --format json', overSsh), { kind: 'berth', argv: ['apps:list', '--format', 'json'] });
  const refused: [string, RegExp][] = [
    ['', /no command was given, and Berth gives no shell/],
    ['   ', /no command was given/],
    ['sh', /"sh" is not a Berth command that runs over SSH, and Berth gives no shell/],
    ['bash -c id', /"bash" is not a Berth command/],
    ['/bin/sh', /"\/bin\/sh" is not a Berth command/],
    ['daemon', /"daemon" is not a Berth command/],
    ["git-upload-archive '/hello'", /git-upload-archive is not run over SSH/],
    ['git receive-pack hello', /git is not run over SSH/],
    ["git-receive-pack '/hello' extra", /takes one repository path, not 2/],
    ['git-receive-pack', /takes one repository path, not 0/],
    ["git-receive-pack '/etc/passwd'", /does not name an app/],
    ['apps:list; sh', /"apps:list;" is not a Berth command/],
    ["scp -t '/x'", /"scp" is not a Berth command/],
  ];
  for (const [command, message] of refused) {
    const err = t.throws(() => parseSshCommand(command, overSsh), { instanceOf: BerthError }, command);
    t.is(err?.code, 'E_GIT_SSH_COMMAND_REFUSED', command);
    t.regex(err?.message ?? '', message, command);
  }
});

test('over SSH: the commands berth --help lists, never the daemon or a hidden command', async (t) => {
  // The program's own rule, through a git-shell run whose command is refused or accepted.
  const program = buildProgram();
  const listed = program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map((c) => c.name());
  t.true(listed.includes('daemon') && listed.includes('ssh-keys:list'));
  t.false(listed.includes('git-shell'), 'git-shell is hidden');
  t.false(listed.includes('git-hook'), 'git-hook is hidden');
  const { run } = await import('../../../server/cli/program.js');
  const write = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = ((chunk: string) => ((said += chunk), true)) as typeof process.stderr.write;
  const saved = { ...process.env };
  try {
    for (const command of ['daemon', 'git-shell x', 'git-hook pre-receive', 'sh -i']) {
      said = '';
      process.env.SSH_ORIGINAL_COMMAND = command;
      t.deepEqual(await run(['git-shell', '--api-config', '/nonexistent/cli.json', 'laptop']), { status: 1, longRunning: false }, command);
      t.regex(said, /is not (a Berth command that runs over SSH|run over SSH)/, command);
    }
  } finally {
    process.stderr.write = write;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
