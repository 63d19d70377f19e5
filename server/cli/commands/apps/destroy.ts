import { createInterface } from 'node:readline/promises';
import type { AppInfo, DestroyResult } from '../../../api/index.js';
import { BerthError, markers } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { appPath } from '../../lib/paths.js';
import { resolveSettings } from '../../lib/settings.js';

/** Dokku's warning, then the name typed again on the terminal. */
async function confirmed(name: string): Promise<boolean> {
  process.stderr.write(
    [
      `${markers.fail}WARNING: Potentially Destructive Action`,
      `${markers.fail}This command will destroy app ${name}.`,
      `${markers.fail}To proceed, type "${name}"`,
      '',
    ].join('\n'),
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await rl.question('> ')).trim() === name;
  } finally {
    rl.close();
  }
}

/**
 * `apps:destroy APP [--force]`: asks for the name again on a terminal; without one, only
 * `--force` destroys (a script cannot answer by accident).
 */
export async function destroy(name: string, o: { force?: true }): Promise<void> {
  const settings = resolveSettings();
  if (!o.force) {
    await apiRequest<AppInfo>(settings, 'GET', appPath(name)); // an unknown app fails before the question
    if (!(process.stdin.isTTY && process.stderr.isTTY)) {
      throw new BerthError(
        'E_APP_DESTROY_UNCONFIRMED',
        `apps:destroy ${name} asks for the name again, and there is no terminal to ask on; nothing was removed`,
      );
    }
    if (!(await confirmed(name))) throw new BerthError('E_APP_DESTROY_UNCONFIRMED', `the name typed does not match ${name}; nothing was removed`);
  }
  process.stdout.write(`${markers.step}Destroying ${name} (including all add-ons)\n`);
  await apiRequest<DestroyResult>(settings, 'DELETE', appPath(name), undefined, 5 * 60_000);
}
