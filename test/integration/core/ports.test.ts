/** Who holds a TCP port, read from /proc: the answer behind every "port in use" message. */
import test, { type ExecutionContext } from 'ava';
import { readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { describePortHolder, freePort, whoListensOn } from '../../../server/core/index.js';

/** This process's command line as whoListensOn renders it (argv joined by spaces). */
const ownCommand = readFileSync('/proc/self/cmdline', 'utf8').split('\0').filter(Boolean).join(' ');

/** A plain TCP server on `host`, random port, that keeps connections open; closed in teardown. */
async function listen(t: ExecutionContext, host: string): Promise<{ server: Server; port: number }> {
  const accepted = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of accepted) socket.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  );
  return { server, port: (server.address() as AddressInfo).port };
}

test('whoListensOn finds this process listening on 127.0.0.1', async (t) => {
  const { port } = await listen(t, '127.0.0.1');
  const holder = await whoListensOn(port);
  t.deepEqual(holder, { pid: process.pid, command: ownCommand });
});

test('whoListensOn finds a listener on IPv6 loopback (/proc/net/tcp6)', async (t) => {
  if (!existsSync('/proc/net/if_inet6')) throw new Error('this host has no IPv6; the tcp6 path cannot be checked here');
  const { port } = await listen(t, '::1');
  t.deepEqual(await whoListensOn(port), { pid: process.pid, command: ownCommand });
});

test('whoListensOn names another process that holds the port', async (t) => {
  const script = 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>console.log(s.address().port));setTimeout(()=>{},60000)';
  const child = spawn(process.execPath, ['-e', script, 'berth-port-holder'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  });
  const [line] = (await Promise.race([
    once(child.stdout, 'data'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the holder printed no port within 10 s')), 10_000).unref()),
  ])) as [Buffer];
  const port = Number(line.toString().trim());
  t.true(Number.isInteger(port) && port > 0);

  const holder = await whoListensOn(port);
  t.is(holder?.pid, child.pid);
  t.is(holder?.command, `${process.execPath} -e ${script} berth-port-holder`);
  t.is(await describePortHolder(port), `port ${port} is held by pid ${child.pid} (${process.execPath} -e ${script} berth-port-holder)`);
});

test('whoListensOn returns undefined for a free port', async (t) => {
  const port = await freePort();
  t.is(await whoListensOn(port), undefined);
});

test('whoListensOn ignores connected sockets: only a listener holds a port', async (t) => {
  const { port } = await listen(t, '127.0.0.1');
  const client: Socket = connect(port, '127.0.0.1');
  t.teardown(() => void client.destroy());
  await once(client, 'connect');
  const clientPort = client.localPort;
  if (clientPort === undefined) throw new Error('the client socket has no local port');
  // Both ends are ESTABLISHED in /proc/net/tcp (the server keeps the connection open).
  t.false(client.destroyed);
  t.is(await whoListensOn(clientPort), undefined);
  t.is((await whoListensOn(port))?.pid, process.pid);
});

test('whoListensOn forgets a port once its server closes', async (t) => {
  const { server, port } = await listen(t, '127.0.0.1');
  t.is((await whoListensOn(port))?.pid, process.pid);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  t.is(await whoListensOn(port), undefined);
});

test('describePortHolder names the port, the pid and the command line', async (t) => {
  const { port } = await listen(t, '127.0.0.1');
  t.is(await describePortHolder(port), `port ${port} is held by pid ${process.pid} (${ownCommand})`);
});

test('describePortHolder says the port is in use when no holder can be found', async (t) => {
  const port = await freePort();
  t.is(await describePortHolder(port), `port ${port} is in use by another program`);
});
