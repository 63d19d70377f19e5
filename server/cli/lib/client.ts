import { BerthError } from '../../core/index.js';
import { errorFromAnswer } from './api-error.js';
import type { CliSettings } from './settings.js';

function networkReason(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (e.name === 'TimeoutError') return 'no answer in time';
  return e.cause?.message ?? e.message ?? String(err);
}

/** The request function for `url`'s scheme; node:https (and TLS) is loaded only for an https URL. */
export async function requestFor(url: URL): Promise<typeof import('node:http').request> {
  return url.protocol === 'https:' ? (await import('node:https')).request : (await import('node:http')).request;
}

/**
 * Call the API and return its JSON; API errors come back as the BerthError they were.
 * node:http rather than fetch: a command that only asks and answers (and container:run,
 * whose stream is node:http anyway) then never loads fetch's HTTP stack.
 */
export async function apiRequest<T>(settings: CliSettings, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const url = new URL(`${settings.url}${path}`);
  const request = await requestFor(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(url, {
      method,
      headers: {
        authorization: `Bearer ${settings.token}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
      timeout: timeoutMs,
    });
    req.once('response', (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { name: 'TimeoutError' })));
    req.once('error', reject);
    req.end(payload);
  }).catch((err: unknown) => {
    throw new BerthError('E_CLI_UNREACHABLE', `cannot reach the Berth API at ${settings.url} (from ${settings.source}): ${networkReason(err)}`, { cause: err });
  });
  const { status, text } = answer;
  if (status < 200 || status > 299) throw errorFromAnswer(text, `${method} ${path} answered HTTP ${status}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new BerthError('E_CLI_BAD_RESPONSE', `${method} ${path} answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
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

/**
 * Call the API and return the answer's body as a stream, for answers that may stay silent
 * for long (a deploy queued behind another, a build step that prints nothing): node:http has
 * no idle timeout on a body, where fetch (undici) gives up after 300 s of silence. An error
 * answer becomes the BerthError it was.
 */
export async function apiStream(settings: CliSettings, method: string, path: string, body?: unknown): Promise<import('node:http').IncomingMessage> {
  const url = new URL(`${settings.url}${path}`);
  const request = await requestFor(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = request(url, {
      method,
      headers: {
        authorization: `Bearer ${settings.token}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(payload);
  }).catch((err: unknown) => {
    throw new BerthError('E_CLI_UNREACHABLE', `cannot reach the Berth API at ${settings.url} (from ${settings.source}): ${networkReason(err)}`, { cause: err });
  });
  const status = res.statusCode ?? 0;
  if (status >= 200 && status <= 299) return res;
  let text = '';
  for await (const chunk of res) text += String(chunk);
  throw errorFromAnswer(text, `${method} ${path} answered HTTP ${status}`);
}
