/**
 * Where berth-runtime mounts in a container's root: what it creates there when the root
 * lacks it (the directories on the way, then an empty file or directory to mount on) lands
 * in the container's writable layer, and commit leaves those mount points out
 * (docs/images.md, "Commit").
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../core/index.js';
import { annotations, validateSpec } from './bundle.js';
import type { OciSpec } from './oci-spec.js';

/** The files berth-runtime bind-mounts from the container's state for a network (docs/networking.md). */
export const networkFiles = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'] as const;

/**
 * The container paths berth-runtime mounts over for `spec`: every `mounts[].destination`,
 * and with a network (`berth.network`) the network's /etc files, which the runtime adds
 * itself.
 */
export function mountDestinations(spec: OciSpec): string[] {
  const out = (spec.mounts ?? []).map((m) => m.destination);
  if (spec.annotations?.[annotations.network] !== undefined) out.push(...networkFiles);
  return out;
}

/** The config.json of the bundle in `dir`, checked as writeBundle checks it. */
export async function readBundle(dir: string): Promise<OciSpec> {
  const path = join(dir, 'config.json');
  const text = await readFile(path, 'utf8');
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new BerthError('E_BERTH_INTERNAL', `${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  return validateSpec(spec, `bundle ${dir}`);
}
