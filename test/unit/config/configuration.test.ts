/**
 * docs/configuration.md must list exactly the keys of configKeys, and loadConfig must
 * validate as the doc says: environment beats file, every problem reported at once with
 * key, value, source and what is allowed. Config files are temp files; /etc/berth is never read.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../server/config/index.js';
import { defaultConfigFile } from '../../../server/config/load.js';
import { configKeys, type ConfigKey } from '../../../server/config/schema.js';
import { BerthError, type ErrorCode } from '../../../server/core/index.js';
import { tableCells as cells } from '../../helpers/markdown.js';

const docUrl = new URL('../../../docs/configuration.md', import.meta.url);

// ---------------------------------------------------------------- docs drift

interface DocRow {
  key: string;
  default: string;
  allowed: string;
  doc: string;
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');

async function docText(): Promise<string> {
  return readFile(docUrl, 'utf8');
}

/** The rows of the table whose header is `Key | Default | Allowed | What it does`. */
async function docRows(): Promise<DocRow[]> {
  const lines = (await docText()).split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith('|') && cells(l).join(' | ') === 'Key | Default | Allowed | What it does');
  if (start < 0) throw new Error('docs/configuration.md has no "Key | Default | Allowed | What it does" table');
  const rows: DocRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    const c = cells(line);
    if (c.length !== 4) throw new Error(`docs/configuration.md row does not have 4 cells: ${line}`);
    const [key, def, allowed, doc] = c as [string, string, string, string];
    rows.push({ key: unquote(key), default: def === '(unset)' ? def : unquote(def), allowed, doc });
  }
  return rows;
}

const keys = Object.keys(configKeys) as ConfigKey[];

test('docs/configuration.md lists exactly the keys of configKeys', async (t) => {
  const documented = (await docRows()).map((r) => r.key);
  t.deepEqual(
    documented.filter((k) => !(k in configKeys)),
    [],
    'stale keys in docs/configuration.md',
  );
  t.deepEqual(
    keys.filter((k) => !documented.includes(k)),
    [],
    'keys missing from docs/configuration.md',
  );
  t.deepEqual(
    documented.filter((k, i) => documented.indexOf(k) !== i),
    [],
    'keys listed twice in docs/configuration.md',
  );
});

test('docs/configuration.md has the same default, allowed and doc text as configKeys', async (t) => {
  for (const row of await docRows()) {
    if (!(row.key in configKeys)) continue; // reported by the test above
    const spec = configKeys[row.key as ConfigKey];
    t.is(row.default, spec.default ?? '(unset)', `${row.key}: default`);
    t.is(row.allowed, spec.allowed, `${row.key}: allowed`);
    t.is(row.doc, spec.doc, `${row.key}: what it does`);
  }
});

test('docs/configuration.md explains the CLI variables and the config file outside the table', async (t) => {
  const text = await docText();
  const documented = new Set((await docRows()).map((r) => r.key));
  for (const name of ['BERTH_API_URL', 'BERTH_TOKEN', 'BERTH_CONFIG']) {
    t.false(documented.has(name), `${name} is not a daemon setting`);
    t.true(text.includes(`\`${name}\``), `${name} is explained`);
  }
  t.true(text.includes(defaultConfigFile));
});

test('every default satisfies its own schema', (t) => {
  for (const key of keys) {
    const spec = configKeys[key];
    if (spec.default !== undefined) t.true(spec.schema.safeParse(spec.default).success, key);
  }
});

// ---------------------------------------------------------------- loadConfig

/** A fresh temp dir, removed when the test ends. */
async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A config file with `text`, in a temp dir of its own. */
async function configFile(t: ExecutionContext, text: string): Promise<string> {
  const path = join(await tempDir(t), 'berth.conf');
  await writeFile(path, text);
  return path;
}

/** Run `fn`, which must throw a BerthError with `code`; return it. */
function berthError(t: ExecutionContext, fn: () => unknown, code: ErrorCode): BerthError {
  const err = t.throws(fn, { instanceOf: BerthError });
  if (!(err instanceof BerthError)) throw new Error('expected a BerthError');
  t.is(err.code, code);
  return err;
}

