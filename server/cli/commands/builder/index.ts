/**
 * `berth builder:set`: which builder an app's deploys use (Dokku's `builder:set APP
 * selected X`; docs/apps.md, "Builder"). The declaration only: the action loads its file
 * when it runs (lib/command.ts). `builder:prune` is the build cache's, in the image topic.
 */
import { Command } from '@commander-js/extra-typings';
import type { CommandDeclaration } from '../../lib/command.js';

const set = new Command('builder:set')
  .description('set a builder property of an app: `selected` dockerfile|herokuish (no value or "" for automatic)')
  .argument('<app>')
  .argument('<key>', 'the property: selected')
  .argument('[value]', 'dockerfile or herokuish; empty to clear')
  .action(async (app, key, value) => (await import('./set.js')).set(app, key, value));

export const builderCommands: CommandDeclaration[] = [{ command: set }];
