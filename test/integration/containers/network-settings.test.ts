/**
 * The daemon's network follows BERTH_NETWORK_NAT even when it exists already: ensureNetwork
 * turns NAT off (or on) with `network update`, and says so; the subnet of an existing
 * network is kept. Real bridges and nft tables, under a unique name.
 */
import test from 'ava';
import { join } from 'node:path';
import { ensureNetwork, inspectNetwork } from '../../../server/containers/network.js';
import { run } from '../../../server/core/index.js';
import { RuntimeClient } from '../../../server/runtime/index.js';
import { uniqueNetworkName } from '../../helpers/containers.js';
import { requireBinary, requireRoot } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';

test('an existing network takes the configured NAT setting, and keeps its subnet', async (t) => {
  requireRoot('networks');
  requireBinary('/usr/sbin/nft', 'nftables');
  const runtime = new RuntimeClient({ root: join(await tempDir(t, 'bn-'), 'run') });
  const name = uniqueNetworkName();
  t.teardown(async () => {
    await run(runtime.binary, ['--root', runtime.root, 'network', 'rm', '--force', name], { allowFailure: true });
  });
  const made = await ensureNetwork(runtime, { name, nat: true });
  t.like(made, { created: true, nat: true });
  const again = await ensureNetwork(runtime, { name, nat: true });
  t.like(again, { created: false, nat: true, subnet: made.subnet });
  t.is(again.natChanged, undefined);
  const off = await ensureNetwork(runtime, { name, nat: false, subnet: '10.250.0.0/16' });
  t.like(off, { created: false, natChanged: true, nat: false, subnet: made.subnet });
  t.like(await inspectNetwork(runtime, name), { nat: false, subnet: made.subnet });
  const on = await ensureNetwork(runtime, { name, nat: true });
  t.like(on, { natChanged: true, nat: true });
  t.like(await inspectNetwork(runtime, name), { nat: true });
});
