/**
 * The `berth` program: every topic's declarations registered on one commander program
 * (names, arguments, options, help; no command's code is loaded until it runs), and `run`,
 * which parses argv, runs the command and says how it ended.
 */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { appsCommands } from './commands/apps/index.js';
import { builderCommands } from './commands/builder/index.js';
import { buildpacksCommands } from './commands/buildpacks/index.js';
import { containerCommands } from './commands/container/index.js';
import { gitCommands } from './commands/git/index.js';
import { imageCommands } from './commands/image/index.js';
import { repoCommands } from './commands/repo/index.js';
import { systemCommands } from './commands/system/index.js';
import { buildsCommands } from './commands/builds/index.js';
import { gitHookCommands } from './commands/git-hook/index.js';
import type { CommandDeclaration } from './lib/command.js';
import { versionLine } from './lib/version.js';

/** Exit status for usage errors (unknown command or flag, bad flag value), as in BSD sysexits' spirit and Dokku. */
export const USAGE_EXIT = 2;

const declarations: readonly CommandDeclaration[] = [
  ...systemCommands,
  ...imageCommands,
  ...containerCommands,
  ...appsCommands,
  ...buildpacksCommands,
  ...builderCommands,
  ...gitCommands,
  ...repoCommands,
  ...buildsCommands,
  ...gitHookCommands,
];

/** Errors commander has already printed (usage errors); others thrown by an action are printed by `run`. */
const printed = new WeakSet<Error>();

export function buildProgram(): Command {
  const program = new Command('berth')
    .description('Berth: a self-hosted, git-push PaaS')
    .version(versionLine, '-v, --version', 'print the version of berth and of the Node it runs on')
    .showHelpAfterError('(run `berth --help` for usage)')
    // `container:run IMAGE sh -c …`: options after the image belong to the command.
    .enablePositionalOptions()
    .exitOverride((err) => {
      printed.add(err);
      throw err;
    });
  for (const { command, usageExit, hidden } of declarations) {
    command.exitOverride((err) => {
      printed.add(err);
      if (err.exitCode === 0 || usageExit === undefined) throw err;
      const mapped = new CommanderError(usageExit, err.code, err.message);
      printed.add(mapped);
      throw mapped;
    });
    program.addCommand(command.showHelpAfterError(`(run \`berth ${command.name()} --help\` for usage)`), { hidden: hidden === true });
  }
  return program;
}

export interface Outcome {
  /** The exit status. */
  status: number;
  /** The command that ran is long-running: the process ends by itself, not at once. */
  longRunning: boolean;
}

/** Run the CLI on `argv` (without node and the script); resolves with how it ended. */
export async function run(argv: string[]): Promise<Outcome> {
  const program = buildProgram();
  let ran: Command | undefined;
  program.hook('preAction', (_program, actionCommand) => {
    ran = actionCommand as Command;
  });
  const longRunning = (): boolean => declarations.some((d) => d.command === ran && d.longRunning === true);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { status: typeof process.exitCode === 'number' ? process.exitCode : 0, longRunning: longRunning() };
  } catch (err) {
    if (err instanceof CommanderError && printed.has(err)) {
      // Help and --version "fail" with exit code 0; run and exec say 125 as Docker's do; the others a usage error.
      const docker = declarations.some((d) => d.usageExit === err.exitCode);
      return { status: err.exitCode === 0 ? 0 : docker ? err.exitCode : USAGE_EXIT, longRunning: false };
    }
    if (err instanceof CommanderError) {
      // A flag value checked in the action (commit -c): a usage error commander did not print.
      process.stderr.write(`error: ${err.message}\n`);
      return { status: USAGE_EXIT, longRunning: false };
    }
    const { renderError, toBerthError } = await import('../core/index.js');
    process.stderr.write(`${renderError(toBerthError(err))}\n`);
    return { status: 1, longRunning: false };
  }
}

/** Run the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  return (await run(argv)).status;
}
