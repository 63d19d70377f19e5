/**
 * Container networks for real: a bridge per test, containers with a veth and an address,
 * /etc/hosts and /etc/resolv.conf, the host reaching them, nothing of the host reachable
 * from them, apps isolated unless linked, ports published on loopback, addresses under
 * concurrent creates. Every test ends with a leak check. Serial: the checks spawn
 * synchronously, which would stall the other tests' HTTP clients in this process.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { containerId, runtimeError, useRuntime, type Runtime } from '../../helpers/runtime.js';
import {
  containerGet,
  hostGet,
  inspectNetwork,
  makeNetBundle,
  makeNetRootfs,
  networkLeftovers,
  uniqueBridge,
  nftElements,
  runOnNetwork,
  useNetwork,
  vethPrefix,
  waitAnswer,
} from '../../helpers/network.js';

/** A TCP server on ip:0 that answers like HTTP; closed in teardown. */
async function listen(t: import('ava').ExecutionContext, ip: string): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end('HTTP/1.0 200 OK\r\n\r\nhost service\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, ip, () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function removeAndCheck(t: import('ava').ExecutionContext, rt: Runtime, name: string, subnet: string): void {
  const rm = rt.run(['network', 'rm', name]);
  t.is(rm.status, 0, rm.stderr);
  t.deepEqual(networkLeftovers(rt, name, vethPrefix(subnet)), []);
}

test.serial('two containers: the host reaches each, each reaches its own lo; hosts, resolv.conf, eth0 and route as Docker sets them', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const a = containerId();
  const b = containerId();
  const ipA = await runOnNetwork(t, rt, rootfs, a, { network: net.name });
  const ipB = await runOnNetwork(t, rt, rootfs, b, { network: net.name });
  t.not(ipA, ipB);
  t.regex(net.subnet, /^10\.\d+\.0\.0\/16$/, 'the default subnet is a /16 in 10.0.0.0/8');
  t.is(net.gateway, net.subnet.replace(/0\/16$/, '1'));

  // The host reaches each one's HTTP server, and the right one answers.
  t.is(await waitAnswer(() => hostGet(ipA, 8080, '/etc/hostname')), `${a}\n`);
  t.is(await waitAnswer(() => hostGet(ipB, 8080, '/etc/hostname')), `${b}\n`);
  // Each reaches its own loopback.
  t.is(containerGet(rt, a, '127.0.0.1', 8080, '/etc/hostname'), `${a}\n`);
  t.is(containerGet(rt, b, '127.0.0.1', 8080, '/etc/hostname'), `${b}\n`);

  const addr = rt.run(['exec', a, '/bin/ip', '-o', '-4', 'addr', 'show', 'eth0']);
  t.regex(addr.stdout, new RegExp(`inet ${ipA.replaceAll('.', '\\.')}/16 `));
  const route = rt.run(['exec', a, '/bin/ip', 'route']);
  t.regex(route.stdout, new RegExp(`^default via ${net.gateway.replaceAll('.', '\\.')} dev eth0`, 'm'));
  const lo = rt.run(['exec', a, '/bin/ip', '-o', 'link', 'show', 'lo']);
  t.regex(lo.stdout, /UP/);

  const hosts = rt.run(['exec', a, '/bin/cat', '/etc/hosts']).stdout;
  t.regex(hosts, /^127\.0\.0\.1\tlocalhost$/m);
  t.regex(hosts, new RegExp(`^${ipA.replaceAll('.', '\\.')}\\t${a}$`, 'm'));
  const resolv = rt.run(['exec', a, '/bin/cat', '/etc/resolv.conf']).stdout;
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8');
  const upstream = hostResolv.split('\n').filter((l) => /^nameserver\s+\d+\.\d+\.\d+\.\d+/.test(l) && !/^nameserver\s+127\./.test(l));
  for (const line of upstream) t.true(resolv.includes(line), `resolv.conf keeps ${line}`);
  t.notRegex(resolv, /^nameserver\s+127\./m, 'never a loopback resolver');
  t.regex(resolv, /^nameserver /m);

  t.is(rt.run(['delete', '--force', a]).status, 0);
  t.is(rt.run(['delete', '--force', b]).status, 0);
  t.is(inspectNetwork(rt, net.name).leases, 0);
  removeAndCheck(t, rt, net.name, net.subnet);
});