test('defaults apply when neither the environment nor the file sets a key', async (t) => {
  const file = await configFile(t, '');
  t.deepEqual(loadConfig({ BERTH_CONFIG: file }), {
    home: '/var/lib/berth',
    apiHost: '0.0.0.0',
    apiPort: 7070,
    httpPort: 80,
    domain: 'localhost',
    logLevel: 'info',
    redisUrl: undefined,
    nginxMode: 'embedded',
    redisServer: '/usr/bin/redis-server',
    nginx: '/usr/sbin/nginx',
    runtimeRoot: '/run/berth',
    network: 'berth0',
    networkSubnet: undefined,
    networkNat: true,
    queueConcurrency: 2,
    appsAutocreate: true,
    gitMaxFileBytes: 100 * 1024 ** 2,
    buildMemory: 2 * 1024 ** 3,
    buildCpus: undefined,
    buildPids: 1024,
    buildContextMax: 2 * 1024 ** 3,
    checksUptime: 1,
    checksBootTimeout: 60,
    waitToRetire: 60,
    stopTimeout: 10,
  });
});

test('the release timings: whole seconds in their ranges, digits only', async (t) => {
  const file = await configFile(t, '');
  const c = loadConfig({ BERTH_CONFIG: file, BERTH_CHECKS_UPTIME: '0', BERTH_CHECKS_BOOT_TIMEOUT: '5', BERTH_WAIT_TO_RETIRE: '0', BERTH_STOP_TIMEOUT: '30' });
  t.deepEqual([c.checksUptime, c.checksBootTimeout, c.waitToRetire, c.stopTimeout], [0, 5, 0, 30]);
  for (const [key, value] of [
    ['BERTH_CHECKS_UPTIME', '601'],
    ['BERTH_CHECKS_BOOT_TIMEOUT', '0'],
    ['BERTH_WAIT_TO_RETIRE', '1.5'],
    ['BERTH_STOP_TIMEOUT', '-1'],
  ] as const) {
    const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file, [key]: value }), 'E_CONFIG_INVALID');
    t.regex(err.message, new RegExp(`${key}="${value.replace('.', '\\.')}"`));
  }
});

test('the git keys: BERTH_APPS_AUTOCREATE true or false, BERTH_GIT_MAX_FILE_BYTES a size', async (t) => {
  const file = await configFile(t, '');
  const c = loadConfig({ BERTH_CONFIG: file, BERTH_APPS_AUTOCREATE: 'false', BERTH_GIT_MAX_FILE_BYTES: '5k' });
  t.deepEqual([c.appsAutocreate, c.gitMaxFileBytes], [false, 5 * 1024]);
  const err = t.throws(() => loadConfig({ BERTH_CONFIG: file, BERTH_APPS_AUTOCREATE: 'yes', BERTH_GIT_MAX_FILE_BYTES: '0' }));
  t.regex(err.message, /BERTH_APPS_AUTOCREATE="yes"/);
  t.regex(err.message, /BERTH_GIT_MAX_FILE_BYTES="0"/);
});

test('the build limits: sizes with k, m or g, CPUs as a decimal, pids as an integer', async (t) => {
  const file = await configFile(t, '');
  const c = loadConfig({ BERTH_CONFIG: file, BERTH_BUILD_MEMORY: '512m', BERTH_BUILD_CPUS: '0.5', BERTH_BUILD_PIDS: '64', BERTH_BUILD_CONTEXT_MAX: '1048576' });
  t.deepEqual([c.buildMemory, c.buildCpus, c.buildPids, c.buildContextMax], [512 * 1024 ** 2, 0.5, 64, 1024 ** 2]);
  t.is(loadConfig({ BERTH_CONFIG: file, BERTH_BUILD_MEMORY: '3G' }).buildMemory, 3 * 1024 ** 3);
  const bad: [string, string][] = [
    ['BERTH_BUILD_MEMORY', '1m'],
    ['BERTH_BUILD_MEMORY', '2gb'],
    ['BERTH_BUILD_MEMORY', '-1'],
    ['BERTH_BUILD_MEMORY', ''],
    ['BERTH_BUILD_CPUS', '0'],
    ['BERTH_BUILD_CPUS', '1e3'],
    ['BERTH_BUILD_PIDS', '0'],
    ['BERTH_BUILD_PIDS', '1.5'],
    ['BERTH_BUILD_CONTEXT_MAX', '10'],
  ];
  for (const [key, v] of bad) {
    const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file, [key]: v }), 'E_CONFIG_INVALID');
    t.true(err.message.includes(`${key}=${JSON.stringify(v)}`), err.message);
  }
});

