/**
 * A hostile RUN step cannot reach the host: a listener on 127.0.0.1 and one on the bridge's
 * own address (the gateway the step's container routes through) get no connection from it,
 * while the test itself reaches both (they work). Traffic only to this machine's own
 * addresses; every wait is bounded.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { useBuild } from '../../helpers/build.js';

function listen(host: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  return new Promise((resolve, reject) => {
    let accepted = 0;
    const server = createServer((s) => {
      accepted++;
      s.on('error', () => undefined); // the checks below close at once
      s.end('hello from the host\n');
    });
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0, accepted: () => accepted });
    });
  });
}

function reaches(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
  });
}

test('a RUN step cannot connect to a host port on loopback or on the bridge gateway', async (t) => {
  const b = await useBuild(t);
  // A first build creates the network, so that its gateway address can be listened on.
  const warm = await b.build(await b.context({ Dockerfile: 'FROM busybox\nRUN true\n' }));
  t.is(warm.error, undefined, warm.error?.message);
  const ip = spawnSync('/usr/sbin/ip', ['-4', '-o', 'addr', 'show', 'dev', b.c.network], { encoding: 'utf8' });
  const gateway = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(ip.stdout)?.[1];
  t.truthy(gateway, `the bridge ${b.c.network} has an address: ${ip.stdout}${ip.stderr}`);
  const loopback = await listen('127.0.0.1');
  const bridge = await listen(gateway as string);
  t.teardown(() => {
    loopback.server.close();
    bridge.server.close();
  });
  t.true(await reaches('127.0.0.1', loopback.port), 'the loopback listener works');
  t.true(await reaches(gateway as string, bridge.port), 'the gateway listener works');
  const before = loopback.accepted() + bridge.accepted();
  const probe = (host: string, port: number): string =>
    `if timeout 5 nc -w 3 ${host} ${port} </dev/null | grep -q hello; then echo "REACHED ${host}"; else echo "refused ${host}"; fi`;
  const dir = await b.context({
    Dockerfile: [
      'FROM busybox',
      `RUN ${probe('127.0.0.1', loopback.port)}; ${probe(gateway as string, bridge.port)}; ${probe(gateway as string, loopback.port)}`,
      '',
    ].join('\n'),
  });
  const r = await b.build(dir);
  t.is(r.error, undefined, r.error?.message);
  const out = r.events.flatMap((e) => (e.type === 'output' && e.stream === 'stdout' ? [e.line] : []));
  t.deepEqual(out, [`refused 127.0.0.1`, `refused ${gateway as string}`, `refused ${gateway as string}`]);
  t.is(loopback.accepted() + bridge.accepted(), before, 'no connection arrived from the step');
  t.deepEqual(b.c.leftovers(), []);
  t.deepEqual(r.leftovers(), []);
});
