/**
 * Every configuration key Berth reads, once: its zod schema, its default and the rule
 * in words. `docs/configuration.md` lists the same keys; a unit test keeps them in sync.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

// Digits only: Number() would turn '' into 0 and '0x1F' into 31 (reject, never repair).
const port = (min: number) =>
  z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(65535));
const absolutePath = z.string().refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path');
// A size in bytes, with an optional k, m or g (powers of 1024), as Docker's --memory takes it.
const size = (min: number) =>
  z
    .string()
    .regex(/^\d{1,15}[kmg]?$/i)
    .transform((v) => {
      const power = 'kmg'.indexOf(v.slice(-1).toLowerCase()) + 1; // 0: no unit, plain bytes
      return Number(power === 0 ? v : v.slice(0, -1)) * 1024 ** power;
    })
    .pipe(z.number().int().min(min).max(Number.MAX_SAFE_INTEGER));
// Whole seconds, digits only (reject, never repair).
const seconds = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const hostname = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/);

interface KeySpec<F extends string, S extends z.ZodType, D extends string | undefined> {
  /** The key's name in BerthConfig. */
  field: F;
  schema: S;
  default: D;
  /** What is allowed, in words: ends every error message about this key. */
  allowed: string;
  /** What the key does, for docs/configuration.md. */
  doc: string;
}

const key = <const F extends string, S extends z.ZodType, const D extends string | undefined>(spec: KeySpec<F, S, D>): KeySpec<F, S, D> => spec;