test('the queue concurrency: an integer from 1 to 64, digits only', async (t) => {
  const file = await configFile(t, '');
  t.is(loadConfig({ BERTH_CONFIG: file, BERTH_QUEUE_CONCURRENCY: '8' }).queueConcurrency, 8);
  for (const v of ['0', '65', '0x2', '', ' 2', '2.0', '-1']) {
    const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file, BERTH_QUEUE_CONCURRENCY: v }), 'E_CONFIG_INVALID');
    t.true(err.message.includes(`BERTH_QUEUE_CONCURRENCY=${JSON.stringify(v)}`), err.message);
  }
});

test('the network keys: a subnet without host bits, NAT as true or false', async (t) => {
  const file = await configFile(t, '');
  const c = loadConfig({
    BERTH_CONFIG: file,
    BERTH_NETWORK: 'bt1',
    BERTH_NETWORK_SUBNET: '10.99.0.0/16',
    BERTH_NETWORK_NAT: 'false',
    BERTH_RUNTIME_ROOT: '/tmp/r',
  });
  t.like(c, { network: 'bt1', networkSubnet: '10.99.0.0/16', networkNat: false, runtimeRoot: '/tmp/r' });
  for (const [k, v] of [
    ['BERTH_NETWORK_SUBNET', '10.99.1.0/16'],
    ['BERTH_NETWORK_SUBNET', '10.0.0.0/31'],
    ['BERTH_NETWORK_SUBNET', '300.0.0.0/8'],
    ['BERTH_NETWORK_NAT', 'yes'],
    ['BERTH_NETWORK', 'Berth0'],
    ['BERTH_NETWORK', 'a-very-long-bridge'],
    ['BERTH_RUNTIME_ROOT', 'run/berth'],
    ['BERTH_RUNTIME_ROOT', '/a/very/long/runtime/root/dir/x'],
  ] as const) {
    const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file, [k]: v }), 'E_CONFIG_INVALID');
    t.true(err.message.includes(`${k}=${JSON.stringify(v)}`), err.message);
  }
});

test('the config file sets values; comments, blank lines, export and quotes are accepted', async (t) => {
  const file = await configFile(
    t,
    [
      '# Berth test config',
      '',
      'BERTH_HOME="/srv/berth"',
      'export BERTH_DOMAIN=apps.example.com',
      "BERTH_LOG_LEVEL='debug'",
      '  # indented comment',
      'BERTH_API_PORT=8080',
      'BERTH_REDIS_URL=redis://:secret@127.0.0.1:6380/1',
      'BERTH_NGINX_MODE=external',
      'BERTH_API_HOST=::1',
      '',
    ].join('\n'),
  );
  const config = loadConfig({ BERTH_CONFIG: file });
  t.is(config.home, '/srv/berth');
  t.is(config.domain, 'apps.example.com');
  t.is(config.logLevel, 'debug');
  t.is(config.apiPort, 8080);
  t.is(config.redisUrl, 'redis://:secret@127.0.0.1:6380/1');
  t.is(config.nginxMode, 'external');
  t.is(config.apiHost, '::1');
  t.is(config.httpPort, 80, 'keys the file does not set keep their default');
});

