/**
 * A job's walk through the stages: each stage announced once, in order, on the queue's
 * channel (`job.stage`) and as a `----->` heading; the time each took; and a failure turned
 * into the BerthError a user reads, saying in which stage it happened and that the release
 * serving before keeps serving.
 */
import { BerthError, markers, toBerthError } from '../core/index.js';
import { stageNames, stageSpec, type StageName } from './stages.js';
import type { DeployJob } from './ports.js';

/** The abort reasons the queue gives (cancel, timeout, shutdown): passed on as they are. */
const QUEUE_REASONS = new Set(['E_QUEUE_CANCELLED', 'E_QUEUE_TIMEOUT', 'E_QUEUE_INTERRUPTED']);

export class StageRunner {
  #current: StageName | undefined;
  #startedAt = 0;
  readonly #timings: Partial<Record<StageName, number>> = {};
  readonly #began = Date.now();

  constructor(private readonly job: Pick<DeployJob, 'line' | 'stage'>) {}

  /** The stage running now. */
  get current(): StageName | undefined {
    return this.#current;
  }

  /**
   * Start `name`: the previous stage ends. A stage already passed (or announced twice) is
   * ignored, so that the stages stay in order whatever a port reports. `heading: false` for
   * a stage whose owner prints its own heading (the release engine's).
   */
  begin(name: StageName, detail?: string, o: { heading?: boolean } = {}): void {
    const at = this.#current === undefined ? -1 : stageNames.indexOf(this.#current);
    if (stageNames.indexOf(name) <= at) return;
    this.#close();
    this.#current = name;
    this.#startedAt = Date.now();
    this.job.stage(name);
    if (o.heading !== false) this.job.line(`${markers.step}${stageSpec(name)?.heading ?? name}${detail === undefined ? '' : ` ${detail}`}`);
  }

  /** An indented line under the current stage's heading. */
  detail(text: string): void {
    for (const line of text.split('\n')) this.job.line(`${markers.detail}${line}`);
  }

  /** Milliseconds per stage, in order, the current one counted up to now; `total` since the runner began. */
  timings(): Record<string, number> {
    this.#close();
    this.#startedAt = Date.now();
    const out: Record<string, number> = {};
    for (const name of stageNames) if (this.#timings[name] !== undefined) out[name] = this.#timings[name];
    out.total = Date.now() - this.#began;
    return out;
  }

  #close(): void {
    if (this.#current !== undefined) this.#timings[this.#current] = (this.#timings[this.#current] ?? 0) + (Date.now() - this.#startedAt);
  }

  /**
   * `err` as the job's error: its code and details kept, its message prefixed with the
   * stage, its hint followed by what still serves. The queue's own reasons (cancelled,
   * timed out, daemon stopping) pass through as they are.
   */
  failure(err: unknown, serving: number | undefined): BerthError {
    const e = toBerthError(err);
    if (QUEUE_REASONS.has(e.code)) return e;
    const stage = this.#current ?? 'receive';
    const still =
      serving === undefined ? 'Nothing was serving before this deploy, and nothing new was left running.' : `Release v${serving} keeps serving, untouched.`;
    return new BerthError(e.code, `the ${stage} stage failed: ${e.message}`, {
      cause: e,
      hint: `${e.hint} ${still}`,
      details: { ...e.details, stage },
    });
  }
}