test.serial("the bridge keeps its own MAC as veths come and go, so a container's gateway entry never goes stale", async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const sys = (what: string) => readFileSync(`/sys/class/net/${net.bridge}/${what}`, 'utf8').trim();
  const mac = sys('address');
  t.regex(mac, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/, 'random, locally administered, unicast');
  t.is(sys('addr_assign_type'), '3', "NET_ADDR_SET: the kernel never replaces it with a port's");

  // A's veth gets the lowest address there is: a bridge without its own would take it.
  const a = containerId();
  await runOnNetwork(t, rt, rootfs, a, { network: net.name });
  const vethA = inspectNetwork(rt, net.name).containers.find((c) => c.id === a)!.veth;
  const set = spawnSync('/usr/sbin/ip', ['link', 'set', 'dev', vethA, 'address', '02:00:00:00:00:01'], { encoding: 'utf8' });
  t.is(set.status, 0, set.stderr);
  // B resolves its gateway while A is there, then A goes: B must still answer the host.
  const b = containerId();
  const ipB = await runOnNetwork(t, rt, rootfs, b, { network: net.name });
  t.is(await waitAnswer(() => hostGet(ipB, 8080, '/etc/hostname')), `${b}\n`);
  t.is(sys('address'), mac);
  t.is(rt.run(['delete', '--force', a]).status, 0);
  t.is(sys('address'), mac);
  t.is(await hostGet(ipB, 8080, '/etc/hostname', 2000), `${b}\n`, 'B answers at once, without waiting for its ARP entry to expire');

  t.is(rt.run(['delete', '--force', b]).status, 0);
  removeAndCheck(t, rt, net.name, net.subnet);
});

test.serial('nothing of the host is reachable from a container: loopback services, the bridge address; the host itself can', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const loPort = await listen(t, '127.0.0.1');
  const gwPort = await listen(t, net.gateway);
  const anyPort = await listen(t, '0.0.0.0');
  const id = containerId();
  const ip = await runOnNetwork(t, rt, rootfs, id, { network: net.name });
  t.truthy(await waitAnswer(() => hostGet(ip, 8080)), 'the container serves');

  // The probe works: the host connects to its own services.
  t.is(await hostGet('127.0.0.1', loPort), 'host service\n');
  t.is(await hostGet(net.gateway, gwPort), 'host service\n');
  // The container cannot, within a bounded time (dropped: nc times out).
  t.is(containerGet(rt, id, net.gateway, gwPort), undefined, 'the bridge address');
  t.is(containerGet(rt, id, net.gateway, anyPort), undefined, 'a service on every address, through the bridge address');
  // 127.0.0.1 in the container is its own loopback: the host's service is not there.
  t.is(containerGet(rt, id, '127.0.0.1', loPort), undefined, 'the host loopback service');

  t.is(rt.run(['delete', '--force', id]).status, 0);
  removeAndCheck(t, rt, net.name, net.subnet);
});

