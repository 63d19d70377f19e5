/**
 * `berth git-hook pre-receive`: hidden; the pre-receive hook that server/git installs into
 * every app's bare repo runs it (by the pinned Node's absolute path). The declaration only:
 * the action loads pre-receive.ts when it runs.
 */
import { Command } from '@commander-js/extra-typings';
import type { CommandDeclaration } from '../../lib/command.js';

const gitHook = new Command('git-hook')
  .description("run a git hook of an app's repository (git runs it; not for people)")
  .argument('<hook>', 'the hook: pre-receive')
  .action(async (hook) => (await import('./pre-receive.js')).gitHook(hook));

export const gitHookCommands: CommandDeclaration[] = [{ command: gitHook, hidden: true }];
