import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

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
  return { port: (server.address() as AddressInfo).port, body, server };
}
