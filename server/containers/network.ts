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
 * Create the network unless it exists. An existing one keeps its subnet and NAT setting:
 * what it has is returned with `created: false`, for the caller to compare.
 */
export async function ensureNetwork(runtime: RuntimeClient, n: NetworkSettings): Promise<{ created: boolean; subnet: string; nat: boolean }> {
  const existing = await inspectNetwork(runtime, n.name);
  if (existing) return { created: false, subnet: existing.subnet, nat: existing.nat };
  const r = await runtimeNetwork(runtime, ['create', ...(n.subnet ? ['--subnet', n.subnet] : []), ...(n.nat ? [] : ['--no-nat']), n.name]);
  if (r.code !== 0) {
    const meanwhile = /exists/.test(r.stderr) ? await inspectNetwork(runtime, n.name) : undefined;
    if (meanwhile) return { created: false, subnet: meanwhile.subnet, nat: meanwhile.nat };
    throw parseRuntimeError(r.stderr, undefined, { command: 'network create', exitCode: r.code });
  }
  const made = await inspectNetwork(runtime, n.name);
  return { created: true, subnet: made?.subnet ?? n.subnet ?? '', nat: made?.nat ?? n.nat };
}
