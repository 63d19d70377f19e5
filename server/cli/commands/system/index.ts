/**
 * `berth status`, `berth version`, `berth daemon`: the daemon itself. The declarations
 * only: each action loads its command's file when it runs (lib/command.ts).
 */
import { Command } from '@commander-js/extra-typings';
import { formatOption, type CommandDeclaration } from '../../lib/command.js';

const status = new Command('status')
  .description("show the daemon's version, uptime and the health of its Redis and nginx")
  .addOption(formatOption())
  .action(async (o) => (await import('./status.js')).status(o));

const version = new Command('version')
  .description('show the versions of this CLI and of the daemon it talks to')
  .action(async () => (await import('./version.js')).version());

const daemon = new Command('daemon')
  .description('run the Berth daemon in the foreground (scripts/up starts it in the background)')
  .option('--print-config', 'validate the configuration, print it as JSON and exit')
  .action(async (o) => (await import('./daemon.js')).daemon(o));

export const systemCommands: CommandDeclaration[] = [{ command: status }, { command: version }, { command: daemon, longRunning: true, local: true }];
