/**
 * The one reader of streamed answers (docs/api.md, "Streamed answers"): one envelope per
 * line, exactly one of `progress`, `line`, `result` or `error` (wire.ts `Envelope`). The
 * `error` line is thrown as the BerthError it carries; anything else that is not an
 * envelope is E_CLI_BAD_RESPONSE.
 */
import { BerthError } from '../../core/index.js';
import type { Envelope } from '../../api/index.js';
import { errorFromAnswer } from './api-error.js';

/** What a stream yields: every envelope but the error, which is thrown. */
export type Streamed<Progress, Line, Result> = Exclude<Envelope<Progress, Line, Result>, { error: unknown }>;

const kinds = new Set(['progress', 'line', 'result', 'error']);

function envelope<P, L, R>(text: string, what: string, n: number): Streamed<P, L, R> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new BerthError('E_CLI_BAD_RESPONSE', `${what}: line ${n} of the answer is not JSON: ${text.slice(0, 200)}`);
  }
  const keys = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v) : [];
  if (keys.length !== 1 || !kinds.has(keys[0]!)) {
    throw new BerthError('E_CLI_BAD_RESPONSE', `${what}: line ${n} of the answer is not one of progress, line, result or error: ${text.slice(0, 200)}`);
  }
  if (keys[0] === 'error') throw errorFromAnswer(v, `${what} answered`);
  return v as Streamed<P, L, R>;
}

/**
 * The envelopes of a streamed answer's body, in order, as they arrive. Ends with the body
 * (after a result, or after the last line of a stream that has none).
 */
export async function* readEnvelopes<Progress = never, Line = never, Result = never>(
  body: AsyncIterable<Uint8Array> | null,
  what: string,
): AsyncGenerator<Streamed<Progress, Line, Result>> {
  if (body === null) throw new BerthError('E_CLI_BAD_RESPONSE', `${what}: the answer has no body`);
  const decoder = new TextDecoder();
  let buffered = '';
  let n = 0;
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      n++;
      if (text.trim() !== '') yield envelope<Progress, Line, Result>(text, what, n);
    }
  }
  buffered += decoder.decode();
  if (buffered.trim() !== '') yield envelope<Progress, Line, Result>(buffered, what, n + 1);
}

/** Read a stream that ends with a result: hand on progress and lines, return the result. */
export async function readResult<Progress = never, Line = never, Result = never>(
  body: AsyncIterable<Uint8Array> | null,
  what: string,
  on: { progress?: (event: Progress) => void; line?: (line: Line) => void } = {},
): Promise<Result> {
  for await (const e of readEnvelopes<Progress, Line, Result>(body, what)) {
    if ('progress' in e) on.progress?.(e.progress);
    else if ('line' in e) on.line?.(e.line);
    else return e.result;
  }
  throw new BerthError('E_CLI_BAD_RESPONSE', `${what}: the answer ended without a result`);
}
