/**
 * A new container's record from the request and its image (Docker's precedence, in
 * config.ts), and its OCI config: Berth's default isolation (defaultSpec, berth.init), the
 * image's layers under its own kept writable layer, the network in the group asked for
 * (else in one of its own), the attach socket, the log beside container.json, and the
 * limits asked for.
 */
import { join } from 'node:path';
import { BerthError, envRecord } from '../core/index.js';
import type { Image } from '../images/index.js';
import { defaultSpec, type OciSpec } from '../runtime/index.js';
import { checkWorkdir, mergeEnv, resolveProgram, resolveUser, type Limits } from './config.js';
import type { ContainerRecord, CreateRequest, HostMount } from './types.js';

export interface NewRecord {
  id: string;
  name: string;
  req: CreateRequest;
  image: Image;
  /** The image's unpacked layers, top first (its /etc/passwd and /etc/group name users). */
  lowers: readonly string[];
  limits: Limits;
  ports: { hostPort: number; containerPort: number }[];
  /** Checked already. @defaultValue none: the container is alone in its group */
  networkGroup?: string;
  /** Checked already. @defaultValue none: no user namespace */
  userns?: { hostId: number; size: number };
}

export async function recordFor(o: NewRecord): Promise<ContainerRecord> {
  const { req } = o;
  const ic = o.image.config.config ?? {};
  const program = resolveProgram(ic, req);
  const env = mergeEnv(ic.Env ?? [], req.env ?? []);
  const workdir = checkWorkdir(req.workdir ?? (ic.WorkingDir || '/'));
  const userSpec = req.user ?? (ic.User || undefined);
  const user = await resolveUser(userSpec, o.lowers);
  return {
    version: 1,
    id: o.id,
    name: o.name,
    image: req.image,
    imageDigest: o.image.digest,
    command: program.command,
    entrypoint: program.entrypoint,
    cmd: program.cmd,
    created: new Date().toISOString(),
    state: 'created',
    ports: o.ports,
    tty: req.tty ?? false,
    stdin: req.stdin ?? false,
    autoRemove: req.rm ?? false,
    limits: o.limits,
    ...(o.networkGroup === undefined ? {} : { networkGroup: o.networkGroup }),
    ...(o.userns === undefined ? {} : { userns: o.userns }),
    config: { env, workdir, ...(userSpec ? { user: userSpec } : {}), labels: { ...(ic.Labels ?? {}), ...(req.labels ?? {}) } },
    process: user,
  };
}

/** The container's config.json; `dir` is its directory (rw/ and container.log are there). */
export function containerSpec(rec: ContainerRecord, o: { dir: string; lowers: string[]; network: string; mounts?: readonly HostMount[] }): OciSpec {
  const spec = defaultSpec({
    args: rec.command,
    env: envRecord(rec.config.env),
    hostname: rec.id.slice(0, 12),
    layers: { lower: o.lowers, writable: join(o.dir, 'rw') },
    keepWritable: true,
    init: true,
    cwd: rec.config.workdir,
    limits: rec.limits,
    network: { name: o.network, group: rec.networkGroup ?? rec.id, ...(rec.ports.length > 0 ? { publish: rec.ports } : {}) },
    terminal: rec.tty,
    attach: true,
    stdin: rec.stdin,
    logPath: join(o.dir, 'container.log'),
    user: rec.process,
    ...(rec.userns ? { userns: rec.userns } : {}),
    // A transient container's exit is recorded from its exit frame: its monitor deletes it (no `delete` run).
    ...(rec.transient ? { deleteOnExit: true } : {}),
  });
  spec.mounts = [...(spec.mounts ?? []), ...(o.mounts ?? []).map(ociMount)];
  return spec;
}

/** A host mount as the runtime takes it; paths are absolute and free of what overlayfs' option list cannot hold. */
function ociMount(m: HostMount): NonNullable<OciSpec['mounts']>[number] {
  const paths = m.type === 'bind' ? [m.source, m.destination] : [m.destination, m.lower, m.upper, m.work];
  for (const p of paths) {
    if (!p.startsWith('/') || /[,:\0]/.test(p)) {
      throw new BerthError('E_BERTH_INTERNAL', `host mount path ${JSON.stringify(p)} must be absolute, without "," or ":"`, { details: { mount: m } });
    }
  }
  if (m.type === 'bind') return { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw', 'nosuid', 'nodev'] };
  return {
    destination: m.destination,
    type: 'overlay',
    source: 'overlay',
    options: [`lowerdir=${m.lower}`, `upperdir=${m.upper}`, `workdir=${m.work}`, 'redirect_dir=off', 'metacopy=off', 'nosuid', 'nodev'],
  };
}
