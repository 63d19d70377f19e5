/**
 * `berth apps:*`: Dokku's app commands, names and flags, through the daemon's API
 * (docs/apps.md). The declarations only: each action loads its command's file when it runs
 * (lib/command.ts).
 */
import { Command } from '@commander-js/extra-typings';
import { formatOption, type CommandDeclaration } from '../../lib/command.js';

const create = new Command('apps:create')
  .description('create an app: its settings, its git repository and its cache')
  .argument('<app>', 'lowercase letters, digits and dashes, starting with a letter')
  .action(async (app) => (await import('./create.js')).create(app));

const destroy = new Command('apps:destroy')
  .description('destroy an app and everything it has: containers, releases, repository, route, cache')
  .argument('<app>')
  .option('-f, --force', 'do not ask for the name again (needed without a terminal)')
  .action(async (app, o) => (await import('./destroy.js')).destroy(app, o));

const list = new Command('apps:list')
  .description('list the apps')
  .addOption(formatOption())
  .action(async (o) => (await import('./list.js')).list(o));

const info = new Command('apps:info')
  .alias('apps:report')
  .description("show an app's settings, user-namespace range, release and where its files are")
  .argument('<app>')
  .addOption(formatOption())
  .action(async (app, o) => (await import('./info.js')).info(app, o));

const rename = new Command('apps:rename')
  .description('rename an app (its settings, releases, repository and cache move with it)')
  .argument('<old-app>')
  .argument('<new-app>')
  .action(async (from, to) => (await import('./rename.js')).rename(from, to));

export const appsCommands: CommandDeclaration[] = [{ command: create }, { command: destroy }, { command: list }, { command: info }, { command: rename }];
