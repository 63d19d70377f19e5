/**
 * After a kill -9 of the daemon mid-job, the queue (queue/recovery.ts) calls this for the job
 * before it marks it failed: the release engine removes the new release's containers (the old
 * release keeps serving) when the job had got as far as making a release, and the job's
 * received tree goes. Idempotent: the queue calls it again if the daemon dies during it.
 */
import { rm } from 'node:fs/promises';
import { readTextIfExists, toBerthError } from '../core/index.js';
import { workPaths, type WorkState } from './pipeline.js';
import type { DeployPorts, InterruptedCleanup } from './ports.js';

function parseState(text: string | undefined): WorkState | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<WorkState>;
    return typeof v.app === 'string' && Number.isInteger(v.release) ? { app: v.app, release: v.release as number } : undefined;
  } catch {
    return undefined; // a state file cut short by the crash: the release was not made yet when it was written
  }
}

export function createInterruptedCleanup(ports: Pick<DeployPorts, 'release' | 'settings' | 'log'>): InterruptedCleanup {
  return async (job) => {
    const work = workPaths(ports.settings.workDir, job.id);
    const state = parseState(await readTextIfExists(work.state));
    if (state !== undefined) {
      ports.log.warn(
        { job: job.id, app: state.app, release: state.release },
        `deploy: removing what interrupted deploy ${job.id} started for release v${state.release}`,
      );
      try {
        await ports.release.cleanupInterrupted(state.app, state.release);
      } catch (err) {
        // Keep the state: the queue runs this again at the next start.
        throw toBerthError(err);
      }
    }
    await rm(work.dir, { recursive: true, force: true });
  };
}
