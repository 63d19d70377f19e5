/**
 * A bearer-token service for a test registry (the protocol of Docker Hub's auth.docker.io):
 * GET /token?service=S&scope=repository:NAME:ACTIONS with Basic credentials answers
 * {"token": JWT}, an RS256 token whose x5c header carries a self-signed certificate the
 * registry trusts. Listens on loopback only; stopped in teardown.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createSign, randomUUID, X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { requireBinary } from './prereq.js';
import { tempDir } from './temp-dir.js';
import type { TokenAuth } from './start-registry.js';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenService(t: ExecutionContext, users: Record<string, string>): Promise<TokenAuth & { issued: () => number }> {
  requireBinary('/usr/bin/openssl', 'openssl');
  const dir = await tempDir(t, 'berth-token-');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=berth-test-token',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const key = createPrivateKey(await readFile(join(dir, 'key.pem')));
  const certificate = await readFile(join(dir, 'cert.pem'), 'utf8');
  const x5c = new X509Certificate(certificate).raw.toString('base64');
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  let issued = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [user, pass] = basic ? Buffer.from(basic, 'base64').toString().split(':') : [];
    if (url.pathname !== '/token' || user === undefined || users[user] !== pass) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
      return;
    }
    const access = url.searchParams.getAll('scope').map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [x5c] }));
    const claims = b64url(
      JSON.stringify({ iss: issuer, sub: user, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key);
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(signature)}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return { realm: `http://127.0.0.1:${port}/token`, service, issuer, certificate, issued: () => issued };
}
