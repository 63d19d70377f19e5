/**
 * The one writer of streamed answers (docs/api.md, "Streamed answers"): `200` with
 * `application/x-ndjson` at once, then one envelope per line (wire.ts `Envelope`):
 * `{"progress": …}` and `{"line": …}` while the work runs, then `{"result": …}` or
 * `{"error": …}`. A failure after the 200 can only be told this way, so the last line
 * is what the client trusts, not the status.
 */
import type { Response } from 'express';
import { toBerthError, type Logger } from '../core/index.js';
import type { Envelope } from './wire.js';

/** What the work streams while it runs. */
export interface NdjsonOut<Progress, Line> {
  /** Resolves once the line is written or buffered below the high-water mark; waiting is optional. */
  progress(event: Progress): Promise<void>;
  line(line: Line): Promise<void>;
  /** Aborted when the client went away: stop working. */
  signal: AbortSignal;
}

/** A signal aborted when the answer's connection closes before the answer ended. */
export function closedSignal(res: Response): AbortSignal {
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  return abort.signal;
}

/**
 * Answer with a stream: run `work`, streaming what it emits, then its result (none when it
 * returns undefined: a log ends with its last line) or its error. Never throws.
 */
export async function streamNdjson<Progress = never, Line = never, Result = never>(
  res: Response,
  log: Logger,
  what: string,
  work: (out: NdjsonOut<Progress, Line>) => Promise<Result | undefined>,
): Promise<void> {
  const signal = closedSignal(res);
  res.status(200).setHeader('content-type', 'application/x-ndjson');
  res.flushHeaders();
  const write = (envelope: Envelope<Progress, Line, Result>): Promise<void> => {
    if (signal.aborted || res.writableEnded) return Promise.resolve();
    if (res.write(`${JSON.stringify(envelope)}\n`)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done).off('close', done);
        resolve();
      };
      res.once('drain', done).once('close', done);
    });
  };
  try {
    const result = await work({ progress: (progress) => write({ progress }), line: (line) => write({ line }), signal });
    if (result !== undefined) await write({ result });
  } catch (err) {
    const e = toBerthError(err);
    if (e.code === 'E_BERTH_INTERNAL') log.error({ err }, `${what} failed`);
    else log.debug({ code: e.code }, `${what} failed: ${e.message}`);
    await write(e.toJSON());
  }
  res.end();
}
