/**
 * `container:run`: create, then (without -d) attach, THEN start, so not a byte of output is
 * lost; exits with the program's status (docs/containers.md).
 */
import type { ContainerView, CreateRequest } from '../../../api/index.js';
import { apiRequest } from '../../lib/client.js';
import { containerPath } from '../../lib/paths.js';
import { session, statusOf } from '../../lib/session.js';
import { resolveSettings } from '../../lib/settings.js';
import type { RelayResult } from '../../lib/stream.js';
import { parseEnv } from './env.js';
import { parseLabels, type PortMapping } from './options.js';
import { withDockerStatus } from './status.js';

export interface RunFlags {
  detach?: true;
  interactive?: true;
  tty?: true;
  rm?: true;
  env: string[];
  name?: string;
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  publish: PortMapping[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  label: string[];
}

function createRequest(image: string, command: string[], o: RunFlags): CreateRequest {
  return {
    image,
    ...(command.length > 0 ? { cmd: command } : {}),
    ...(o.entrypoint === undefined ? {} : { entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] }),
    ...(o.env.length > 0 ? { env: parseEnv(o.env) } : {}),
    ...(o.name === undefined ? {} : { name: o.name }),
    tty: o.tty === true,
    stdin: o.interactive === true,
    rm: o.rm === true,
    ...(o.workdir === undefined ? {} : { workdir: o.workdir }),
    ...(o.user === undefined ? {} : { user: o.user }),
    ...(o.memory === undefined ? {} : { memory: o.memory }),
    ...(o.cpus === undefined ? {} : { cpus: o.cpus }),
    ...(o.pidsLimit === undefined ? {} : { pids: o.pidsLimit }),
    ...(o.publish.length > 0 ? { publish: o.publish } : {}),
    ...(o.label.length > 0 ? { labels: parseLabels(o.label) } : {}),
  };
}

export async function run(image: string, command: string[], o: RunFlags): Promise<void> {
  await withDockerStatus(async () => {
    const settings = resolveSettings();
    const created = await apiRequest<ContainerView>(settings, 'POST', '/v1/containers', createRequest(image, command, o));
    const path = containerPath(created.id);
    const removeIfRm = async (): Promise<void> => {
      if (o.rm) await apiRequest(settings, 'DELETE', `${path}?force=true`).catch(() => undefined);
    };
    let started = false;
    const start = async (): Promise<void> => {
      try {
        await apiRequest<ContainerView>(settings, 'POST', `${path}/start`);
        started = true;
      } catch (err) {
        await removeIfRm();
        throw err;
      }
    };
    if (o.detach) {
      await start();
      process.stdout.write(`${created.id}\n`);
      return 0;
    }
    let r: RelayResult;
    try {
      r = await session(settings, `${path}/attach`, { interactive: o.interactive === true, tty: o.tty === true, afterOpen: start, signalsTo: created.id });
    } catch (err) {
      // The attach failed before the start: nothing ran; --rm means nothing is left either.
      if (!started) await removeIfRm();
      throw err;
    }
    return statusOf(settings, created.id, r);
  });
}
