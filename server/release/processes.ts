/**
 * An app's containers: ordinary labelled containers of the ContainerManager (docs/releases.md,
 * "Containers"), named `<app>.<type>.<n>.r<release>`, in the app's network group `app.<app>`
 * and user namespace, with the release's limits. Starting a release's processes, the
 * one-off release-phase container, and removing containers (stop first, then remove).
 */
import { BerthError, toBerthError, type Logger } from '../core/index.js';
import type { ContainerManager, ContainerView, CreateRequest } from '../containers/index.js';
import type { NewContainer } from './checks.js';
import { labels, type ReleasePlan } from './types.js';

/** The network group of an app's containers: they reach each other, and no other app's. */
export const networkGroupOf = (app: string) => `app.${app}`;

/** An app's containers, every state, oldest first. */
export function appContainers(containers: ContainerManager, app: string): ContainerView[] {
  return containers.list({ all: true, labels: [`${labels.app}=${app}`] }).reverse();
}

/** The release a container belongs to (NaN for a container without the label). */
export const releaseOf = (c: ContainerView) => Number(c.config.labels[labels.release]);

/** What every container of the release gets: image, env, labels, group, userns, limits. */
function baseRequest(plan: ReleasePlan, env: Record<string, string>, own: Record<string, string>): CreateRequest {
  const l = plan.limits ?? {};
  return {
    image: plan.image,
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    labels: { [labels.app]: plan.app, [labels.release]: String(plan.release), ...own },
    networkGroup: networkGroupOf(plan.app),
    userns: plan.userns,
    ...(l.memory === undefined ? {} : { memory: l.memory }),
    ...(l.cpus === undefined ? {} : { cpus: l.cpus }),
    ...(l.pids === undefined ? {} : { pids: l.pids }),
  };
}

/** A create request for the n-th container of `type`. */
export function processRequest(plan: ReleasePlan, type: string, n: number): CreateRequest {
  const argv = plan.processes[type]?.argv ?? [];
  return {
    ...baseRequest(plan, { ...plan.env, PORT: String(plan.port), DYNO: `${type}.${n}` }, { [labels.process]: type }),
    name: `${plan.app}.${type}.${n}.r${plan.release}`,
    ...(argv.length > 0 ? { cmd: argv } : {}),
  };
}

/** The create request of the release phase's one-off container. */
export function releasePhaseRequest(plan: ReleasePlan, argv: string[]): CreateRequest {
  return {
    ...baseRequest(plan, { ...plan.env, DYNO: 'release.1' }, { [labels.phase]: 'release' }),
    name: `${plan.app}.release-phase.r${plan.release}`,
    cmd: argv,
  };
}

/** Each container to start, web first, in order: [type, n]. */
export function wanted(plan: ReleasePlan): [string, number][] {
  const types = Object.keys(plan.scale).sort((a, b) => (a === 'web' ? -1 : b === 'web' ? 1 : a.localeCompare(b)));
  return types.flatMap((type) => Array.from({ length: plan.scale[type] ?? 0 }, (_, i): [string, number] => [type, i + 1]));
}

/**
 * Create and start the release's containers, all at once. If one cannot be created or
 * started, those that were are removed and the error says which one failed.
 */
export async function startProcesses(containers: ContainerManager, plan: ReleasePlan, log: Logger): Promise<NewContainer[]> {
  const results = await Promise.allSettled(
    wanted(plan).map(async ([type, n]): Promise<NewContainer> => {
      const req = processRequest(plan, type, n);
      const made = await containers.create(req);
      try {
        const view = await containers.start(made.id);
        return { id: view.id, name: view.name, type, startedAt: Date.now(), ...(view.network ? { address: view.network.address } : {}) };
      } catch (e) {
        await containers.remove(made.id, true).catch(() => undefined);
        throw e;
      }
    }),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const unreachable = started.find((c) => c.type === 'web' && c.address === undefined);
  if (failed || unreachable) {
    await removeAll(
      containers,
      started.map((c) => c.id),
      0,
      log,
    );
    const cause = failed ? toBerthError(failed.reason) : new BerthError('E_BERTH_INTERNAL', `web container ${unreachable?.name} has no address on the bridge`);
    throw new BerthError('E_RELEASE_START_FAILED', `a container of release ${plan.release} of app ${plan.app} could not start: ${cause.message}`, {
      cause,
      details: { app: plan.app, release: plan.release, code: cause.code },
    });
  }
  return started;
}

/**
 * Stop (SIGTERM, SIGKILL after `stopTimeoutSeconds`; 0: SIGKILL at once) and remove each
 * container, all at once. A failure is logged and the others still go; the ids removed.
 */
export async function removeAll(containers: ContainerManager, ids: readonly string[], stopTimeoutSeconds: number, log: Logger): Promise<string[]> {
  const removed = await Promise.all(
    ids.map(async (id) => {
      try {
        if (stopTimeoutSeconds > 0 && containers.inspect(id).state === 'running') await containers.stop(id, stopTimeoutSeconds);
        await containers.remove(id, true);
        return id;
      } catch (e) {
        const err = toBerthError(e);
        if (err.code === 'E_CONTAINER_NOT_FOUND') return id; // gone already (removed meanwhile)
        log.error({ id, code: err.code, err: err.message }, 'release: a container could not be removed');
        return undefined;
      }
    }),
  );
  return removed.filter((id): id is string => id !== undefined);
}
