import type { ContainerView } from '../../../api/index.js';
import { BerthError } from '../../../core/index.js';
import { apiRequest } from '../../lib/client.js';
import { forEach } from '../../lib/each.js';
import { containerPath } from '../../lib/paths.js';
import { session, statusOf } from '../../lib/session.js';
import { resolveSettings } from '../../lib/settings.js';
import { withDockerStatus } from './status.js';

/** `container:start`; with -a (or -i), attached, exiting with the container's status. */
export async function start(refs: string[], o: { attach?: true; interactive?: true }): Promise<void> {
  const settings = resolveSettings();
  if (!o.attach && !o.interactive) {
    await forEach(refs, async (r) => {
      await apiRequest<ContainerView>(settings, 'POST', `${containerPath(r)}/start`);
      process.stdout.write(`${r}\n`);
    });
    return;
  }
  await withDockerStatus(async () => {
    if (refs.length !== 1) throw new BerthError('E_CLI_USAGE', 'container:start -a attaches to one container; name only one');
    const v = await apiRequest<ContainerView>(settings, 'GET', containerPath(refs[0]!));
    const path = containerPath(v.id);
    const r = await session(settings, `${path}/attach`, {
      interactive: o.interactive === true,
      tty: v.tty,
      afterOpen: async () => void (await apiRequest<ContainerView>(settings, 'POST', `${path}/start`)),
      signalsTo: v.id,
    });
    return statusOf(settings, v.id, r);
  });
}
