/**
 * The model one app's nginx config is rendered from, and its validation. nginx-conf escapes
 * nothing, so every value is checked here before it can reach the tree: a bad value is
 * rejected with its own E_PROXY_* code, naming it, and never repaired (lowercased, trimmed,
 * quoted). Every problem of a route is listed, not just the first.
 */
import { BerthError, validateAppName, type ErrorCode } from '../core/index.js';
import { validateSnippet } from './snippet.js';

/** One web container of an app, as nginx reaches it on the bridge. */
export interface Upstream {
  /** IPv4 address, four decimal numbers without leading zeros. */
  address: string;
  /** TCP port, 1 to 65535. */
  port: number;
}

/** The few per-app settings of the proxy (Dokku's `nginx:set` properties). */
export interface AppRouteOptions {
  /**
   * Largest request body nginx accepts, as nginx writes sizes: digits with an optional
   * `k`, `m` or `g`; `0` means no limit.
   * @defaultValue '1m'
   */
  clientMaxBodySize: string;
  /**
   * Seconds to wait for a container to accept a connection, 1 to 3600.
   * @defaultValue 5
   */
  connectTimeoutSeconds: number;
  /**
   * Seconds between two reads of a container's answer before the request fails, 1 to 3600.
   * @defaultValue 60
   */
  readTimeoutSeconds: number;
  /**
   * Seconds between two writes of a request to a container before it fails, 1 to 3600.
   * @defaultValue 60
   */
  sendTimeoutSeconds: number;
  /**
   * Idle HTTP/1.1 connections each nginx worker keeps open to the app's containers, 0 to 1024.
   * @defaultValue 16
   */
  keepalive: number;
  /**
   * Extra nginx directives for the app's server block, from the allowed list in
   * `docs/proxy.md` (Dokku's custom nginx config, narrowed). Empty for none.
   * @defaultValue ''
   */
  snippet: string;
}

/** What a caller gives: the options it leaves out take their defaults. */
export interface AppRouteInput {
  app: string;
  /** Host names the app is served at, lowercase; a leading `*.` label is a wildcard. */
  domains: readonly string[];
  /** The app's web containers; none means the app answers 503. */
  upstreams: readonly Upstream[];
  options?: Partial<AppRouteOptions>;
}

/** A validated route: every value in it may be written into nginx's config as it is. */
export interface AppRoute {
  readonly app: string;
  readonly domains: readonly string[];
  readonly upstreams: readonly Readonly<Upstream>[];
  readonly options: Readonly<AppRouteOptions>;
}

export const defaultRouteOptions: Readonly<AppRouteOptions> = Object.freeze({
  clientMaxBodySize: '1m',
  connectTimeoutSeconds: 5,
  readTimeoutSeconds: 60,
  sendTimeoutSeconds: 60,
  keepalive: 16,
  snippet: '',
});

/** At most this many domains and upstreams per app: far above use, well below nginx's limits. */
export const MAX_DOMAINS = 100;
export const MAX_UPSTREAMS = 256;

interface Problem {
  code: ErrorCode;
  message: string;
}

/** A value as a message shows it: JSON, with control and invisible characters as \u escapes. */
export function show(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(value).replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, (ch) =>
    ch === ' ' ? ch : [...Array(ch.length).keys()].map((k) => `\\u${ch.charCodeAt(k).toString(16).padStart(4, '0')}`).join(''),
  );
}

const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `domain` is not a hostname Berth routes, or undefined when it is. */
export function domainProblem(domain: unknown): string | undefined {
  if (typeof domain !== 'string') return `${show(domain)} is not a string`;
  if (domain.length === 0) return 'it is empty';
  if (domain.length > 253) return `it is ${domain.length} characters long, more than 253`;
  const bad = /[^a-z0-9.*-]/.exec(domain);
  if (bad) {
    const ch = bad[0];
    const shown = /[\p{Cc}\p{Cf}\p{Z}]/u.test(ch) ? `U+${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()}` : `'${ch}'`;
    return `character ${shown} at position ${bad.index + 1} is not allowed${/[A-Z]/.test(ch) ? ' (domains are lowercase)' : ''}`;
  }
  const labels = domain.split('.');
  const wildcard = labels[0] === '*';
  if (wildcard && labels.length < 3) return 'a wildcard covers at least two labels (`*.example.com`), never a whole top-level domain';
  for (const [i, l] of labels.entries()) {
    if (wildcard && i === 0) continue;
    if (l === '') return 'it has an empty label (two dots in a row, or a dot at an end)';
    if (l.includes('*')) return '`*` is allowed only as the whole first label (`*.example.com`)';
    if (!label.test(l)) return `label ${show(l)} ${l.length > 63 ? 'is longer than 63 characters' : 'starts or ends with a dash'}`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'its last label is all digits: an IP address is not a domain';
  return undefined;
}

/** Why `address` is not a usable IPv4 unicast address, or undefined when it is. */
export function ipv4Problem(address: unknown): string | undefined {
  if (typeof address !== 'string') return `${show(address)} is not a string`;
  if (!/^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$/.test(address))
    return 'it is not four decimal numbers from 0 to 255 without leading zeros, joined by dots';
  const octets = address.split('.').map(Number);
  if (octets.some((o) => o > 255)) return 'a part is larger than 255';
  const [a = 0] = octets;
  if (a === 0) return 'addresses in 0.0.0.0/8 do not name a host';
  if (a >= 224) return 'multicast and reserved addresses (224.0.0.0 and above) are not containers';
  return undefined;
}

function checkInteger(problems: Problem[], name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push({ code: 'E_PROXY_OPTION_INVALID', message: `option ${name} is ${show(value)}: give an integer from ${min} to ${max}` });
  }
}

