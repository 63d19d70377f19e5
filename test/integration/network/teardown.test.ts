/**
 * What a network leaves behind: nothing after 200 create/delete cycles; a container that
 * died with its monitor is detached by delete; a lease whose container state is gone is
 * reclaimed by `network gc`; `run` in the foreground detaches when the program ends.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeClient } from '../../../server/runtime/index.js';
import { containerId, useRuntime, type Runtime } from '../../helpers/runtime.js';
import { inspectNetwork, makeNetBundle, makeNetRootfs, networkLeftovers, nftElements, useNetwork, vethPrefix } from '../../helpers/network.js';

function setsEmpty(t: import('ava').ExecutionContext, name: string): void {
  t.deepEqual(nftElements(name, 'bridge', 'ports'), [], 'no port element');
  t.deepEqual(nftElements(name, 'bridge', 'src'), [], 'no source element');
  t.deepEqual(nftElements(name, 'bridge', 'grp', 'map'), [], 'no group element');
  t.deepEqual(nftElements(name, 'bridge', 'allow'), [], 'no allow element');
  t.deepEqual(nftElements(name, 'inet', 'pub', 'map'), [], 'no published port');
}

function veths(prefix: string): string[] {
  const out = spawnSync('/usr/sbin/ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((d) => d.startsWith(prefix));
}

function state(rt: Runtime, id: string): { pid: number } {
  return JSON.parse(rt.run(['state', id]).stdout) as { pid: number };
}

test('200 create/delete cycles leave no veth, no lease, no nft element, and then no bridge', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const bundle = await makeNetBundle(t, rootfs, 'cycle', { network: net.name, group: 'app', args: ['/bin/sleep', '60'] });
  const prefix = vethPrefix(net.subnet);
  for (let i = 0; i < 200; i++) {
    const id = `cycle-${i}-${containerId()}`;
    const r = rt.run(['run', '-d', '--bundle', bundle, id]);
    if (r.status !== 0) {
      t.fail(`cycle ${i}: ${r.stderr}`);
      break;
    }
    const d = rt.run(['delete', '--force', id]);
    if (d.status !== 0) {
      t.fail(`cycle ${i} delete: ${d.stderr}`);
      break;
    }
  }
  t.is(inspectNetwork(rt, net.name).leases, 0);
  t.deepEqual(veths(prefix), []);
  setsEmpty(t, net.name);
  const rm2 = rt.run(['network', 'rm', net.name]);
  t.is(rm2.status, 0, rm2.stderr);
  t.deepEqual(networkLeftovers(rt, net.name, prefix), []);
});

test('a container that died with its monitor is detached by delete; a lease without state is reclaimed by gc', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const prefix = vethPrefix(net.subnet);
  const monitorOf = (id: string): number => {
    const r = spawnSync('/bin/sh', ['-c', `cat ${join(rt.root, id, 'state.json')}`], { encoding: 'utf8' });
    return (JSON.parse(r.stdout) as { monitorPid?: number; monitor_pid?: number; monitor?: number }).monitorPid ?? 0;
  };

  // Died with its monitor: SIGKILL both; delete still removes veth, elements and lease.
  const dead = containerId();
  const b1 = await makeNetBundle(t, rootfs, dead, { network: net.name, publish: '127.0.0.1:1:80', args: ['/bin/sleep', '60'] });
  t.is(rt.run(['run', '-d', '--bundle', b1, dead]).status, 0);
  const monitor = monitorOf(dead);
  if (monitor > 0) process.kill(monitor, 'SIGKILL');
  process.kill(state(rt, dead).pid, 'SIGKILL');
  t.is(inspectNetwork(rt, net.name).leases, 1);
  const del = rt.run(['delete', '--force', dead]);
  t.is(del.status, 0, del.stderr);
  t.is(inspectNetwork(rt, net.name).leases, 0);
  setsEmpty(t, net.name);

  // State gone (a lost /run, a crash mid-delete): gc reclaims the lease and its elements.
  const lost = containerId();
  const b2 = await makeNetBundle(t, rootfs, lost, { network: net.name, group: 'lost-app', publish: '127.0.0.1:2:80', args: ['/bin/sleep', '60'] });
  t.is(rt.run(['run', '-d', '--bundle', b2, lost]).status, 0);
  const keep = containerId();
  const b3 = await makeNetBundle(t, rootfs, keep, { network: net.name, args: ['/bin/sleep', '60'] });
  t.is(rt.run(['run', '-d', '--bundle', b3, keep]).status, 0);
  const lostPid = state(rt, lost).pid;
  const lostMonitor = monitorOf(lost);
  if (lostMonitor > 0) process.kill(lostMonitor, 'SIGKILL');
  process.kill(lostPid, 'SIGKILL');
  // The cgroup of the lost container is not this test's concern: delete cleans it while the state exists.
  await new Promise((r) => setTimeout(r, 200));
  const lostAddress = inspectNetwork(rt, net.name).containers.find((c) => c.id === lost)?.address;
  t.truthy(lostAddress);
  spawnSync('/bin/sh', ['-c', `cp -a ${join(rt.root, lost)} ${join(rt.root, lost)}.saved`]);
  await rm(join(rt.root, lost), { recursive: true, force: true });
  // As the daemon does at start: through the client.
  const reclaimed = await new RuntimeClient({ root: rt.root }).networkGc();
  t.is(reclaimed.length, 1);
  t.regex(reclaimed[0] ?? '', new RegExp(`reclaimed ${lostAddress?.replaceAll('.', '\\.')} from container ${lost}`));
  const after = inspectNetwork(rt, net.name);
  t.deepEqual(
    after.containers.map((c) => c.id),
    [keep],
    'the live container keeps its lease',
  );
  t.is(nftElements(net.name, 'inet', 'pub', 'map').length, 0);
  t.is(nftElements(net.name, 'bridge', 'grp', 'map').length, 1);
  t.is(rt.run(['network', 'gc', '-q']).stdout, '', 'nothing more to reclaim');
  // Put the saved state back so the runtime can remove its cgroup and writable parts.
  spawnSync('/bin/sh', ['-c', `mv ${join(rt.root, lost)}.saved ${join(rt.root, lost)}`]);
  t.is(rt.run(['delete', '--force', lost]).status, 0, 'delete after gc: its lease is gone already');

  t.is(rt.run(['delete', '--force', keep]).status, 0);
  setsEmpty(t, net.name);
  t.deepEqual(veths(prefix), []);
  const rm2 = rt.run(['network', 'rm', net.name]);
  t.is(rm2.status, 0, rm2.stderr);
  t.deepEqual(networkLeftovers(rt, net.name, prefix), []);
});

test('run in the foreground gets its address and gives it back when the program ends', async (t) => {
  const rt = await useRuntime(t);
  const net = await useNetwork(t, rt);
  const rootfs = await makeNetRootfs(t);
  const id = containerId();
  const bundle = await makeNetBundle(t, rootfs, id, { network: net.name, args: ['/bin/ip', '-o', '-4', 'addr', 'show', 'eth0'] });
  const r = rt.run(['run', '--bundle', bundle, id]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`inet ${net.subnet.split('.').slice(0, 2).join('\\.')}\\.\\d+\\.\\d+/16`));
  t.is(inspectNetwork(rt, net.name).leases, 0);
  setsEmpty(t, net.name);
  const rm2 = rt.run(['network', 'rm', net.name]);
  t.is(rm2.status, 0, rm2.stderr);
  t.deepEqual(networkLeftovers(rt, net.name, vethPrefix(net.subnet)), []);
});
