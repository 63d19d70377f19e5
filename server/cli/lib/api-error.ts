/**
 * The one place an API error answer becomes the BerthError it was on the daemon: the
 * body of an error status, the answer to a refused stream, and the `error` line of a
 * streamed answer all carry `{"error": {code, message, hint, details?}}` (docs/api.md,
 * "Errors").
 */
import { BerthError, errorTable, type ErrorCode } from '../../core/index.js';
import type { ErrorBody } from '../../api/index.js';

const quote = (text: string): string => text.slice(0, 200);

/** `value`'s `error` member when it has the shape of one, else undefined. */
function errorOf(value: unknown): ErrorBody['error'] | undefined {
  const e = (value as Partial<ErrorBody> | null)?.error;
  if (typeof e !== 'object' || e === null) return undefined;
  if (typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
  return e;
}

/**
 * The BerthError an API error answer carries (`body`: its text, or the parsed line of a
 * stream). `answered` says what answered, for the messages of a body that is not an error
 * of Berth's (`GET /v1/status answered HTTP 502`): that is E_CLI_BAD_RESPONSE quoting the
 * body, as is an error code this CLI does not know (a daemon newer than the CLI).
 */
export function errorFromAnswer(body: unknown, answered: string): BerthError {
  const parsed = typeof body === 'string' ? parseJson(body) : body;
  const e = errorOf(parsed);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (e === undefined) return new BerthError('E_CLI_BAD_RESPONSE', `${answered}: ${quote(text)}`);
  if (!(e.code in errorTable)) {
    return new BerthError('E_CLI_BAD_RESPONSE', `${answered} with error ${e.code}, which this CLI does not know: ${e.message}`);
  }
  return new BerthError(e.code as ErrorCode, e.message, {
    ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
    ...(typeof e.details === 'object' && e.details !== null ? { details: e.details } : {}),
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
