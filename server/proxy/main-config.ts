/**
 * The embedded nginx's main configuration. Every value in it is Berth's own (validated
 * integers and paths under BERTH_HOME), so it is rendered from a template; per-app server
 * blocks, whose values come from users, are built in conf.d/ by the proxy renderer
 * (render-app.ts), which uses the variables and the log format defined here.
 *
 * conf.d is included by a path relative to this file's directory, so a copy of this file in
 * a candidate directory checks that directory's conf.d (router.ts) with the same bytes.
 */
import { join } from 'node:path';
import { BerthError } from '../core/index.js';

export interface MainConfigOptions {
  /** nginx prefix directory (BERTH_HOME/nginx). */
  prefix: string;
  /** Port apps are served on. */
  port: number;
  /** Also listen on [::] (when the host has IPv6). */
  ipv6: boolean;
  /** Worker user; only meaningful when the master runs as root. */
  user?: string;
}

export const nginxPaths = (prefix: string) => ({
  config: join(prefix, 'nginx.conf'),
  pid: join(prefix, 'nginx.pid'),
  errorLog: join(prefix, 'logs', 'error.log'),
  accessLog: join(prefix, 'logs', 'access.log'),
  sites: join(prefix, 'conf.d'),
  temp: join(prefix, 'tmp'),
});

export function renderMainConfig(o: MainConfigOptions): string {
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
    throw new BerthError('E_CONFIG_INVALID', `the nginx port ${o.port} is not a port: give an integer from 1 to 65535 (BERTH_HTTP_PORT)`);
  const p = nginxPaths(o.prefix);
  const listen = [`listen ${o.port} default_server;`, ...(o.ipv6 ? [`listen [::]:${o.port} default_server;`] : [])];
  return `# Written by Berth at every start; edit nothing here (apps live in conf.d/).
${o.user ? `user ${o.user};\n` : ''}worker_processes auto;
pid ${p.pid};
error_log ${p.errorLog} warn;

events {
    worker_connections 4096;
}

http {
    # app= is set by each app's server block; request_id is the one the app was given.
    log_format berth '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                     '"$http_referer" "$http_user_agent" app=$berth_app upstream=$upstream_addr '
                     'request_id=$berth_request_id request_time=$request_time';
    access_log ${p.accessLog} berth;
    # A request that fails before its server's rewrite phase (400, 408) has no app.
    uninitialized_variable_warn off;
    server_tokens off;
    # Room for long domains (up to 253 characters) and many apps.
    server_names_hash_bucket_size 512;
    server_names_hash_max_size 8192;

    # The client's X-Request-Id when it looks like one (as Heroku keeps it), else nginx's own.
    map $http_x_request_id $berth_request_id {
        default $request_id;
        "~^[A-Za-z0-9+/=_.:-]{20,200}$" $http_x_request_id;
    }
    # Keepalive to the apps: no Connection header, except to pass a WebSocket upgrade on.
    map $http_upgrade $berth_connection {
        default upgrade;
        "" "";
    }
    client_body_temp_path ${p.temp}/client_body;
    proxy_temp_path ${p.temp}/proxy;
    fastcgi_temp_path ${p.temp}/fastcgi;
    uwsgi_temp_path ${p.temp}/uwsgi;
    scgi_temp_path ${p.temp}/scgi;

    # Unknown hosts get a 404, never some app's page.
    server {
        ${listen.join('\n        ')}
        server_name _;
        set $berth_app -;
        default_type text/plain;
        add_header X-Berth-Default-Server 1 always;
        return 404 "404: no app is served at this address\\n";
    }

    include conf.d/*.conf;
}
`;
}
