/**
 * `berth buildpacks:*`: an app's buildpacks, Dokku's commands and `--index` (1-based
 * positions), through the daemon's API (docs/apps.md, "Buildpacks"). The declarations only:
 * each action loads its command's file when it runs (lib/command.ts).
 */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import type { CommandDeclaration } from '../../lib/command.js';

/** A 1-based position in the list. */
function parsePosition(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`"${value}" is not a position: positions are whole numbers from 1`);
  return Number(value);
}

const add = new Command('buildpacks:add')
  .description("add a buildpack to an app's list (at the end, or before position --index)")
  .argument('<app>')
  .argument('<buildpack>', 'a bundled name (nodejs, python, static, procfile), an absolute path on the server, or a git URL (#ref)')
  .option('--index <n>', 'insert before this position (1 is first)', parsePosition)
  .action(async (app, buildpack, o) => (await import('./add.js')).add(app, buildpack, o));

const set = new Command('buildpacks:set')
  .description('set the buildpack at a position (the first unless --index), replacing what is there')
  .argument('<app>')
  .argument('<buildpack>')
  .option('--index <n>', 'the position to set (1 is first; past the end appends)', parsePosition)
  .action(async (app, buildpack, o) => (await import('./set.js')).set(app, buildpack, o));

const remove = new Command('buildpacks:remove')
  .description("remove a buildpack from an app's list, by value or by --index")
  .argument('<app>')
  .argument('[buildpack]')
  .option('--index <n>', 'the position to remove', parsePosition)
  .action(async (app, buildpack, o) => (await import('./remove.js')).remove(app, buildpack, o));

const clear = new Command('buildpacks:clear')
  .description("clear an app's buildpacks: the next build detects them")
  .argument('<app>')
  .action(async (app) => (await import('./clear.js')).clear(app));

const list = new Command('buildpacks:list')
  .description("list an app's buildpacks, in the order they run")
  .argument('<app>')
  .action(async (app) => (await import('./list.js')).list(app));

export const buildpacksCommands: CommandDeclaration[] = [{ command: add }, { command: set }, { command: remove }, { command: clear }, { command: list }];
