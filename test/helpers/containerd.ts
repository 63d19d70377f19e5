/**
 * A private containerd for integration tests (Debian's containerd and its ctr): its own
 * root, state and socket under a temp directory, no CRI plugin, started by the test and
 * stopped by its pid. The image is the busybox Berth builds, exported by Berth as a
 * `docker save` archive and imported with `ctr images import`: no network.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './http.js';
import { busyboxArchive, unmountUnder } from './oci-clients.js';
import { requireBinary, requireRoot } from './prereq.js';

export interface Containerd {
  dir: string;
  /** The busybox image as ctr names it. */
  image: string;
  /** argv for `ctr --address <socket> ...args`. */
  argv(args: string[]): string[];
  /** ctr to the end (60 s at most). */
  ctr(args: string[], options?: { timeoutMs?: number }): SpawnSyncReturns<string>;
  /** Stop containerd (SIGTERM by pid, then SIGKILL), unmount what it left, remove the directory. */
  stop(): Promise<void>;
}

const ctrBinary = '/usr/bin/ctr';

export async function startContainerd(): Promise<Containerd> {
  requireRoot('containerd with berth-runtime');
  const containerd = requireBinary('/usr/bin/containerd', 'containerd');
  requireBinary(ctrBinary, 'containerd');
  requireBinary('/usr/bin/containerd-shim-runc-v2', 'containerd');
  const dir = await mkdtemp(join(tmpdir(), 'berth-containerd-'));
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const log = createWriteStream(join(dir, 'containerd.log'));
  const daemon = spawn(containerd, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout.pipe(log);
  daemon.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const argv = (args: string[]): string[] => ['--address', socket, ...args];
  const ctr = (args: string[], options: { timeoutMs?: number } = {}): SpawnSyncReturns<string> =>
    spawnSync(ctrBinary, argv(args), { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });

  const c: Containerd = {
    dir,
    image: 'docker.io/library/busybox:latest',
    argv,
    ctr,
    stop: async () => {
      if (daemon.exitCode === null && daemon.pid !== undefined) {
        process.kill(daemon.pid, 'SIGTERM');
        const killed = setTimeout(() => daemon.pid !== undefined && daemon.exitCode === null && process.kill(daemon.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(killed);
      }
      unmountUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('containerd to listen', async () => (existsSync(socket) && ctr(['version']).status === 0 ? true : undefined), 30_000);
    const archive = await busyboxArchive(dir);
    const imported = ctr(['images', 'import', archive]);
    if (imported.status !== 0) throw new Error(`ctr images import failed: ${imported.stderr}`);
    if (!ctr(['images', 'ls', '--quiet']).stdout.split('\n').includes(c.image)) throw new Error(`ctr named the image otherwise: ${imported.stdout}`);
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}
