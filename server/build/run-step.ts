/**
 * A RUN step: a container of the daemon's ContainerManager (Berth's default isolation, its
 * bridge network: outbound NAT, host services unreachable) on the parent image's layers plus
 * a writable layer, with the build's limits. Its output is reported line by line as it
 * comes; when it exits 0 its writable layer is stored (containers' commitLayer) and is the
 * step's layer, unless it is empty. The container is always removed: after the commit, after a failure, and
 * when the build is cancelled (killed first).
 */
import { BerthError } from '../core/index.js';
import type { ContainerManager, ExitStatus } from '../containers/index.js';
import type { Descriptor, Lease } from '../images/index.js';
import type { BuildProgress } from './types.js';

export interface RunStep {
  containers: ContainerManager;
  /** The parent image's manifest digest. */
  image: string;
  argv: string[];
  /** Build arguments as K=V, on top of the image's Env. */
  env: string[];
  limits: { memoryBytes: number; cpus: number; pids: number };
  /** Labels of the step's container (which build it belongs to). */
  labels: Record<string, string>;
  signal: AbortSignal | undefined;
  progress: BuildProgress;
  /** `Dockerfile:12`, for errors. */
  where: string;
  /** The command as Docker shows it in errors. */
  shown: string;
  lease: Lease;
}

/** How many of the last output lines a failure quotes. */
const TAIL = 10;

class LineSplitter {
  private rest = '';
  constructor(private readonly emit: (line: string) => void) {}
  push(data: Buffer): void {
    const text = this.rest + data.toString('utf8');
    const parts = text.split('\n');
    this.rest = parts.pop() as string;
    for (const p of parts) this.emit(p.replace(/\r$/, ''));
  }
  flush(): void {
    if (this.rest !== '') this.emit(this.rest);
    this.rest = '';
  }
}

export function cancelled(where: string): BerthError {
  return new BerthError('E_BUILD_CANCELLED', `the build was cancelled at ${where}; nothing was tagged`, { details: { where } });
}

/**
 * Run the step; its layer (blob descriptor and diff id), held by `step.lease`, or undefined
 * when the step changed no file (`RUN true`): Docker's classic builder then adds no layer,
 * only a history entry with `empty_layer` (moby's `NewChildImage`, `layer.IsEmpty`).
 */
export async function runStep(step: RunStep): Promise<{ descriptor: Descriptor; diffId: string } | undefined> {
  const { containers } = step;
  if (step.signal?.aborted) throw cancelled(step.where);
  // Transient: its record and bundle skip the fsyncs, and a daemon that died mid-build leaves none behind.
  const view = await containers.create(
    {
      image: step.image,
      entrypoint: [],
      cmd: step.argv,
      env: step.env,
      memory: step.limits.memoryBytes,
      cpus: step.limits.cpus,
      pids: step.limits.pids,
      labels: step.labels,
    },
    { transient: true },
  );
  const short = view.id.slice(0, 12);
  step.progress({ type: 'running', container: short });
  const tail: string[] = [];
  const out = (stream: 'stdout' | 'stderr') =>
    new LineSplitter((line) => {
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
      step.progress({ type: 'output', stream, line });
    });
  const splitters = { stdout: out('stdout'), stderr: out('stderr') };
  let abort: (() => void) | undefined;
  try {
    const { session, exit } = await containers.attach(view.id);
    session.on('data', (o) => splitters[o.stream].push(o.data));
    const aborted = new Promise<'aborted'>((resolve) => {
      abort = () => resolve('aborted');
      step.signal?.addEventListener('abort', abort, { once: true });
    });
    if (step.signal?.aborted) throw cancelled(step.where);
    // Started by the attach connection's start frame: no `start` run of the runtime.
    await containers.start(view.id, { details: false, session });
    const status: ExitStatus | undefined | 'aborted' = await Promise.race([exit, aborted]);
    if (status === 'aborted') {
      await containers.kill(view.id).catch(() => undefined);
      throw cancelled(step.where);
    }
    await session.ended;
    splitters.stdout.flush();
    splitters.stderr.flush();
    if (status === undefined) throw failed(step, 'ended without an exit status', tail);
    if (status.oomKilled) {
      throw new BerthError(
        'E_BUILD_RUN_OOM',
        `${step.where}: ${step.shown} was killed by the OOM killer: it needed more than the build's memory limit of ${Math.round(step.limits.memoryBytes / 1048576)} MiB${tailText(tail)}`,
        {
          hint: "Raise the build's memory limit (limits.memoryBytes) or make the step use less memory.",
          details: { where: step.where, memoryBytes: step.limits.memoryBytes },
        },
      );
    }
    if (status.exitCode !== 0) throw failed(step, `returned a non-zero code: ${status.exitCode}`, tail, status.exitCode);
    const layer = await containers.commitLayer(view.id, step.lease);
    if (layer !== undefined) step.lease.add(layer.diffId);
    return layer;
  } finally {
    if (abort !== undefined) step.signal?.removeEventListener('abort', abort);
    await containers.remove(view.id, true);
    step.progress({ type: 'removed', container: short });
  }
}

function tailText(tail: string[]): string {
  return tail.length === 0 ? '' : `; its last lines:\n${tail.map((l) => `  ${l}`).join('\n')}`;
}

function failed(step: RunStep, what: string, tail: string[], exitCode?: number): BerthError {
  return new BerthError('E_BUILD_RUN_FAILED', `${step.where}: The command '${step.shown}' ${what}${tailText(tail)}`, {
    details: { where: step.where, ...(exitCode === undefined ? {} : { exitCode }), output: tail },
  });
}