test('the environment beats the config file', async (t) => {
  const file = await configFile(t, 'BERTH_API_PORT=8080\nBERTH_DOMAIN=file.example.com\nBERTH_LOG_LEVEL=warn\n');
  const config = loadConfig({ BERTH_CONFIG: file, BERTH_API_PORT: '9090', BERTH_LOG_LEVEL: 'error' });
  t.is(config.apiPort, 9090);
  t.is(config.logLevel, 'error');
  t.is(config.domain, 'file.example.com', 'a key only the file sets comes from the file');
});

test('a good environment value hides a bad file value for the same key', async (t) => {
  const file = await configFile(t, 'BERTH_API_PORT=abc\n');
  t.is(loadConfig({ BERTH_CONFIG: file, BERTH_API_PORT: '7071' }).apiPort, 7071);
});

test('variables that do not start with BERTH_ are ignored in the environment', async (t) => {
  const file = await configFile(t, '');
  t.is(loadConfig({ BERTH_CONFIG: file, PATH: '/usr/bin', HOME: 'relative', API_PORT: 'abc' }).apiPort, 7070);
});

test('the CLI variables are accepted in the environment', async (t) => {
  const file = await configFile(t, '');
  const config = loadConfig({ BERTH_CONFIG: file, BERTH_API_URL: 'http://127.0.0.1:7070', BERTH_TOKEN: 'secret' });
  t.is(config.apiPort, 7070);
});

const invalid: { key: ConfigKey; value: string; allowed: string }[] = [
  { key: 'BERTH_API_PORT', value: 'abc', allowed: 'an integer from 0 to 65535' },
  { key: 'BERTH_API_PORT', value: '65536', allowed: 'an integer from 0 to 65535' },
  { key: 'BERTH_API_PORT', value: '80.5', allowed: 'an integer from 0 to 65535' },
  // Number() would read these as 0, 31, 1000 and 3: rejected, never repaired.
  { key: 'BERTH_API_PORT', value: '', allowed: 'an integer from 0 to 65535' },
  { key: 'BERTH_API_PORT', value: ' ', allowed: 'an integer from 0 to 65535' },
  { key: 'BERTH_API_PORT', value: '0x1F', allowed: 'an integer from 0 to 65535' },
  { key: 'BERTH_API_PORT', value: '1e3', allowed: 'an integer from 0 to 65535' },
  { key: 'BERTH_HTTP_PORT', value: '0b11', allowed: 'an integer from 1 to 65535' },
  { key: 'BERTH_HTTP_PORT', value: '0', allowed: 'an integer from 1 to 65535' },
  { key: 'BERTH_HOME', value: 'relative/path', allowed: 'an absolute path' },
  { key: 'BERTH_LOG_LEVEL', value: 'loud', allowed: 'one of trace, debug, info, warn, error, fatal' },
  { key: 'BERTH_API_HOST', value: 'localhost', allowed: 'an IPv4 or IPv6 address' },
  { key: 'BERTH_DOMAIN', value: 'Example.COM', allowed: 'a lowercase DNS name' },
  { key: 'BERTH_DOMAIN', value: 'bad_domain.com', allowed: 'a lowercase DNS name' },
  { key: 'BERTH_REDIS_URL', value: 'http://127.0.0.1:6379', allowed: 'a redis:// or rediss:// URL' },
  { key: 'BERTH_NGINX_MODE', value: 'system', allowed: 'embedded or external' },
  { key: 'BERTH_NGINX', value: 'nginx', allowed: 'an absolute path to an nginx binary' },
];

for (const { key, value, allowed } of invalid) {
  test(`${key}=${JSON.stringify(value)} in the environment is E_CONFIG_INVALID naming key, value, source and rule`, async (t) => {
    const file = await configFile(t, '');
    const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file, [key]: value }), 'E_CONFIG_INVALID');
    t.true(err.message.includes(`${key}=${JSON.stringify(value)}`), err.message);
    t.true(err.message.includes('(from environment)'), err.message);
    t.true(err.message.includes(allowed), err.message);
    t.true(err.message.includes(configKeys[key].allowed), err.message);
  });
}

