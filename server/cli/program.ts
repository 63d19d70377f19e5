import { Command, CommanderError } from '@commander-js/extra-typings';
import { renderError, toBerthError } from '../core/index.js';
import { BERTH_FAILED_EXIT, containerCommands, dockerStatusCommands, dockerUsage } from './commands/containers.js';
import { daemonCommand } from './commands/daemon.js';
import { imageCommands } from './commands/images.js';
import { statusCommand } from './commands/status.js';
import { versionCommand, versionLine } from './commands/version.js';

/** Exit status for usage errors (unknown command or flag, bad flag value), as in BSD sysexits' spirit and Dokku. */
export const USAGE_EXIT = 2;

export function buildProgram(): Command {
  const program = new Command('berth')
    .description('Berth: a self-hosted, git-push PaaS')
    .version(versionLine, '-v, --version', 'print the version of berth and of the Node it runs on')
    .showHelpAfterError('(run `berth --help` for usage)')
    // `container:run IMAGE sh -c …`: options after the image belong to the command.
    .enablePositionalOptions()
    .exitOverride();
  for (const command of [statusCommand, versionCommand, daemonCommand, ...imageCommands, ...containerCommands]) {
    const overridden = dockerStatusCommands.has(command) ? dockerUsage(command) : command.exitOverride();
    program.addCommand(overridden.showHelpAfterError(`(run \`berth ${command.name()} --help\` for usage)`));
  }
  return program;
}

/** Run the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; every other commander error is a usage error.
      // container:run and container:exec say 125 as Docker's do; the others a usage error.
      return err.exitCode === 0 ? 0 : err.exitCode === BERTH_FAILED_EXIT ? BERTH_FAILED_EXIT : USAGE_EXIT;
    }
    process.stderr.write(`${renderError(toBerthError(err))}\n`);
    return 1;
  }
}
