/**
 * The pure cgroup v2 path, in a guest: these machines boot hybrid and their v1 memory
 * hierarchy belongs to init, so memory.max, memory.events' oom_kill, the cgroup2-only mode
 * of berth-runtime and its device program on a pure-v2 host can only be exercised in a
 * kernel of our own. Debian's kernel boots under qemu (KVM when /dev/kvm exists, else TCG)
 * with an initramfs holding berth-runtime, busybox and the probe; test/kvm/guest-init.sh
 * runs the cases and prints one line each. The guest has no network device.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBinary, requireRoot } from '../helpers/prereq.js';
import { makeRootfs, runtimeBinary } from '../helpers/runtime.js';
import { tempDir } from '../helpers/temp-dir.js';

const here = dirname(fileURLToPath(import.meta.url));
const kernelDir = process.env.BERTH_TEST_KERNEL_DIR ?? '/var/cache/berth/test-kernel';

/** Copy `binary` and the shared libraries it loads (ldd) into `tree`, at the same paths. */
async function withLibraries(tree: string, binary: string, dest: string): Promise<void> {
  await mkdir(dirname(join(tree, dest)), { recursive: true });
  await copyFile(binary, join(tree, dest));
  await chmod(join(tree, dest), 0o755);
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  for (const m of ldd.matchAll(/(\/\S+\.so[.\d]*)/g)) {
    const lib = m[1]!;
    await mkdir(dirname(join(tree, lib)), { recursive: true });
    if (!existsSync(join(tree, lib))) await copyFile(lib, join(tree, lib));
  }
}

