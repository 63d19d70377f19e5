import { BerthError } from '../../core/index.js';
import { errorFromAnswer } from './api-error.js';
import type { CliSettings } from './settings.js';

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.message ?? (err as Error).message;
}

/** Call the API and return its JSON; API errors come back as the BerthError they were. */
export async function apiRequest<T>(settings: CliSettings, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${settings.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${settings.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new BerthError('E_CLI_UNREACHABLE', `cannot reach the Berth API at ${settings.url} (from ${settings.source}): ${networkReason(err)}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) throw errorFromAnswer(text, `${method} ${path} answered HTTP ${res.status}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new BerthError('E_CLI_BAD_RESPONSE', `${method} ${path} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
}

/**
 * Call the API and return the raw response (streams: archives, NDJSON progress). An error
 * answer becomes the BerthError it was; no timeout unless given (transfers take as long as they take).
 */
export async function apiFetch(
  settings: CliSettings,
  method: string,
  path: string,
  init: { body?: RequestInit['body']; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${settings.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${settings.token}`, ...(init.headers ?? {}) },
      ...(init.body === undefined ? {} : ({ body: init.body, duplex: 'half' } as RequestInit)),
      ...(init.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(init.timeoutMs) }),
    });
  } catch (err) {
    throw new BerthError('E_CLI_UNREACHABLE', `cannot reach the Berth API at ${settings.url} (from ${settings.source}): ${networkReason(err)}`, { cause: err });
  }
  if (res.ok) return res;
  throw errorFromAnswer(await res.text(), `${method} ${path} answered HTTP ${res.status}`);
}
