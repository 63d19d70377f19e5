/**
 * `berth ssh-keys:*`: the public keys that may push and run Berth commands over SSH, with
 * Dokku's names (docs/ssh.md). The declarations only: each action loads its command's file
 * when it runs (lib/command.ts).
 */
import { Command } from '@commander-js/extra-typings';
import { formatOption, type CommandDeclaration } from '../../lib/command.js';

const add = new Command('ssh-keys:add')
  .description('allow a public key to push over SSH and run berth commands as `ssh berth@HOST COMMAND`')
  .argument('<name>', 'a name for the key: letters, digits, "_", ".", "@" and "-"')
  .argument('[file]', 'the public key file (such as ~/.ssh/id_ed25519.pub); - or none: read it from stdin')
  .action(async (name, file) => (await import('./keys.js')).add(name, file));

const list = new Command('ssh-keys:list')
  .description('list the SSH keys: name, type and fingerprint')
  .addOption(formatOption())
  .action(async (o) => (await import('./keys.js')).list(o));

const remove = new Command('ssh-keys:remove')
  .description('remove an SSH key: it can no longer push or run commands')
  .argument('<name>')
  .action(async (name) => (await import('./keys.js')).remove(name));

export const sshKeysCommands: CommandDeclaration[] = [{ command: add }, { command: list }, { command: remove }];
