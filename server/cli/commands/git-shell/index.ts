/**
 * `berth git-shell KEY-NAME`, hidden: sshd runs it as the SSH user for every connection of
 * a key Berth installed (the forced command of its authorized_keys line), with what the
 * client asked for in SSH_ORIGINAL_COMMAND (docs/ssh.md). The declaration only; its
 * runner (the program's own `run`) comes from program.ts, which keeps the import one-way.
 */
import { Command } from '@commander-js/extra-typings';
import type { CommandDeclaration } from '../../lib/command.js';
import type { ShellRunner } from './git-shell.js';

export function gitShellCommands(runner: ShellRunner): CommandDeclaration[] {
  const gitShell = new Command('git-shell')
    .description(
      "run what an SSH client asked for (SSH_ORIGINAL_COMMAND): a git push or fetch of an app, or a berth command; sshd runs it, as the key's forced command",
    )
    .argument('<key-name>', 'the SSH key the client authenticated with')
    .requiredOption('--api-config <file>', 'the API settings of the SSH user (BERTH_HOME/ssh/cli.json)')
    .action(async (key, o) => (await import('./git-shell.js')).gitShell(key, o, runner));
  return [{ command: gitShell, hidden: true, local: true }];
}