export const configKeys = {
  BERTH_HOME: key({
    field: 'home',
    schema: absolutePath,
    default: '/var/lib/berth',
    allowed: 'an absolute path',
    doc: 'Where Berth keeps all its state: apps, images, its Redis and nginx, logs, the API token.',
  }),
  BERTH_API_HOST: key({
    field: 'apiHost',
    schema: z.string().refine((h) => isIP(h) !== 0, 'must be an IP address'),
    default: '0.0.0.0',
    allowed: 'an IPv4 or IPv6 address to listen on (0.0.0.0 for every interface)',
    doc: 'The address the API and git smart-HTTP server listen on.',
  }),
  BERTH_API_PORT: key({
    field: 'apiPort',
    schema: port(0),
    default: '7070',
    allowed: 'an integer from 0 to 65535 (0 picks a free port)',
    doc: 'The port of the API and git smart-HTTP server. The port in use is written to BERTH_HOME/cli.json.',
  }),
  BERTH_HTTP_PORT: key({
    field: 'httpPort',
    schema: port(1),
    default: '80',
    allowed: 'an integer from 1 to 65535',
    doc: 'The port nginx serves apps on.',
  }),
  BERTH_DOMAIN: key({
    field: 'domain',
    schema: hostname,
    default: 'localhost',
    allowed: 'a lowercase DNS name such as example.com',
    doc: 'Apps are served at <app>.<BERTH_DOMAIN> unless given domains of their own.',
  }),
  BERTH_LOG_LEVEL: key({
    field: 'logLevel',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
    default: 'info',
    allowed: 'one of trace, debug, info, warn, error, fatal',
    doc: "The daemon log's level.",
  }),
  BERTH_REDIS_URL: key({
    field: 'redisUrl',
    schema: z.string().refine((u) => /^rediss?:\/\//.test(u) && URL.canParse(u), 'must be a redis:// URL'),
    default: undefined,
    allowed: 'a redis:// or rediss:// URL, e.g. redis://:password@127.0.0.1:6379/0',
    doc: 'An external Redis to use instead of the embedded one. Unset: Berth starts its own.',
  }),
  BERTH_NGINX_MODE: key({
    field: 'nginxMode',
    schema: z.enum(['embedded', 'external']),
    default: 'embedded',
    allowed: 'embedded or external',
    doc: 'embedded: Berth runs its own nginx under BERTH_HOME/nginx. external: a system nginx that Berth does not start; Berth only checks it answers on BERTH_HTTP_PORT.',
  }),
  BERTH_REDIS_SERVER: key({
    field: 'redisServer',
    schema: absolutePath,
    default: '/usr/bin/redis-server',
    allowed: 'an absolute path to a redis-server binary',
    doc: 'The redis-server the embedded Redis runs.',
  }),
  BERTH_NGINX: key({
    field: 'nginx',
    schema: absolutePath,
    default: '/usr/sbin/nginx',
    allowed: 'an absolute path to an nginx binary',
    doc: 'The nginx binary the embedded nginx runs.',
  }),
  BERTH_RUNTIME_ROOT: key({
    field: 'runtimeRoot',
    // <root>/<64-hex id>/attach.sock must fit in a unix socket address (107 bytes).
    schema: absolutePath.refine((p) => Buffer.byteLength(p) <= 30, 'must be at most 30 bytes long'),
    default: '/run/berth',
    allowed: "an absolute path of at most 30 bytes (a container's attach socket lies below it)",
    doc: "The state directory of berth-runtime (its --root): running containers, their monitors and the networks' leases. On a tmpfs, so a reboot forgets what ran.",
  }),
  BERTH_NETWORK: key({
    field: 'network',
    schema: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,14}$/),
    default: 'berth0',
    allowed: "1 to 15 of a-z, 0-9, and - or _ after the first (it is the bridge's name too)",
    doc: 'The bridge network every container joins (docs/networking.md). Created at start if it does not exist.',
  }),
  BERTH_NETWORK_SUBNET: key({
    field: 'networkSubnet',
    schema: z
      .string()
      .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/)
      .refine((s) => {
        const [ip, bits] = s.split('/') as [string, string];
        const octets = ip.split('.').map(Number);
        if (octets.some((o) => o > 255) || Number(bits) < 8 || Number(bits) > 30) return false;
        const address = octets.reduce((a, o) => a * 256 + o, 0);
        return address % 2 ** (32 - Number(bits)) === 0; // no host bits: reject, never round down
      }, 'must be an IPv4 CIDR from /8 to /30 without host bits'),
    default: undefined,
    allowed: 'an IPv4 CIDR from /8 to /30 with no host bits set, e.g. 10.88.0.0/16',
    doc: 'The subnet of BERTH_NETWORK when Berth creates it. Unset: the first free 10.N.0.0/16 from 10.88 on. An existing network keeps its subnet.',
  }),
  BERTH_NETWORK_NAT: key({
    field: 'networkNat',
    schema: z.enum(['true', 'false']).transform((v) => v === 'true'),
    default: 'true',
    allowed: 'true or false',
    doc: 'Whether containers reach networks beyond the host through NAT (false: they reach no other network). Applied to BERTH_NETWORK when the daemon first uses it, an existing network and its running containers included.',
  }),
  BERTH_QUEUE_CONCURRENCY: key({
    field: 'queueConcurrency',
    // Digits only, as for ports: Number('') is 0 and Number('0x2') is 2 (reject, never repair).
    schema: z
      .string()
      .regex(/^\d{1,2}$/)
      .transform(Number)
      .pipe(z.number().int().min(1).max(64)),
    default: '2',
    allowed: 'an integer from 1 to 64',
    doc: "How many apps deploy at once. One app's deploys always run one at a time, in the order they were pushed (docs/queue.md).",
  }),
  BERTH_APPS_AUTOCREATE: key({
    field: 'appsAutocreate',
    schema: z.enum(['true', 'false']).transform((v) => v === 'true'),
    default: 'true',
    allowed: 'true or false',
    doc: 'Whether a `git push` to an app that does not exist creates it, as Dokku does (false: the push is refused, naming `berth apps:create`).',
  }),
  BERTH_GIT_MAX_FILE_BYTES: key({
    field: 'gitMaxFileBytes',
    schema: size(1),
    default: '100m',
    allowed: 'a size in bytes of at least 1: digits with an optional k, m or g (1024-based), e.g. 50m',
    doc: 'The largest file a pushed commit may hold to be deployed (docs/git.md); a larger one rejects the push with E_GIT_FILE_TOO_LARGE, naming it.',
  }),
  BERTH_BUILD_MEMORY: key({
    field: 'buildMemory',
    schema: size(6 * 1024 * 1024),
    default: '2g',
    allowed: 'a size in bytes of at least 6m: digits with an optional k, m or g (1024-based), e.g. 512m',
    doc: 'The memory limit of each RUN step of a build (docs/builds.md); a step over it is E_BUILD_RUN_OOM.',
  }),
  BERTH_BUILD_CPUS: key({
    field: 'buildCpus',
    schema: z
      .string()
      .regex(/^\d{1,4}(\.\d{1,2})?$/)
      .transform(Number)
      .pipe(z.number().min(0.01)),
    default: undefined,
    allowed: "a decimal number of CPUs from 0.01 to the host's count, e.g. 1.5",
    doc: "The CPU limit of each RUN step of a build. Unset: the host's CPU count, at most 2.",
  }),
  BERTH_BUILD_PIDS: key({
    field: 'buildPids',
    schema: z
      .string()
      .regex(/^\d{1,7}$/)
      .transform(Number)
      .pipe(z.number().int().min(1)),
    default: '1024',
    allowed: 'an integer from 1 to 9999999',
    doc: 'How many processes each RUN step of a build may have.',
  }),
  BERTH_BUILD_CONTEXT_MAX: key({
    field: 'buildContextMax',
    schema: size(1024),
    default: '2g',
    allowed: 'a size in bytes of at least 1k: digits with an optional k, m or g (1024-based), e.g. 500m',
    doc: 'The largest build context (the tar stream `berth image:build` sends) the API accepts; a larger one is E_BUILD_CONTEXT_TOO_LARGE.',
  }),
  BERTH_CHECKS_UPTIME: key({
    field: 'checksUptime',
    schema: seconds(0, 600),
    default: '1',
    allowed: 'a whole number of seconds from 0 to 600',
    doc: "The default health check (docs/releases.md): how long a new web container must stay up after its port first answers (other process types: after they start) before traffic moves to it. An app's app.json healthchecks replace it.",
  }),
  BERTH_CHECKS_BOOT_TIMEOUT: key({
    field: 'checksBootTimeout',
    schema: seconds(1, 3600),
    default: '60',
    allowed: 'a whole number of seconds from 1 to 3600',
    doc: "How long a new web container has to listen on its PORT before the default health check fails the deploy (Heroku's boot timeout).",
  }),
  BERTH_WAIT_TO_RETIRE: key({
    field: 'waitToRetire',
    schema: seconds(0, 3600),
    default: '60',
    allowed: 'a whole number of seconds from 0 to 3600',
    doc: "After a deploy's switch, the longest wait for requests in flight to the old containers to finish before they get SIGTERM (Dokku's wait-to-retire); Berth stops waiting as soon as nginx's old workers are done.",
  }),
  BERTH_STOP_TIMEOUT: key({
    field: 'stopTimeout',
    schema: seconds(0, 3600),
    default: '10',
    allowed: 'a whole number of seconds from 0 to 3600',
    doc: "How long a retired or stopped app container has between SIGTERM and SIGKILL (Dokku's and Docker's 10 s).",
  }),
} as const;

export type ConfigKey = keyof typeof configKeys;

type Specs = typeof configKeys;

/**
 * The validated configuration: one field per key (its `field`), typed by what its schema
 * produces, `undefined` allowed only for a key without a default. Adding a key is one edit,
 * in `configKeys` (and its row in docs/configuration.md, which a test checks).
 */
export type BerthConfig = {
  [K in ConfigKey as Specs[K]['field']]: Specs[K]['default'] extends string ? z.output<Specs[K]['schema']> : z.output<Specs[K]['schema']> | undefined;
};
