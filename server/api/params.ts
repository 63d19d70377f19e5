/**
 * Reading a request, one rule per kind of value, for every router and the stream
 * (upgrade) handler alike: the JSON body against a zod schema, and query parameters as
 * flags, numbers, strings or JSON. A bad value is E_API_BAD_REQUEST naming the parameter
 * and what it takes; nothing is guessed (`?force=yes` is an error, not false).
 */
import type { Request } from 'express';
import type { z } from 'zod';
import { BerthError } from '../core/index.js';

/** A query string: express's parsed `req.query`, or the URL's search params of an upgrade request. */
export type Query = Request['query'] | URLSearchParams;

function bad(message: string): BerthError {
  return new BerthError('E_API_BAD_REQUEST', message);
}

/** `POST /v1/containers` for messages (express's path of a router's root is `/`). */
const routeOf = (req: Request): string => `${req.method} ${req.baseUrl}${req.path === '/' && req.baseUrl !== '' ? '' : req.path}`;

function valuesOf(query: Query, name: string): string[] {
  if (query instanceof URLSearchParams) return query.getAll(name);
  const v = query[name];
  if (v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw bad(`?${name}= takes a plain value, not ${JSON.stringify(v)}`);
}

/** The one value of `name`, or undefined when it is absent; given twice is an error. */
function single(query: Query, name: string): string | undefined {
  const values = valuesOf(query, name);
  if (values.length > 1) throw bad(`?${name}= is given ${values.length} times; give it once`);
  return values[0];
}

/** A boolean flag: `true`, `false`, `1`, `0`, or absent (false). Anything else, the empty value included, is an error. */
export function flagParam(query: Query, name: string): boolean {
  const v = single(query, name);
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw bad(`?${name}= takes true, false, 1 or 0, not ${JSON.stringify(v)}`);
}

/** A non-negative decimal number (`10`, `2.5`), or undefined when absent. */
export function numberParam(query: Query, name: string): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw bad(`?${name}= takes a number, not ${JSON.stringify(v)}`);
  return Number(v);
}

/** A string as given (`?user=` is the empty string), or undefined when absent. */
export function stringParam(query: Query, name: string): string | undefined {
  return single(query, name);
}

/** A non-empty string the route cannot do without; `what` says what it is (`image reference`). */
export function requiredParam(req: Request, name: string, what: string): string {
  const v = stringParam(req.query, name);
  if (v === undefined || v === '') throw bad(`${routeOf(req)} needs ?${name}=<${what}>`);
  return v;
}

/** A repeatable parameter (`?ref=a&ref=b`): every non-empty value, in order. */
export function repeatedParam(query: Query, name: string): string[] {
  return valuesOf(query, name).filter((v) => v !== '');
}

/** A JSON value checked by `schema`; `takes` says what in words (`a JSON array of strings`). */
export function jsonParam<T>(query: Query, name: string, schema: z.ZodType<T>, takes: string): T | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw bad(`?${name}= must be ${takes}, not ${JSON.stringify(v.slice(0, 100))}`);
  }
  const r = schema.safeParse(parsed);
  if (!r.success) throw bad(`?${name}= must be ${takes}`);
  return r.data;
}

/** The JSON body checked by `schema` (an absent body is `{}`); every problem is named. */
export function bodyOf<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const r = schema.safeParse(req.body ?? {});
  if (r.success) return r.data;
  throw bad(`the request body is not what ${routeOf(req)} takes: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
}

/** The `:ref` path parameter (a container's id, id prefix or name). */
export function refParam(req: Request): string {
  return String(req.params.ref);
}
