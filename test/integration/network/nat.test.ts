/**
 * Outbound NAT, against an "outside world" modelled by a network namespace this test
 * creates and routes to (198.18.R.0/30, the benchmarking range): a container reaches it
 * through NAT when NAT is on, and cannot when it is off, even though that outside knows
 * the way back. Nothing dials any other address.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerId, useRuntime } from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { background, containerGet, hostGet, makeNetRootfs, networkLeftovers, runOnNetwork, useNetwork, vethPrefix, waitAnswer } from '../../helpers/network.js';

function ip(args: string[]): void {
  const r = spawnSync('/usr/sbin/ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

interface Outside {
  ns: string;
  /** The outside's address (an HTTP server on :8080 answers "outside"). */
  addr: string;
  /** The host's address on the link to it. */
  hostAddr: string;
}

/** A namespace with one veth to the host and busybox httpd on it; removed in teardown. */
async function makeOutside(t: import('ava').ExecutionContext): Promise<Outside> {
  const tag = randomBytes(3).toString('hex');
  const ns = `berth-out-${tag}`;
  const hostDev = `bo${tag}`;
  const r = randomInt(0, 256);
  const o: Outside = { ns, addr: `198.18.${r}.2`, hostAddr: `198.18.${r}.1` };
  ip(['netns', 'add', ns]);
  t.teardown(() => {
    spawnSync('/usr/sbin/ip', ['netns', 'del', ns]);
    spawnSync('/usr/sbin/ip', ['link', 'del', hostDev]);
  });
  ip(['link', 'add', hostDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  ip(['addr', 'add', `${o.hostAddr}/30`, 'dev', hostDev]);
  ip(['link', 'set', hostDev, 'up']);
  ip(['-n', ns, 'addr', 'add', `${o.addr}/30`, 'dev', 'eth0']);
  ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  const www = await tempDir(t, 'berth-outside-');
  await mkdir(join(www, 'www'));
  await writeFile(join(www, 'www', 'index.html'), 'outside\n');
  background(t, '/usr/sbin/ip', ['netns', 'exec', ns, '/bin/busybox', 'httpd', '-f', '-p', `${o.addr}:8080`, '-h', join(www, 'www')]);
  return o;
}

test('NAT on: a container reaches the outside (which has no route back to it); NAT off: it cannot, even with a route back', async (t) => {
  const rt = await useRuntime(t);
  const outside = await makeOutside(t);
  const withNat = await useNetwork(t, rt);
  const noNat = await useNetwork(t, rt, ['--no-nat']);
  t.true(withNat.nat);
  t.false(noNat.nat);
  t.is((await import('node:fs')).readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1', 'ip_forward is on while a NAT network exists');
  // The outside knows the way back to the NAT-less network only: without the firewall, its
  // containers would be routed there; the NAT network's containers can only be answered
  // through the host's address (masquerade).
  ip(['-n', outside.ns, 'route', 'add', noNat.subnet, 'via', outside.hostAddr]);
  t.is(await waitAnswer(() => hostGet(outside.addr, 8080)), 'outside\n', 'the host reaches the outside');

  const rootfs = await makeNetRootfs(t);
  const inNat = containerId();
  const inNoNat = containerId();
  await runOnNetwork(t, rt, rootfs, inNat, { network: withNat.name, args: ['/bin/sleep', '60'] });
  await runOnNetwork(t, rt, rootfs, inNoNat, { network: noNat.name, args: ['/bin/sleep', '60'] });

  t.is(containerGet(rt, inNat, outside.addr, 8080), 'outside\n', 'NAT on: reached');
  t.is(containerGet(rt, inNoNat, outside.addr, 8080), undefined, 'NAT off: not reached');

  for (const id of [inNat, inNoNat]) t.is(rt.run(['delete', '--force', id]).status, 0);
  for (const n of [withNat, noNat]) {
    const rm = rt.run(['network', 'rm', n.name]);
    t.is(rm.status, 0, rm.stderr);
    t.deepEqual(networkLeftovers(rt, n.name, vethPrefix(n.subnet)), []);
  }
});

test('network update turns NAT off and on again under a running container', async (t) => {
  const rt = await useRuntime(t);
  const outside = await makeOutside(t);
  const net = await useNetwork(t, rt);
  t.is(await waitAnswer(() => hostGet(outside.addr, 8080)), 'outside\n', 'the host reaches the outside');
  const rootfs = await makeNetRootfs(t);
  const id = containerId();
  await runOnNetwork(t, rt, rootfs, id, { network: net.name, args: ['/bin/sleep', '60'] });
  const natOf = () => (JSON.parse(rt.run(['network', 'inspect', net.name]).stdout) as { nat: boolean }).nat;

  t.is(containerGet(rt, id, outside.addr, 8080), 'outside\n', 'NAT on: reached');
  const off = rt.run(['network', 'update', '--no-nat', net.name]);
  t.is(off.status, 0, off.stderr);
  t.false(natOf());
  t.is(containerGet(rt, id, outside.addr, 8080), undefined, 'NAT turned off: not reached');
  const on = rt.run(['network', 'update', '--nat', net.name]);
  t.is(on.status, 0, on.stderr);
  t.true(natOf());
  t.is(containerGet(rt, id, outside.addr, 8080), 'outside\n', 'NAT on again: reached');
  const both = rt.run(['network', 'update', '--nat', '--no-nat', net.name]);
  t.is(both.status, 2);
  t.regex(both.stderr, /one of --nat and --no-nat/);
});
