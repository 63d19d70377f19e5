import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

/** Listen on a random 127.0.0.1 port, closed in teardown with its open connections; the port. */
async function listen(t: ExecutionContext, server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

export interface TestBackend {
  port: number;
  /** What every request is answered with. */
  body: string;
  server: Server;
}

/**
 * A tiny HTTP app on a random 127.0.0.1 port that answers every request with `body`
 * (200, text/plain); closed in teardown, open connections included.
 */
export async function startBackend(t: ExecutionContext, body: string): Promise<TestBackend> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(body);
  });
  return { port: await listen(t, server), body, server };
}

export interface EchoBackend {
  port: number;
  /** Headers of every request received, in order. */
  requests: { url: string; headers: Record<string, string | string[] | undefined> }[];
}

/**
 * An HTTP app on a random 127.0.0.1 port that records each request's headers and answers
 * `name` plus the request's X-Request-Id as JSON (200); closed in teardown.
 */
export async function startEchoBackend(t: ExecutionContext, name: string): Promise<EchoBackend> {
  const requests: EchoBackend['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name, headers: req.headers }));
  });
  return { port: await listen(t, server), requests };
}