test.serial('apps are isolated unless linked: A cannot reach B, after link it can, after unlink it cannot', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const a1 = containerId();
  const a2 = containerId();
  const b1 = containerId();
  const ipA1 = await runOnNetwork(t, rt, rootfs, a1, { network: net.name, group: 'app-a' });
  const ipA2 = await runOnNetwork(t, rt, rootfs, a2, { network: net.name, group: 'app-a' });
  const ipB1 = await runOnNetwork(t, rt, rootfs, b1, { network: net.name, group: 'app-b' });
  for (const ip of [ipA1, ipA2, ipB1]) t.truthy(await waitAnswer(() => hostGet(ip, 8080)), `${ip} serves`);

  t.is(containerGet(rt, a1, ipA2, 8080, '/etc/hostname'), `${a2}\n`, 'same app: reachable');
  t.is(containerGet(rt, a1, ipB1, 8080), undefined, 'A → B: not reachable');
  t.is(containerGet(rt, b1, ipA1, 8080), undefined, 'B → A: not reachable');

  const link = rt.run(['network', 'link', net.name, 'app-a', 'app-b']);
  t.is(link.status, 0, link.stderr);
  t.is(containerGet(rt, a1, ipB1, 8080, '/etc/hostname'), `${b1}\n`, 'linked: A → B');
  t.is(containerGet(rt, b1, ipA2, 8080, '/etc/hostname'), `${a2}\n`, 'linked: B → A');
  // A container created after the link is linked too.
  const b2 = containerId();
  const ipB2 = await runOnNetwork(t, rt, rootfs, b2, { network: net.name, group: 'app-b' });
  t.truthy(await waitAnswer(() => hostGet(ipB2, 8080)));
  t.is(containerGet(rt, a1, ipB2, 8080, '/etc/hostname'), `${b2}\n`, 'linked: A → a new B');
  t.deepEqual(inspectNetwork(rt, net.name).links, [['app-a', 'app-b']]);

  const unlink = rt.run(['network', 'unlink', net.name, 'app-b', 'app-a']);
  t.is(unlink.status, 0, unlink.stderr);
  t.is(containerGet(rt, a1, ipB1, 8080), undefined, 'unlinked: A → B');
  t.is(containerGet(rt, b2, ipA1, 8080), undefined, 'unlinked: B → A');
  t.is(containerGet(rt, a1, ipA2, 8080, '/etc/hostname'), `${a2}\n`, 'same app still');

  const same = rt.run(['network', 'link', net.name, 'app-a', 'app-a']);
  t.is(same.status, 2);
  t.regex(runtimeError(same.stderr)?.msg ?? '', /same group/);

  for (const id of [a1, a2, b1, b2]) t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(nftElements(net.name, 'bridge', 'allow'), []);
  t.deepEqual(nftElements(net.name, 'bridge', 'grp', 'map'), []);
  t.deepEqual(nftElements(net.name, 'bridge', 'ports'), []);
  removeAndCheck(t, rt, net.name, net.subnet);
});

test.serial('a port published on the host loopback reaches the container; taken ports and bad specs are refused', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  // A free loopback port: listen, note it, close.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const id = containerId();
  await runOnNetwork(t, rt, rootfs, id, { network: net.name, publish: `127.0.0.1:${port}:8080/tcp` });
  t.is(await waitAnswer(() => hostGet('127.0.0.1', port, '/etc/hostname')), `${id}\n`);
  t.is(nftElements(net.name, 'inet', 'pub', 'map').length, 1);

  // A port something listens on is refused (its traffic would be stolen).
  const taken = await listen(t, '127.0.0.1');
  const other = containerId();
  const bundle = await makeNetBundle(t, rootfs, other, { network: net.name, publish: `${taken}:8080` });
  const r = rt.run(['create', '--bundle', bundle, other]);
  t.is(r.status, 1);
  t.regex(runtimeError(r.stderr)?.msg ?? '', new RegExp(`127\\.0\\.0\\.1:${taken}: the port is in use`));
  const bad = await makeNetBundle(t, rootfs, other, { network: net.name, publish: '0.0.0.0:80:80' });
  const r2 = rt.run(['create', '--bundle', bad, other]);
  t.is(r2.status, 2);
  t.regex(runtimeError(r2.stderr)?.msg ?? '', /loopback only/);
  t.is(inspectNetwork(rt, net.name).leases, 1, 'refused creates leased nothing');

  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(nftElements(net.name, 'inet', 'pub', 'map'), []);
  t.is(await hostGet('127.0.0.1', port, '/', 1000), undefined, 'the port is gone with the container');
  removeAndCheck(t, rt, net.name, net.subnet);
});

test.serial('20 concurrent creates get 20 distinct addresses, each on its own eth0', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const ids = Array.from({ length: 20 }, () => containerId());
  const bundles = await Promise.all(ids.map((id) => makeNetBundle(t, rootfs, id, { network: net.name, args: ['/bin/sleep', '60'] })));
  const results = await Promise.all(
    ids.map(
      (id, i) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = rt.spawnRun(['create', '--bundle', bundles[i] ?? '', id]);
          let stderr = '';
          child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (code) => resolve({ code, stderr }));
        }),
    ),
  );
  for (const r of results) t.is(r.code, 0, r.stderr);
  const info = inspectNetwork(rt, net.name);
  t.is(info.containers.length, 20);
  const addresses = info.containers.map((c) => c.address);
  t.is(new Set(addresses).size, 20, `distinct: ${addresses.join(' ')}`);
  for (const id of ids) t.is(rt.run(['start', id]).status, 0);
  for (const c of info.containers.slice(0, 5)) {
    const addr = rt.run(['exec', c.id, '/bin/ip', '-o', '-4', 'addr', 'show', 'eth0']);
    t.regex(addr.stdout, new RegExp(`inet ${c.address.replaceAll('.', '\\.')}/16 `));
  }
  for (const id of ids) t.is(rt.run(['delete', '--force', id]).status, 0);
  t.is(inspectNetwork(rt, net.name).leases, 0);
  removeAndCheck(t, rt, net.name, net.subnet);
});

