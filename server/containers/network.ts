/**
 * The daemon's network (BERTH_NETWORK): created with BERTH_NETWORK_SUBNET and
 * BERTH_NETWORK_NAT before the first container joins it (the runtime would otherwise create
 * it with its defaults). RuntimeClient has no `network create`/`inspect` yet, so these run
 * the binary directly, argv only, as the client does.
 */
import { run } from '../core/index.js';
import { parseRuntimeError, type RuntimeClient } from '../runtime/index.js';

export interface NetworkSettings {
  name: string;
  /** @defaultValue the runtime's choice (the first free 10.N.0.0/16) */
  subnet?: string;
  nat: boolean;
}

async function runtimeNetwork(runtime: RuntimeClient, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(runtime.binary, ['--root', runtime.root, '--log-format=json', 'network', ...args], { allowFailure: true, timeoutMs: runtime.timeoutMs });
}

/** The network's address and settings (`network inspect`), or undefined when it does not exist. */
export async function inspectNetwork(runtime: RuntimeClient, name: string): Promise<{ subnet: string; nat: boolean } | undefined> {
  const r = await runtimeNetwork(runtime, ['inspect', name]);
  if (r.code === 0) return JSON.parse(r.stdout) as { subnet: string; nat: boolean };
  if (/does not exist/.test(r.stderr)) return undefined;
  throw parseRuntimeError(r.stderr, undefined, { command: 'network inspect', exitCode: r.code });
}

/**
 * Create the network unless it exists. An existing one keeps its subnet (changing it means
 * removing the network), but takes the configured NAT setting (`network update`, which
 * running containers follow): what it has is returned with `created: false`, and
 * `natChanged` when NAT was turned on or off.
 */
export async function ensureNetwork(runtime: RuntimeClient, n: NetworkSettings): Promise<{ created: boolean; natChanged?: boolean; subnet: string; nat: boolean }> {
  let existing = await inspectNetwork(runtime, n.name);
  if (!existing) {
    const r = await runtimeNetwork(runtime, ['create', ...(n.subnet ? ['--subnet', n.subnet] : []), ...(n.nat ? [] : ['--no-nat']), n.name]);
    if (r.code === 0) {
      const made = await inspectNetwork(runtime, n.name);
      return { created: true, subnet: made?.subnet ?? n.subnet ?? '', nat: made?.nat ?? n.nat };
    }
    existing = /exists/.test(r.stderr) ? await inspectNetwork(runtime, n.name) : undefined;
    if (!existing) throw parseRuntimeError(r.stderr, undefined, { command: 'network create', exitCode: r.code });
  }
  if (existing.nat === n.nat) return { created: false, subnet: existing.subnet, nat: existing.nat };
  const u = await runtimeNetwork(runtime, ['update', n.nat ? '--nat' : '--no-nat', n.name]);
  if (u.code !== 0) throw parseRuntimeError(u.stderr, undefined, { command: 'network update', exitCode: u.code });
  return { created: false, natChanged: true, subnet: existing.subnet, nat: n.nat };
}
