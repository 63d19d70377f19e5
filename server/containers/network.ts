/**
 * The daemon's network (BERTH_NETWORK): created with BERTH_NETWORK_SUBNET and
 * BERTH_NETWORK_NAT before the first container joins it (the runtime would otherwise create
 * it with its defaults), through the runtime client's network verbs (docs/networking.md).
 */
import { constants } from 'node:os';
import type { Logger } from '../core/index.js';
import { RuntimeError, type RuntimeClient } from '../runtime/index.js';

export interface NetworkSettings {
  name: string;
  /** @defaultValue the runtime's choice (the first free 10.N.0.0/16) */
  subnet?: string;
  nat: boolean;
}

/** The network's address and settings (`network inspect`), or undefined when it does not exist. */
export async function inspectNetwork(runtime: RuntimeClient, name: string): Promise<{ subnet: string; nat: boolean } | undefined> {
  const info = await runtime.networkInspect(name);
  return info === undefined ? undefined : { subnet: info.subnet, nat: info.nat };
}

/**
 * Create the network unless it exists. An existing one keeps its subnet (changing it means
 * removing the network), but takes the configured NAT setting (`network update`, which
 * running containers follow): what it has is returned with `created: false`, and
 * `natChanged` when NAT was turned on or off.
 */
export async function ensureNetwork(
  runtime: RuntimeClient,
  n: NetworkSettings,
): Promise<{ created: boolean; natChanged?: boolean; subnet: string; nat: boolean }> {
  let existing = await inspectNetwork(runtime, n.name);
  if (!existing) {
    try {
      await runtime.networkCreate(n.name, { nat: n.nat, ...(n.subnet ? { subnet: n.subnet } : {}) });
      const made = await inspectNetwork(runtime, n.name);
      return { created: true, subnet: made?.subnet ?? n.subnet ?? '', nat: made?.nat ?? n.nat };
    } catch (e) {
      if (!(e instanceof RuntimeError && e.errno === constants.errno.EEXIST)) throw e;
      // Another create won the race, or the host has a link of that name (then not ours: e says so).
      existing = await inspectNetwork(runtime, n.name);
      if (!existing) throw e;
    }
  }
  if (existing.nat === n.nat) return { created: false, subnet: existing.subnet, nat: existing.nat };
  await runtime.networkUpdate(n.name, { nat: n.nat });
  return { created: false, natChanged: true, subnet: existing.subnet, nat: n.nat };
}

/** ensureNetwork, saying what it did (made it, turned NAT on or off, kept another subnet) in the log. */
export async function prepareNetwork(runtime: RuntimeClient, want: NetworkSettings, log: Logger): Promise<void> {
  const n = await ensureNetwork(runtime, want);
  if (n.created) log.info({ network: want.name, subnet: n.subnet, nat: n.nat }, 'network created');
  if (n.natChanged) log.info({ network: want.name, nat: n.nat }, `outbound NAT turned ${n.nat ? 'on' : 'off'} as configured (BERTH_NETWORK_NAT)`);
  if (!n.created && want.subnet !== undefined && want.subnet !== n.subnet) {
    log.warn(
      { network: want.name, subnet: n.subnet, configured: want.subnet },
      'the network exists with another subnet than BERTH_NETWORK_SUBNET; it keeps it (remove it with `berth-runtime network rm` while no container runs to apply the configuration)',
    );
  }
}
