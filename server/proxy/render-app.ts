/**
 * One app's nginx config, built as a tree with nginx-conf from a validated AppRoute, in
 * memory only (`createFromSource` + `toString()`, never its file-writing mode). Every value
 * that reaches the tree was checked by `validateAppRoute`; the rest are Berth's constants.
 *
 * The variables `$berth_request_id` and `$berth_connection` and the `berth` log format
 * come from the main config (main-config.ts).
 */
import { NginxConfFile } from 'nginx-conf';

/** A node of nginx-conf's tree (the package does not export its type). */
type NginxConfItem = NginxConfFile['nginx'];
import { BerthError } from '../core/index.js';
import type { AppRoute } from './app-route.js';

/** Where the app's server blocks listen: the embedded nginx's port, and [::] too when the host has IPv6. */
export interface ListenSpec {
  port: number;
  ipv6: boolean;
}

/** The app's file in conf.d (included by the main config's `conf.d/*.conf`). */
export const appConfigName = (app: string): string => `app-${app}.conf`;
/** The app's snippet file in conf.d (not `*.conf`: only its server block includes it). */
export const appSnippetName = (app: string): string => `app-${app}.snippet`;
/** The upstream block's name. */
export const upstreamName = (app: string): string => `berth-app-${app}`;

/** Headers every proxied request carries to the app (the app reads them; docs/proxy.md). */
export const forwardedHeaders: readonly (readonly [string, string])[] = Object.freeze([
  ['Host', '$http_host'],
  ['X-Forwarded-For', '$proxy_add_x_forwarded_for'],
  ['X-Forwarded-Proto', '$scheme'],
  ['X-Forwarded-Port', '$server_port'],
  ['X-Real-IP', '$remote_addr'],
  ['X-Request-Id', '$berth_request_id'],
  // HTTP/1.1 to the app with keepalive: no `Connection: close`, except to pass an upgrade.
  ['Upgrade', '$http_upgrade'],
  ['Connection', '$berth_connection'],
]);

function emptyTree(): NginxConfFile {
  let tree: NginxConfFile | undefined;
  NginxConfFile.createFromSource('', (err, conf) => {
    if (err) throw err;
    tree = conf;
  });
  // createFromSource calls back synchronously; an empty source always parses.
  if (!tree) throw new BerthError('E_BERTH_INTERNAL', 'nginx-conf gave no tree for an empty source');
  return tree;
}

/** `_add` a block and return it (nginx-conf returns the parent). */
function addBlock(parent: NginxConfItem, name: string, value: string, comments: string[] = []): NginxConfItem {
  parent._add(name, value, [], comments);
  const items = parent[name];
  const block = items?.[items.length - 1];
  if (!block) throw new BerthError('E_BERTH_INTERNAL', `nginx-conf did not add the ${name} block`);
  return block;
}

function checkListen(listen: ListenSpec): void {
  if (!Number.isInteger(listen.port) || listen.port < 1 || listen.port > 65535) {
    throw new BerthError('E_CONFIG_INVALID', `the nginx port ${listen.port} is not a port: give an integer from 1 to 65535 (BERTH_HTTP_PORT)`);
  }
}

/**
 * The text of conf.d/app-<app>.conf: an upstream of the app's web containers and one server
 * block with all its domains, proxying to it; with no containers, a server that answers 503.
 */
export function renderAppConfig(route: AppRoute, listen: ListenSpec): string {
  checkListen(listen);
  const { app, options: o } = route;
  const conf = emptyTree();
  const root = conf.nginx;
  const serving = route.upstreams.length > 0;
  const header = [` Berth: the routes of app ${app}. Generated on every change; edits here are lost.`];
  if (serving) {
    const upstream = addBlock(root, 'upstream', upstreamName(app), header);
    for (const u of route.upstreams) upstream._add('server', `${u.address}:${u.port}`);
    if (o.keepalive > 0) upstream._add('keepalive', String(o.keepalive));
  }
  const server = addBlock(root, 'server', '', serving ? [] : header);
  server._add('listen', String(listen.port));
  if (listen.ipv6) server._add('listen', `[::]:${listen.port}`);
  server._add('server_name', route.domains.join(' '));
  // The access log's app= field (log_format berth in the main config).
  server._add('set', `$berth_app ${app}`);
  // At server level so that a snippet's add_header adds to it rather than hiding it.
  server._add('add_header', 'X-Request-Id $berth_request_id always');
  if (o.snippet !== '') server._add('include', `conf.d/${appSnippetName(app)}`);
  if (!serving) {
    server._add('default_type', 'text/plain');
    server._add('add_header', 'Retry-After 5 always');
    server._add('return', `503 "503: app ${app} has no running web process\\n"`);
    return conf.toString();
  }
  server._add('client_max_body_size', o.clientMaxBodySize);
  const location = addBlock(server, 'location', '/');
  location._add('proxy_pass', `http://${upstreamName(app)}`);
  location._add('proxy_http_version', '1.1');
  for (const [name, value] of forwardedHeaders) location._add('proxy_set_header', `${name} ${value}`);
  // One X-Request-Id reaches the client: the one the app was given and the log records.
  location._add('proxy_hide_header', 'X-Request-Id');
  location._add('proxy_connect_timeout', `${o.connectTimeoutSeconds}s`);
  location._add('proxy_read_timeout', `${o.readTimeoutSeconds}s`);
  location._add('proxy_send_timeout', `${o.sendTimeoutSeconds}s`);
  return conf.toString();
}