async function bootGuest(t: import('ava').ExecutionContext): Promise<Map<string, string>> {
  requireRoot('the cgroup v2 guest');
  const qemu = requireBinary('/usr/bin/qemu-system-x86_64', 'qemu-system-x86');
  const cpio = requireBinary('/bin/busybox', 'busybox-static');
  const vmlinuz = join(kernelDir, 'vmlinuz');
  const overlay = join(kernelDir, 'overlay.ko');
  if (!existsSync(vmlinuz) || !existsSync(overlay)) {
    throw new Error(
      `no test kernel in ${kernelDir}: scripts/test fetches it (apt-get download linux-image-6.1.0-*-amd64, then dpkg-deb -x); or set BERTH_TEST_KERNEL_DIR`,
    );
  }
  const work = await tempDir(t, 'berth-guest-');
  const tree = join(work, 'tree');
  await makeRootfs(join(tree, 'guest', 'rootfs'));
  await mkdir(join(tree, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(tree, 'bin', 'busybox'));
  await chmod(join(tree, 'bin', 'busybox'), 0o755);
  await copyFile(join(here, 'guest-init.sh'), join(tree, 'init'));
  await chmod(join(tree, 'init'), 0o755);
  await copyFile(overlay, join(tree, 'overlay.ko'));
  await withLibraries(tree, runtimeBinary, '/guest/berth-runtime');
  const editor = join(work, 'edit-config');
  const cflags = execFileSync('pkg-config', ['--cflags', '--libs', 'json-c'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  execFileSync('gcc', ['-Wall', '-Wextra', '-Werror', '-std=gnu11', '-O2', '-o', editor, join(here, 'edit-config.c'), ...cflags]);
  await withLibraries(tree, editor, '/guest/edit-config');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');

  const initrd = join(work, 'initrd.cpio');
  execFileSync('sh', ['-c', `cd "$1" && find . | "$2" cpio -o -H newc > "$3"`, 'sh', tree, cpio, initrd], { stdio: ['ignore', 'ignore', 'pipe'] });

  const accel = existsSync('/dev/kvm') ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg'];
  t.log(`booting ${vmlinuz} with ${accel[1]}`);
  const args = [
    ...accel,
    '-m',
    '768',
    '-smp',
    '2',
    '-nographic',
    '-no-reboot',
    '-nodefaults',
    '-serial',
    'stdio',
    '-kernel',
    vmlinuz,
    '-initrd',
    initrd,
    '-append',
    'console=ttyS0 panic=-1 quiet loglevel=3',
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the guest did not finish in 300 s; its console said:\n${out.slice(-4000)}`));
    }, 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
  await writeFile(join(work, 'console.log'), output);
  const lines = new Map<string, string>();
  for (const m of output.matchAll(/^BERTH-GUEST (\S+) ?(.*?)\r?$/gm)) lines.set(m[1]!, m[2]!);
  if (!lines.has('done')) throw new Error(`the guest did not run to the end; its console said:\n${output.slice(-4000)}`);
  return lines;
}

test('on a pure cgroup v2 kernel: memory.max kills and is reported, pids.max, cpu.max, the device program, an unmappable root refused; then hybrid with pids and cpu moved to cgroup2', async (t) => {
  const g = await bootGuest(t);
  const line = (k: string): string => g.get(k) ?? '';
  for (const [k, v] of g) t.log(`${k}: ${v}`);
  t.regex(line('kernel'), /fs-type=63677270 controllers=.*memory/, 'cgroup2 (CGROUP2_SUPER_MAGIC) at /sys/fs/cgroup');

  // Memory.
  t.regex(line('oom-files'), /max=33554432 swap=0/, 'memory.max, and no swap beyond it');
  t.regex(line('oom-state'), /"exitCode":137/);
  t.regex(line('oom-state'), /"oomKilled":true/);
  const oom = JSON.parse(line('oom-stats')) as { memory: { limit: number }; oomKills: number };
  t.is(oom.memory.limit, 33554432);
  t.true(oom.oomKills >= 1);
  t.regex(line('calm-state'), /"exitCode":0/);
  t.regex(line('calm-state'), /"oomKilled":false/);

  // pids.
  const bomb = JSON.parse(line('bomb-stats')) as { pids: { current: number; limit: number } };
  t.deepEqual(bomb.pids, { current: 20, limit: 20 });
  t.regex(line('bomb-log'), /\\"forked\\":19,\\"error\\":\\"Resource temporarily unavailable\\"/);

  // Devices: the eBPF program alone (no v1 controller on this kernel).
  t.regex(line('dev-denied'), /Operation not permitted/);
  t.regex(line('dev-denied'), /rc=1/);
  t.regex(line('dev-allowed'), /rc=0/);

  // cpu.max and cpu.weight.
  t.regex(line('spin-files'), /max=25000 100000 weight=20/);
  const spin = /wall=(\d+) (.*)$/.exec(line('spin-stats'));
  const wall = Number(spin?.[1]);
  const cpu = ((JSON.parse(spin?.[2] ?? '{}') as { cpu?: { usageNanoseconds: number } }).cpu?.usageNanoseconds ?? 0) / 1e9;
  t.log(`guest CPU hog: ${cpu.toFixed(3)} s of CPU in about ${wall} s at a quota of 0.25`);
  t.true(cpu <= 0.25 * (wall + 1) + 0.1, `used ${cpu} s`);
  t.true(cpu >= 0.25 * 2 - 0.2, `used ${cpu} s: the hog did not get its share`);

  // linux.resources.unified.
  t.is(line('unified-ok').trim(), '77', 'the container sees its own cgroup2 pids.max');
  t.regex(line('unified-bad'), /set linux\.resources\.unified\["nosuch\.max"\] to 1: open \/sys\/fs\/cgroup\/berth\/unibad\/nosuch\.max/);

  // A user namespace whose root cannot be idmapped (tmpfs before Linux 6.3): a clear error.
  t.regex(line('userns'), /does not support idmapped mounts/);
  t.is(line('leftovers'), 'cgroups= state=', 'nothing is left in the guest');

  // A hybrid host with pids and cpu moved to cgroup2: one container uses both hierarchies.
  t.regex(
    line('hybrid-layout'),
    /^cpu:0 memory:[1-9]\d* pids:0 unified=.*\bcpu\b.*\bpids\b/,
    'memory on v1, pids and cpu on cgroup2 (hierarchy 0 in /proc/cgroups)',
  );
  t.is(line('hybrid-files'), 'pids.max=15 cpu.max=30000 100000 memory.limit_in_bytes=67108864');
  const hybrid = JSON.parse(line('hybrid-stats') || '{}') as { memory?: { limit: number }; pids?: { current: number; limit: number } };
  t.deepEqual(hybrid.pids, { current: 15, limit: 15 }, 'pids read from cgroup2');
  t.is(hybrid.memory?.limit, 67108864, 'memory read from v1');
  t.is(line('hybrid-leftovers'), 'unified= memory=');
});