function checkOptions(problems: Problem[], given: unknown): AppRouteOptions {
  if (given === undefined) return { ...defaultRouteOptions };
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    problems.push({ code: 'E_PROXY_OPTION_INVALID', message: `options are ${show(given)}: give an object` });
    return { ...defaultRouteOptions };
  }
  const known = Object.keys(defaultRouteOptions);
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) problems.push({ code: 'E_PROXY_OPTION_INVALID', message: `unknown option ${show(key)}: the options are ${known.join(', ')}` });
  }
  const o: AppRouteOptions = { ...defaultRouteOptions };
  for (const [key, value] of Object.entries(given)) if (value !== undefined && known.includes(key)) Object.assign(o, { [key]: value });
  if (typeof o.clientMaxBodySize !== 'string' || !/^(0|[1-9][0-9]{0,8}[kmg]?)$/.test(o.clientMaxBodySize)) {
    problems.push({
      code: 'E_PROXY_OPTION_INVALID',
      message: `option clientMaxBodySize is ${show(o.clientMaxBodySize)}: give a size as nginx writes it, 0 or 1 to 9 digits with an optional k, m or g (\`50m\`)`,
    });
  }
  checkInteger(problems, 'connectTimeoutSeconds', o.connectTimeoutSeconds, 1, 3600);
  checkInteger(problems, 'readTimeoutSeconds', o.readTimeoutSeconds, 1, 3600);
  checkInteger(problems, 'sendTimeoutSeconds', o.sendTimeoutSeconds, 1, 3600);
  checkInteger(problems, 'keepalive', o.keepalive, 0, 1024);
  if (typeof o.snippet !== 'string') {
    problems.push({ code: 'E_PROXY_SNIPPET_INVALID', message: `option snippet is ${show(o.snippet)}: give nginx directives as a string` });
  } else {
    for (const message of validateSnippet(o.snippet)) problems.push({ code: 'E_PROXY_SNIPPET_INVALID', message });
  }
  return o;
}

function checkDomains(problems: Problem[], domains: unknown): string[] {
  if (!Array.isArray(domains)) {
    problems.push({ code: 'E_PROXY_DOMAIN_INVALID', message: `domains are ${show(domains)}: give a list of host names` });
    return [];
  }
  if (domains.length === 0) problems.push({ code: 'E_PROXY_DOMAIN_INVALID', message: 'no domain is given: an app is served at one domain at least' });
  if (domains.length > MAX_DOMAINS) problems.push({ code: 'E_PROXY_DOMAIN_INVALID', message: `${domains.length} domains are given, more than ${MAX_DOMAINS}` });
  domains.forEach((d: unknown, i) => {
    const why = domainProblem(d);
    if (why) problems.push({ code: 'E_PROXY_DOMAIN_INVALID', message: `invalid domain ${show(d)}: ${why}` });
    else if (domains.indexOf(d) !== i) problems.push({ code: 'E_PROXY_DOMAIN_INVALID', message: `domain ${show(d)} is listed twice` });
  });
  return domains as string[];
}

function checkUpstreams(problems: Problem[], upstreams: unknown): Upstream[] {
  if (!Array.isArray(upstreams)) {
    problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `upstreams are ${show(upstreams)}: give a list of {address, port}` });
    return [];
  }
  if (upstreams.length > MAX_UPSTREAMS)
    problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `${upstreams.length} upstreams are given, more than ${MAX_UPSTREAMS}` });
  const seen = new Set<string>();
  const out: Upstream[] = [];
  for (const u of upstreams as unknown[]) {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) {
      problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `upstream ${show(u)} is not an {address, port} object` });
      continue;
    }
    const { address, port, ...rest } = u as Record<string, unknown>;
    const extra = Object.keys(rest);
    const why = ipv4Problem(address);
    if (why) problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `invalid upstream address ${show(address)}: ${why}` });
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `invalid upstream port ${show(port)} for ${show(address)}: give an integer from 1 to 65535` });
    }
    if (extra.length > 0)
      problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `upstream ${show(address)} has unknown fields ${extra.map((k) => show(k)).join(', ')}` });
    const key = `${String(address)}:${String(port)}`;
    if (seen.has(key)) problems.push({ code: 'E_PROXY_UPSTREAM_INVALID', message: `upstream ${key} is listed twice` });
    seen.add(key);
    out.push({ address: address as string, port: port as number });
  }
  return out;
}

/**
 * Check a route and fill in the default options. Throws a BerthError listing every problem
 * (one per line), with the code of the first one; app names fail with core's E_NAME_INVALID.
 */
export function validateAppRoute(input: AppRouteInput): AppRoute {
  if (typeof input !== 'object' || input === null) {
    throw new BerthError('E_PROXY_OPTION_INVALID', `a route is ${show(input)}: give {app, domains, upstreams, options}`);
  }
  const app = validateAppName(input.app);
  const problems: Problem[] = [];
  const domains = checkDomains(problems, input.domains);
  const upstreams = checkUpstreams(problems, input.upstreams);
  const options = checkOptions(problems, input.options);
  const [first] = problems;
  if (first) {
    throw new BerthError(first.code, `the route of app ${app} is not valid:\n${problems.map((p) => `  ${p.message}`).join('\n')}`, {
      details: { app, problems },
    });
  }
  return Object.freeze({
    app,
    domains: Object.freeze([...domains]),
    upstreams: Object.freeze(upstreams.map((u) => Object.freeze({ ...u }))),
    options: Object.freeze(options),
  });
}