test('the CLI variables in the config file are rejected: they would have no effect there', async (t) => {
  const file = await configFile(t, 'BERTH_TOKEN=secret\n');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file }), 'E_CONFIG_INVALID');
  t.true(err.message.includes(`BERTH_TOKEN (from ${file}) has no effect in the config file; set it in the environment`), err.message);
});

test('an invalid value in the config file names the file as its source', async (t) => {
  const file = await configFile(t, 'BERTH_HOME=relative\n');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file }), 'E_CONFIG_INVALID');
  t.true(err.message.includes('BERTH_HOME="relative"'), err.message);
  t.true(err.message.includes(`(from ${file})`), err.message);
  t.true(err.message.includes('an absolute path'), err.message);
  t.is(err.httpStatus, 500);
});

test('every bad key is reported at once, from both sources', async (t) => {
  const file = await configFile(t, 'BERTH_LOG_LEVEL=loud\nBERTH_NGINX_MODE=system\n');
  const err = berthError(
    t,
    () => loadConfig({ BERTH_CONFIG: file, BERTH_API_PORT: 'abc', BERTH_HOME: 'relative', BERTH_API_PROT: '7070' }),
    'E_CONFIG_INVALID',
  );
  const problems = err.details.problems;
  t.true(Array.isArray(problems));
  t.is((problems as unknown[]).length, 5, err.message);
  for (const expected of [
    'BERTH_API_PORT="abc" (from environment)',
    'BERTH_HOME="relative" (from environment)',
    `BERTH_LOG_LEVEL="loud" (from ${file})`,
    `BERTH_NGINX_MODE="system" (from ${file})`,
    'BERTH_API_PROT (from environment) is not a Berth setting',
  ]) {
    t.true(err.message.includes(expected), `${expected} in: ${err.message}`);
  }
});

test('an unknown BERTH_ key in the environment is rejected and the known keys are listed', async (t) => {
  const file = await configFile(t, '');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file, BERTH_API_PROT: '7070' }), 'E_CONFIG_INVALID');
  t.true(err.message.includes('BERTH_API_PROT (from environment) is not a Berth setting'), err.message);
  for (const key of keys) t.true(err.message.includes(key), `${key} listed in: ${err.message}`);
});

test('an unknown key in the config file is rejected', async (t) => {
  const file = await configFile(t, 'BERTH_DOMIAN=example.com\n');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file }), 'E_CONFIG_INVALID');
  t.true(err.message.includes(`BERTH_DOMIAN (from ${file}) is not a Berth setting`), err.message);
});

test('a config file named by BERTH_CONFIG that does not exist is E_CONFIG_FILE_UNREADABLE', async (t) => {
  const missing = join(await tempDir(t), 'missing.conf');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: missing }), 'E_CONFIG_FILE_UNREADABLE');
  t.true(err.message.includes(missing), err.message);
  t.true(err.message.includes('ENOENT'), err.message);
});

test('a config file that is a directory is E_CONFIG_FILE_UNREADABLE', async (t) => {
  const dir = await tempDir(t);
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: dir }), 'E_CONFIG_FILE_UNREADABLE');
  t.true(err.message.includes(dir), err.message);
});

test('a garbage line in the config file is E_CONFIG_FILE_UNREADABLE naming its line number', async (t) => {
  const file = await configFile(t, '# comment\nBERTH_DOMAIN=example.com\n\nthis is not a setting\nBERTH_LOG_LEVEL=debug\n');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file }), 'E_CONFIG_FILE_UNREADABLE');
  t.true(err.message.includes(file), err.message);
  t.true(err.message.includes('line 4'), err.message);
  t.true(err.message.includes('"this is not a setting"'), err.message);
});

test('a line with a key but no = is garbage too', async (t) => {
  const file = await configFile(t, 'BERTH_DOMAIN=example.com\r\nBERTH_LOG_LEVEL\r\n');
  const err = berthError(t, () => loadConfig({ BERTH_CONFIG: file }), 'E_CONFIG_FILE_UNREADABLE');
  t.true(err.message.includes('line 2'), err.message);
  t.true(err.message.includes('"BERTH_LOG_LEVEL"'), err.message);
});
