/**
 * The route model's validation: hostile domains, upstreams and options are refused with their
 * own code and a message naming the value; nothing is repaired (lowercased, trimmed).
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { defaultRouteOptions, validateAppRoute, type AppRouteInput } from '../../../server/proxy/index.js';

const base: AppRouteInput = { app: 'hello', domains: ['hello.localhost'], upstreams: [{ address: '10.0.0.5', port: 5000 }] };

function refused(t: import('ava').ExecutionContext, input: unknown): BerthError {
  const err = t.throws(() => validateAppRoute(input as AppRouteInput));
  if (!(err instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(err)}`);
  return err;
}

test('a valid route gets the default options and is frozen', (t) => {
  const route = validateAppRoute(base);
  t.deepEqual(route.options, defaultRouteOptions);
  t.deepEqual(route.domains, ['hello.localhost']);
  t.true(Object.isFrozen(route) && Object.isFrozen(route.domains) && Object.isFrozen(route.upstreams[0]) && Object.isFrozen(route.options));
  const wide = validateAppRoute({ ...base, domains: ['*.hello.example.com', 'xn--bcher-kva.example', 'a-b.c1.example.org'], upstreams: [] });
  t.deepEqual(wide.upstreams, []);
});

const hostileDomains: [string, string][] = [
  ['a;b.localhost', "character ';'"],
  ['a}.localhost', "character '}'"],
  ['a{.localhost', "character '{'"],
  ['a.localhost\nserver_name evil', 'U+000A'],
  ['$host.localhost', "character '$'"],
  ['a b.localhost', 'U+0020'],
  ['bücher.example', "character 'ü'"],
  ['Hello.localhost', 'domains are lowercase'],
  ['hello.localhost ', 'U+0020'],
  ['a"b.localhost', `character '"'`],
  ["a'b.localhost", "character '''"],
  ['a\\b.localhost', "character '\\'"],
  ['a#b.localhost', "character '#'"],
  ['a\u202eb.localhost', 'U+202E'],
  ['', 'it is empty'],
  ['a..localhost', 'empty label'],
  ['.localhost', 'empty label'],
  ['hello.localhost.', 'empty label'],
  ['-a.localhost', 'starts or ends with a dash'],
  ['a-.localhost', 'starts or ends with a dash'],
  [`${'a'.repeat(64)}.localhost`, 'longer than 63'],
  [`${'a.'.repeat(127)}ab`, 'more than 253'],
  ['*.localhost', 'at least two labels'],
  ['*.com', 'at least two labels'],
  ['a.*.localhost', 'whole first label'],
  ['*a.example.com', 'whole first label'],
  ['10.0.0.1', 'IP address'],
  ['_', "character '_'"],
];

for (const [domain, why] of hostileDomains) {
  test(`domain ${JSON.stringify(domain).slice(0, 40)} is refused with E_PROXY_DOMAIN_INVALID (${why})`, (t) => {
    const err = refused(t, { ...base, domains: [domain] });
    t.is(err.code, 'E_PROXY_DOMAIN_INVALID');
    t.true(err.message.includes(why), err.message);
    t.false(/[\n\u202e]/.test(err.message.split('\n').slice(1).join('')), 'the bad value is shown escaped');
  });
}

test('domains: none, not a list, listed twice, not strings, too many', (t) => {
  t.is(refused(t, { ...base, domains: [] }).code, 'E_PROXY_DOMAIN_INVALID');
  t.is(refused(t, { ...base, domains: 'hello.localhost' }).code, 'E_PROXY_DOMAIN_INVALID');
  t.true(refused(t, { ...base, domains: ['a.localhost', 'a.localhost'] }).message.includes('listed twice'));
  t.true(refused(t, { ...base, domains: [42] }).message.includes('42 is not a string'));
  t.true(refused(t, { ...base, domains: Array.from({ length: 101 }, (_, i) => `d${i}.localhost`) }).message.includes('more than 100'));
});

const hostileUpstreams: [unknown, string][] = [
  [{ address: '10.0.0.5;', port: 5000 }, 'not four decimal numbers'],
  [{ address: '10.0.0.5 backup', port: 5000 }, 'not four decimal numbers'],
  [{ address: '10.0.0.256', port: 5000 }, 'larger than 255'],
  [{ address: '010.0.0.5', port: 5000 }, 'without leading zeros'],
  [{ address: 'localhost', port: 5000 }, 'not four decimal numbers'],
  [{ address: '::1', port: 5000 }, 'not four decimal numbers'],
  [{ address: '0.0.0.0', port: 5000 }, '0.0.0.0/8'],
  [{ address: '224.0.0.1', port: 5000 }, 'multicast'],
  [{ address: '10.0.0.5', port: 0 }, 'integer from 1 to 65535'],
  [{ address: '10.0.0.5', port: 65536 }, 'integer from 1 to 65535'],
  [{ address: '10.0.0.5', port: 80.5 }, 'integer from 1 to 65535'],
  [{ address: '10.0.0.5', port: '5000' }, 'integer from 1 to 65535'],
  [{ address: '10.0.0.5', port: 5000, weight: 3 }, 'unknown fields "weight"'],
  ['10.0.0.5:5000', 'not an {address, port} object'],
];

for (const [upstream, why] of hostileUpstreams) {
  test(`upstream ${JSON.stringify(upstream)} is refused with E_PROXY_UPSTREAM_INVALID`, (t) => {
    const err = refused(t, { ...base, upstreams: [upstream] });
    t.is(err.code, 'E_PROXY_UPSTREAM_INVALID');
    t.true(err.message.includes(why), err.message);
  });
}

test('an upstream listed twice is refused', (t) => {
  const u = { address: '10.0.0.5', port: 5000 };
  t.true(refused(t, { ...base, upstreams: [u, { ...u }] }).message.includes('10.0.0.5:5000 is listed twice'));
});

const badOptions: [Record<string, unknown>, string][] = [
  [{ clientMaxBodySize: '1m; include /etc/passwd' }, 'clientMaxBodySize'],
  [{ clientMaxBodySize: '10M' }, 'clientMaxBodySize'],
  [{ clientMaxBodySize: '9999999999g' }, 'clientMaxBodySize'],
  [{ clientMaxBodySize: 1048576 }, 'clientMaxBodySize'],
  [{ readTimeoutSeconds: 0 }, 'readTimeoutSeconds'],
  [{ connectTimeoutSeconds: 3601 }, 'connectTimeoutSeconds'],
  [{ sendTimeoutSeconds: '60s' }, 'sendTimeoutSeconds'],
  [{ keepalive: -1 }, 'keepalive'],
  [{ keepalive: 1.5 }, 'keepalive'],
  [{ proxyPass: 'http://evil' }, 'unknown option "proxyPass"'],
];

for (const [options, why] of badOptions) {
  test(`option ${JSON.stringify(options)} is refused with E_PROXY_OPTION_INVALID`, (t) => {
    const err = refused(t, { ...base, options });
    t.is(err.code, 'E_PROXY_OPTION_INVALID');
    t.true(err.message.includes(why), err.message);
  });
}

test('every problem is listed, the code is the first one’s; the app name is checked by core', (t) => {
  const err = refused(t, {
    app: 'hello',
    domains: ['a;b'],
    upstreams: [{ address: 'x', port: 0 }],
    options: { keepalive: -1, snippet: 'include /etc/passwd;' },
  });
  t.is(err.code, 'E_PROXY_DOMAIN_INVALID');
  const lines = err.message.split('\n');
  t.is(lines.length, 6, err.message);
  t.deepEqual(
    (err.details.problems as { code: string }[]).map((p) => p.code),
    ['E_PROXY_DOMAIN_INVALID', 'E_PROXY_UPSTREAM_INVALID', 'E_PROXY_UPSTREAM_INVALID', 'E_PROXY_OPTION_INVALID', 'E_PROXY_SNIPPET_INVALID'],
  );
  t.is(refused(t, { ...base, app: 'Hello' }).code, 'E_NAME_INVALID');
  t.is(refused(t, { ...base, app: 'a;b' }).code, 'E_NAME_INVALID');
  t.is(refused(t, null).code, 'E_PROXY_OPTION_INVALID');
});
