/**
 * What "healthy" means for each new container (docs/releases.md, "Health checks"):
 *
 * - app.json `healthchecks`, Dokku's format (docker-container-healthchecker's fields):
 *   per process type a list of checks, each with exactly one strategy (`path`, `command`,
 *   `listening` or `uptime`) and its timing. Validated with zod; every problem names the key.
 *   Unknown keys are refused (a misspelt `intialDelay` would silently change nothing), except
 *   `description`; `onFailure` is refused by name: it would run a pushed command on the host.
 * - The default, for a type app.json gives no checks: a web container must listen on its
 *   port and stay up `uptime` seconds more; any other must stay up `uptime` seconds.
 * - A Dockerfile `HEALTHCHECK` in the image config: a command check of the web containers,
 *   in addition to the above.
 */
import { z } from 'zod';
import { BerthError, issuePath } from '../core/index.js';
import type { ReleaseSettings } from './types.js';

/** A check ready to run; times in milliseconds. */
export type Check =
  | { kind: 'boot'; name: string; port: number; bootTimeoutMs: number; uptimeMs: number }
  | { kind: 'uptime'; name: string; uptimeMs: number }
  | { kind: 'listening'; name: string; port: number; attempts: number; timeoutMs: number; waitMs: number; initialDelayMs: number; warn: boolean }
  | {
      kind: 'path';
      name: string;
      port: number;
      scheme: 'http' | 'https';
      path: string;
      content: string | undefined;
      headers: Record<string, string>;
      attempts: number;
      timeoutMs: number;
      waitMs: number;
      initialDelayMs: number;
      warn: boolean;
    }
  | { kind: 'command'; name: string; argv: string[]; attempts: number; timeoutMs: number; waitMs: number; initialDelayMs: number; warn: boolean };

const seconds = (max: number) => z.number().int().min(0).max(max);
// A header name is an RFC 9110 token; a value has no control characters (no header splitting).
const header = z.strictObject({
  name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'a header name is 1 to 100 token characters'),
  value: z.string().regex(/^[\x20-\x7e\t]{0,1000}$/, 'a header value is at most 1000 printable ASCII characters'),
});

const checkSchema = z
  .strictObject({
    type: z.enum(['startup', 'liveness', 'readiness']).optional(),
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]{0,2047}$/, 'a path starts with / and has no spaces or control characters')
      .optional(),
    content: z.string().min(1).max(10_000).optional(),
    scheme: z.enum(['http', 'https']).optional(),
    httpHeaders: z.array(header).max(20).optional(),
    command: z
      .array(z.string().refine((a) => !a.includes('\0'), 'an argument contains a NUL byte'))
      .min(1)
      .optional(),
    listening: z.boolean().optional(),
    uptime: seconds(600).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    attempts: z.number().int().min(1).max(100).optional(),
    timeout: z.number().int().min(1).max(600).optional(),
    wait: seconds(600).optional(),
    initialDelay: seconds(600).optional(),
    warn: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const strategies = (['path', 'command', 'listening', 'uptime'] as const).filter((k) => c[k] !== undefined && c[k] !== false);
    if (strategies.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          strategies.length === 0
            ? 'a check needs one of path, command, listening (true) or uptime'
            : `a check has one strategy, but this one sets ${strategies.join(' and ')}`,
      });
    }
    for (const k of ['content', 'scheme', 'httpHeaders'] as const) {
      if (c[k] !== undefined && c.path === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} goes with path only` });
    }
  });

const healthchecksSchema = z.record(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/, 'not a process type'), z.array(checkSchema).max(20));

export type AppHealthchecks = z.infer<typeof healthchecksSchema>;

/** app.json `healthchecks` checked; throws E_RELEASE_HEALTHCHECKS_INVALID listing every problem, each with its key. */
export function parseHealthchecks(value: unknown): AppHealthchecks {
  if (value === undefined) return {};
  const refused: string[] = [];
  if (typeof value === 'object' && value !== null) {
    for (const [type, list] of Object.entries(value)) {
      if (!Array.isArray(list)) continue;
      list.forEach((c: unknown, i) => {
        if (typeof c === 'object' && c !== null && 'onFailure' in c) {
          refused.push(`healthchecks.${type}[${i}].onFailure: not supported: Berth runs no command or request on the host for a check`);
        }
      });
    }
  }
  const parsed = healthchecksSchema.safeParse(value);
  const problems = [
    ...refused,
    ...(parsed.success ? [] : parsed.error.issues.filter((i) => !(i.code === 'unrecognized_keys' && i.keys.every((k) => k === 'onFailure'))).map(describe)),
  ];
  if (problems.length > 0 || !parsed.success) {
    throw new BerthError('E_RELEASE_HEALTHCHECKS_INVALID', `app.json healthchecks are not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
      details: { problems },
    });
  }
  return parsed.data;
}

