/**
 * `berth builds:*`: an app's deploys on the queue (docs/git.md, "Builds"), Heroku's names:
 * list, info, output (following a running one) and cancel. The declarations only: each
 * action loads builds.ts when it runs (lib/command.ts).
 */
import { Command } from '@commander-js/extra-typings';
import { formatOption, type CommandDeclaration } from '../../lib/command.js';

const list = new Command('builds:list')
  .description('list the deploys of an app (or of every app), newest first')
  .argument('[app]', 'the app (default: every app)')
  .addOption(formatOption())
  .action(async (app, o) => (await import('./builds.js')).list(app, o));

const info = new Command('builds:info')
  .description('show one deploy: its state, stage, times and result or error')
  .argument('<app>', 'the app')
  .argument('<id>', 'the deploy: its number (12), its id (hello.12) or current')
  .addOption(formatOption())
  .action(async (app, id, o) => (await import('./builds.js')).info(app, id, o));

const output = new Command('builds:output')
  .description("print a deploy's output; follows it while it runs")
  .argument('<app>', 'the app')
  .argument('[id]', 'the deploy: its number, its id, or current (the running one, else the newest)', 'current')
  .option('--no-follow', 'print what there is so far and stop, even while it runs')
  .addOption(formatOption())
  .action(async (app, id, o) => (await import('./builds.js')).output(app, id, o));

const cancel = new Command('builds:cancel')
  .description("stop the app's running deploy (the release serving stays) and drop its queued ones")
  .argument('<app>', 'the app')
  .addOption(formatOption())
  .action(async (app, o) => (await import('./builds.js')).cancel(app, o));

export const buildsCommands: CommandDeclaration[] = [{ command: list }, { command: info }, { command: output }, { command: cancel }];
