/**
 * Rendering an app's config with nginx-conf: the directives that must be there, asserted one
 * by one (no snapshot), for a serving app, one without containers, and the listen spec.
 */
import test from 'ava';
import { validateAppRoute } from '../../../server/proxy/index.js';
import { renderAppConfig, upstreamName } from '../../../server/proxy/render-app.js';

const route = validateAppRoute({
  app: 'hello',
  domains: ['hello.localhost', 'www.hello.example.com'],
  upstreams: [
    { address: '10.0.0.5', port: 5000 },
    { address: '10.0.0.6', port: 5001 },
  ],
  options: { clientMaxBodySize: '50m', readTimeoutSeconds: 120, keepalive: 8, snippet: 'gzip on;\n' },
});

/** The directive lines of a block `<head> {`…`}` of `text`, trimmed (the block holds no nested block). */
function block(text: string, head: string): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.indexOf(`${head} {`);
  if (start < 0) throw new Error(`no block "${head} {" in:\n${text}`);
  const end = lines.indexOf('}', start);
  return lines.slice(start + 1, end).filter((l) => l !== '');
}

test('a serving app: an upstream of its containers with keepalive, one server with all its domains', (t) => {
  const text = renderAppConfig(route, { port: 8080, ipv6: true });
  t.is(upstreamName('hello'), 'berth-app-hello');
  t.deepEqual(block(text, 'upstream berth-app-hello'), ['server 10.0.0.5:5000;', 'server 10.0.0.6:5001;', 'keepalive 8;']);
  const server = text.slice(text.indexOf('server {'));
  for (const line of [
    'listen 8080;',
    'listen [::]:8080;',
    'server_name hello.localhost www.hello.example.com;',
    'set $berth_app hello;',
    'add_header X-Request-Id $berth_request_id always;',
    'include conf.d/app-hello.snippet;',
    'client_max_body_size 50m;',
  ]) {
    t.true(server.includes(`\n    ${line}\n`), `${line} in the server block:\n${server}`);
  }
  t.is(text.match(/^server \{$/gm)?.length, 1, 'one server block');
  const location = block(text, 'location /');
  t.deepEqual(location, [
    'proxy_pass http://berth-app-hello;',
    'proxy_http_version 1.1;',
    'proxy_set_header Host $http_host;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Port $server_port;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Request-Id $berth_request_id;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $berth_connection;',
    'proxy_hide_header X-Request-Id;',
    'proxy_connect_timeout 5s;',
    'proxy_read_timeout 120s;',
    'proxy_send_timeout 60s;',
  ]);
  t.false(text.includes('return 503'));
  t.regex(text, /^# Berth: the routes of app hello\./);
});

test('no containers: no upstream, a server answering 503 with a clear body; no snippet, no include', (t) => {
  const empty = validateAppRoute({ app: 'hello', domains: ['hello.localhost'], upstreams: [] });
  const text = renderAppConfig(empty, { port: 80, ipv6: false });
  t.false(text.includes('upstream'));
  t.false(text.includes('proxy_pass'));
  t.false(text.includes('include'));
  const server = block(text, 'server');
  t.true(server.includes('listen 80;'));
  t.false(server.some((l) => l.includes('[::]')));
  t.true(server.includes('server_name hello.localhost;'));
  t.true(server.includes('return 503 "503: app hello has no running web process\\n";'));
  t.true(server.includes('add_header Retry-After 5 always;'));
});

test('keepalive 0 renders no keepalive; a bad listen port is refused', (t) => {
  const r = validateAppRoute({ app: 'a', domains: ['a.localhost'], upstreams: [{ address: '10.0.0.1', port: 1 }], options: { keepalive: 0 } });
  t.false(renderAppConfig(r, { port: 80, ipv6: false }).includes('keepalive'));
  t.throws(() => renderAppConfig(r, { port: 0, ipv6: false }), { message: /not a port/ });
});
