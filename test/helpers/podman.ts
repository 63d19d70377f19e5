/**
 * A private podman for integration tests (Debian's podman, conmon and netavark): storage,
 * run root, temp dir, network config and a containers.conf of its own under one temp
 * directory (CONTAINERS_CONF), so nothing of the host's podman changes. cgroupfs (Berth
 * does not speak to systemd), events in a file, rlimits under this machine's hard limits,
 * a default bridge on a subnet of its own. The image is the busybox Berth builds, exported
 * by Berth as a `docker save` archive and loaded with `podman load`: no network.
 *
 * Podman passes no `--root` to the OCI runtime unless told per command, and not to the
 * cleanup command conmon runs: berth-runtime keeps these containers in its default root
 * (/run/berth), runc in its own (/run/runc), each under podman's 64-hex ids.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxArchive, clientRuntimes, unmountUnder } from './oci-clients.js';
import { requireBinary, requireRoot } from './prereq.js';
import { runtimeBinary } from './runtime.js';

export interface Podman {
  dir: string;
  /** The busybox image, as podman named it on load. */
  image: string;
  /** The environment podman runs with (CONTAINERS_CONF). */
  env: NodeJS.ProcessEnv;
  /** argv for `podman --runtime <runtime> ...args` with the private stores. */
  argv(runtime: string, args: string[]): string[];
  /** Run podman with `runtime` to the end (60 s at most). */
  run(runtime: string, args: string[], options?: { timeoutMs?: number }): SpawnSyncReturns<string>;
  /** Remove every container, unmount what podman left mounted, remove the directory. */
  stop(): Promise<void>;
}

/** A soft:hard rlimit no higher than this machine's hard limit (podman would ask for more). */
function ulimit(name: 'nofile' | 'nproc', wanted: number): string {
  const r = spawnSync('sh', ['-c', `ulimit -H${name === 'nofile' ? 'n' : 'u'}`], { encoding: 'utf8' });
  const hard = r.stdout.trim();
  const n = hard === 'unlimited' ? wanted : Math.min(wanted, Number(hard));
  return `${name}=${n}:${n}`;
}

export async function startPodman(): Promise<Podman> {
  requireRoot('podman with berth-runtime');
  const podmanBinary = requireBinary('/usr/bin/podman', 'podman');
  requireBinary('/usr/bin/conmon', 'conmon');
  requireBinary('/usr/lib/podman/netavark', 'netavark');
  requireBinary('/usr/sbin/runc', 'runc');
  const dir = await mkdtemp(join(tmpdir(), 'berth-podman-'));
  const conf = join(dir, 'containers.conf');
  const subnet = `10.213.${Math.floor(Math.random() * 250) + 1}.0/24`;
  await writeFile(
    conf,
    [
      '[containers]',
      `default_ulimits = ["${ulimit('nofile', 1024)}", "${ulimit('nproc', 4096)}"]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      '[network]',
      'network_backend = "netavark"',
      `network_config_dir = "${join(dir, 'networks')}"`,
      `default_subnet = "${subnet}"`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const argv = (runtime: string, args: string[]): string[] => [
    '--root',
    join(dir, 'storage'),
    '--runroot',
    join(dir, 'run'),
    '--tmpdir',
    join(dir, 'tmp'),
    '--runtime',
    runtime,
    ...args,
  ];
  const run = (runtime: string, args: string[], options: { timeoutMs?: number } = {}): SpawnSyncReturns<string> =>
    spawnSync(podmanBinary, argv(runtime, args), { encoding: 'utf8', env, timeout: options.timeoutMs ?? 60_000 });

  const podman: Podman = {
    dir,
    image: 'localhost/busybox:latest',
    env,
    argv,
    run,
    stop: async () => {
      for (const rt of clientRuntimes) run(rt.path, ['rm', '--all', '--force', '--time', '0']);
      unmountUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    const archive = await busyboxArchive(dir);
    const loaded = run(runtimeBinary, ['load', '--input', archive]);
    if (loaded.status !== 0) throw new Error(`podman load failed: ${loaded.stderr}`);
    if (!loaded.stdout.includes(podman.image)) throw new Error(`podman load named the image otherwise: ${loaded.stdout}`);
  } catch (e) {
    await podman.stop();
    throw e;
  }
  return podman;
}
