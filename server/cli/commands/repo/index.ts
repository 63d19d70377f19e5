/**
 * `berth repo:purge-cache`: an app's repository-side state (Dokku's repo topic). The
 * declaration only: the action loads its file when it runs (lib/command.ts).
 */
import { Command } from '@commander-js/extra-typings';
import type { CommandDeclaration } from '../../lib/command.js';

const purgeCache = new Command('repo:purge-cache')
  .description("empty an app's buildpack cache (CACHE_DIR): the next build starts cold")
  .argument('<app>')
  .action(async (app) => (await import('./purge-cache.js')).purgeCache(app));

export const repoCommands: CommandDeclaration[] = [{ command: purgeCache }];