test.serial('bad input: a missing network is created on demand; no new netns, a bad group, removing a busy network are refused', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);

  const shared = await makeNetBundle(t, rootfs, 'x', {
    network: net.name,
    change: (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network');
    },
  });
  const r1 = rt.run(['create', '--bundle', shared, containerId()]);
  t.is(r1.status, 1);
  t.regex(runtimeError(r1.stderr)?.msg ?? '', /needs a new network namespace/);

  const badGroup = await makeNetBundle(t, rootfs, 'x', { network: net.name, group: 'a/b' });
  const r2 = rt.run(['create', '--bundle', badGroup, containerId()]);
  t.is(r2.status, 2);
  t.regex(runtimeError(r2.stderr)?.msg ?? '', /group `a\/b`: character `\/` at 1/);

  const badName = rt.run(['network', 'create', 'Bad!']);
  t.is(badName.status, 2);
  const dup = rt.run(['network', 'create', net.name]);
  t.is(dup.status, 1);
  t.regex(runtimeError(dup.stderr)?.msg ?? '', /exists already/);
  const collide = rt.run(['network', 'create', '--subnet', net.subnet, `${net.name.slice(0, 10)}x`]);
  t.is(collide.status, 2);
  t.regex(runtimeError(collide.stderr)?.msg ?? '', /collides with the host's route/);

  // A network that does not exist yet is created on demand, with the defaults.
  const fresh = uniqueBridge();
  t.teardown(() => {
    rt.run(['network', 'rm', '--force', fresh]);
  });
  const onDemand = containerId();
  const ip = await runOnNetwork(t, rt, rootfs, onDemand, { network: fresh, args: ['/bin/sleep', '60'] });
  const freshInfo = inspectNetwork(rt, fresh);
  t.true(freshInfo.nat);
  t.not(freshInfo.subnet, net.subnet);
  t.is(ip.split('.').slice(0, 2).join('.'), freshInfo.subnet.split('.').slice(0, 2).join('.'));
  t.is(rt.run(['delete', '--force', onDemand]).status, 0);
  removeAndCheck(t, rt, fresh, freshInfo.subnet);

  const id = containerId();
  await runOnNetwork(t, rt, rootfs, id, { network: net.name, args: ['/bin/sleep', '60'] });
  const busy = rt.run(['network', 'rm', net.name]);
  t.is(busy.status, 1);
  t.regex(runtimeError(busy.stderr)?.msg ?? '', /1 address\(es\) leased/);
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.is(inspectNetwork(rt, net.name).leases, 0);
  removeAndCheck(t, rt, net.name, net.subnet);
  t.is(rt.run(['network', 'inspect', net.name]).status, 1);
});

test.serial('a bundle with the network annotations still runs under crun and runc (which leave its network namespace empty)', async (t) => {
  const rootfs = await makeNetRootfs(t);
  for (const name of ['crun', 'runc'] as const) {
    const rt = await useRuntime(t, name);
    const id = containerId();
    const bundle = await makeNetBundle(t, rootfs, id, {
      network: 'berth0',
      group: 'app',
      args: ['/bin/ip', '-o', 'link'],
      change: (c) => {
        c.ociVersion = '1.0.2'; // crun 1.8.1 reads up to 1.1
      },
    });
    const r = rt.run(['run', '--bundle', bundle, id]);
    t.is(r.status, 0, `${name}: ${r.stderr}`);
    t.regex(r.stdout, /\blo\b/, `${name}: lo`);
    t.notRegex(r.stdout, /eth0/, `${name}: no eth0`);
  }
});