function describe(issue: z.core.$ZodIssue): string {
  const where = `healthchecks${issuePath(issue.path, '').replace(/^(?=[^[])/, '.')}`.replace(/\.$/, '');
  if (issue.code === 'unrecognized_keys')
    return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  return `${where}: ${issue.message}`;
}

/** Docker's HEALTHCHECK in an image config (durations in nanoseconds; 0 or absent = Docker's default). */
const dockerHealthcheckSchema = z.looseObject({
  Test: z.array(z.string()).optional(),
  Interval: z.number().optional(),
  Timeout: z.number().optional(),
  StartPeriod: z.number().optional(),
  StartInterval: z.number().optional(),
  Retries: z.number().optional(),
});

const ms = (ns: number | undefined, fallbackMs: number) => (ns === undefined || ns <= 0 ? fallbackMs : Math.round(ns / 1e6));

/**
 * The image's HEALTHCHECK as a command check, or undefined (none, NONE, or one Berth cannot
 * read: logged by the caller). Docker's defaults: timeout 30 s, 3 retries, interval 30 s,
 * start interval 5 s. As a gate: attempts are the retries plus those that fit in the start
 * period, spaced by the start interval when there is a start period, else by the interval.
 */
export function dockerHealthcheck(config: Record<string, unknown> | undefined): Check | undefined {
  const parsed = dockerHealthcheckSchema.safeParse(config?.Healthcheck);
  if (!parsed.success) return undefined;
  const hc = parsed.data;
  const [kind, ...rest] = hc.Test ?? [];
  let argv: string[];
  if (kind === 'CMD' && rest.length > 0) argv = rest;
  else if (kind === 'CMD-SHELL' && rest.length === 1) argv = ['/bin/sh', '-c', rest[0] as string];
  else return undefined;
  const startPeriodMs = ms(hc.StartPeriod, 0);
  const startIntervalMs = ms(hc.StartInterval, 5000);
  const retries = hc.Retries !== undefined && hc.Retries > 0 ? Math.floor(hc.Retries) : 3;
  return {
    kind: 'command',
    name: 'Dockerfile HEALTHCHECK',
    argv,
    attempts: retries + (startPeriodMs > 0 ? Math.ceil(startPeriodMs / startIntervalMs) : 0),
    timeoutMs: ms(hc.Timeout, 30_000),
    waitMs: startPeriodMs > 0 ? startIntervalMs : ms(hc.Interval, 30_000),
    initialDelayMs: 0,
    warn: false,
  };
}

/** Dokku's defaults for a check's timing. */
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_TIMEOUT = 5;
const DEFAULT_WAIT = 5;

type AppCheck = AppHealthchecks[string][number];

function fromApp(c: AppCheck, i: number, type: string, port: number): Check {
  const timing = {
    attempts: c.attempts ?? DEFAULT_ATTEMPTS,
    timeoutMs: (c.timeout ?? DEFAULT_TIMEOUT) * 1000,
    waitMs: (c.wait ?? DEFAULT_WAIT) * 1000,
    initialDelayMs: (c.initialDelay ?? 0) * 1000,
    warn: c.warn ?? false,
  };
  const name = c.name ?? `${type} check ${i + 1}`;
  if (c.path !== undefined) {
    const headers = Object.fromEntries((c.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return { kind: 'path', name, port: c.port ?? port, scheme: c.scheme ?? 'http', path: c.path, content: c.content, headers, ...timing };
  }
  if (c.command !== undefined) return { kind: 'command', name, argv: c.command, ...timing };
  if (c.listening === true) return { kind: 'listening', name, port: c.port ?? port, ...timing };
  return { kind: 'uptime', name, uptimeMs: (c.uptime ?? 0) * 1000 };
}

/**
 * The checks a new container of `type` must pass: app.json's for that type (every type of
 * check runs once, before the switch), else the default; plus the image's HEALTHCHECK for web.
 */
export function checksFor(
  type: string,
  o: { healthchecks: AppHealthchecks; port: number; image: Check | undefined; settings: Pick<ReleaseSettings, 'uptimeSeconds' | 'bootTimeoutSeconds'> },
): Check[] {
  const own = o.healthchecks[type];
  const uptimeMs = o.settings.uptimeSeconds * 1000;
  const checks: Check[] =
    own !== undefined && own.length > 0
      ? own.map((c, i) => fromApp(c, i, type, o.port))
      : type === 'web'
        ? [{ kind: 'boot', name: 'default web check', port: o.port, bootTimeoutMs: o.settings.bootTimeoutSeconds * 1000, uptimeMs }]
        : [{ kind: 'uptime', name: `default ${type} check`, uptimeMs }];
  if (type === 'web' && o.image) checks.push(o.image);
  return checks;
}
