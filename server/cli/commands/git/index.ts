/**
 * `berth git:set`: an app's git settings (Dokku's `git:set APP deploy-branch B`;
 * docs/apps.md, "Deploy branch"). The declaration only: the action loads its file when it
 * runs (lib/command.ts).
 */
import { Command } from '@commander-js/extra-typings';
import type { CommandDeclaration } from '../../lib/command.js';

const set = new Command('git:set')
  .description('set a git property of an app: `deploy-branch` (no value or "" for main, else master)')
  .argument('<app>')
  .argument('<key>', 'the property: deploy-branch')
  .argument('[value]', 'the branch a push deploys; empty to clear')
  .action(async (app, key, value) => (await import('./set.js')).set(app, key, value));

export const gitCommands: CommandDeclaration[] = [{ command: set }];
