/**
 * The release phase (Heroku's `release:` process, Dokku's predeploy): the command runs once
 * in a one-off container of the new image, with the app's config vars, network group, user
 * namespace and limits, before any new process starts. Its output goes to the push line by
 * line as it comes. A non-zero exit fails the deploy with the status and the last lines;
 * nothing of the running release is touched. The container is always removed.
 */
import { BerthError, LineSplitter } from '../core/index.js';
import type { ContainerManager, ExitStatus } from '../containers/index.js';
import { releasePhaseRequest } from './processes.js';
import type { ReleaseIo, ReleasePlan } from './types.js';

/** How many of the last output lines a failure quotes. */
const TAIL = 10;

export async function runReleasePhase(containers: ContainerManager, plan: ReleasePlan, argv: string[], io: ReleaseIo): Promise<void> {
  io.signal.throwIfAborted();
  const view = await containers.create(releasePhaseRequest(plan, argv));
  const tail: string[] = [];
  const emit = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL) tail.shift();
    io.line(line);
  };
  const splitters = { stdout: new LineSplitter(emit), stderr: new LineSplitter(emit) };
  let onAbort: (() => void) | undefined;
  try {
    const { session, exit } = await containers.attach(view.id);
    session.on('data', (o) => splitters[o.stream].write(o.data));
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      io.signal.addEventListener('abort', onAbort, { once: true });
    });
    io.signal.throwIfAborted();
    await containers.start(view.id);
    const status: ExitStatus | undefined | 'aborted' = await Promise.race([exit, aborted]);
    if (status === 'aborted') {
      await containers.kill(view.id).catch(() => undefined);
      io.signal.throwIfAborted();
    }
    await session.ended;
    splitters.stdout.end();
    splitters.stderr.end();
    if (status === undefined || status === 'aborted' || status.exitCode !== 0) throw failed(plan, argv, status === 'aborted' ? undefined : status, tail);
  } finally {
    if (onAbort) io.signal.removeEventListener('abort', onAbort);
    await containers.remove(view.id, true).catch(() => undefined);
  }
}

function failed(plan: ReleasePlan, argv: string[], status: ExitStatus | undefined, tail: string[]): BerthError {
  const how =
    status === undefined
      ? 'ended without an exit status'
      : status.oomKilled
        ? `was killed by the OOM killer (status ${status.exitCode})`
        : `exited with status ${status.exitCode}${status.signal ? ` (${status.signal})` : ''}`;
  const lines = tail.length === 0 ? 'it printed nothing' : `its last lines:\n${tail.map((l) => `  ${l}`).join('\n')}`;
  return new BerthError(
    'E_RELEASE_PHASE_FAILED',
    `the release phase of app ${plan.app} (release ${plan.release}), ${JSON.stringify(argv)}, ${how}; the deploy stopped before starting anything, the running release is untouched; ${lines}`,
    { details: { app: plan.app, release: plan.release, ...(status ? { exitCode: status.exitCode } : {}), output: tail } },
  );
}
