/**
 * The cgroup v2 path for real, on a hybrid host: the pids and cpu controllers are moved from
 * their v1 hierarchies to the cgroup2 mount (/sys/fs/cgroup/unified), containers get
 * pids.max, cpu.max and cpu.weight there, and the controllers are moved back afterwards.
 *
 * This file must run alone (scripts/test runs it as its own tier, after the others): while
 * it runs, no other cgroup on the machine has a pids or cpu controller. The layout is
 * restored in an after.always hook even when a test fails. The memory controller is never
 * touched: the machine's own init uses its v1 hierarchy.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerId, leftovers, makeBundle, useRuntime, type OciConfig, type Runtime } from '../helpers/runtime.js';
import { requireRoot } from '../helpers/prereq.js';

const moved = ['pids', 'cpu'] as const;
// A pure v2 host already has pids and cpu on cgroup2 at /sys/fs/cgroup: the same checks run
// there without moving anything.
const pureV2 = (() => {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === '/sys/fs/cgroup' && l.includes(' - cgroup2 '));
  } catch {
    return false;
  }
})();
const unified = pureV2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';

/** The hierarchy id of each controller in /proc/cgroups (0: not bound to a v1 hierarchy). */
function hierarchyOf(name: string): number {
  const line = readFileSync('/proc/cgroups', 'utf8').split('\n').find((l) => l.split('\t')[0] === name);
  if (!line) throw new Error(`/proc/cgroups has no ${name} controller`);
  return Number(line.split('\t')[1]);
}

function isMountPoint(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
}

function childCgroups(dir: string): string[] {
  return readdirSync(dir).filter((e) => statSync(join(dir, e)).isDirectory());
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Write a cgroup file, retrying EBUSY (the kernel frees a controller lazily). */
async function writeRetrying(file: string, value: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      writeFileSync(file, value);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

let movedAway = false;

test.before(async () => {
  requireRoot('moving cgroup controllers');
  if (pureV2) return;
  if (!isMountPoint(unified)) throw new Error(`${unified} is not a cgroup2 mount: this test needs a hybrid host`);
  for (const c of moved) {
    const dir = `/sys/fs/cgroup/${c}`;
    if (!isMountPoint(dir)) throw new Error(`${dir} is not mounted: the host layout is not the expected hybrid one`);
    // Berth's own parent is left behind when its last container went by a path other than
    // delete; an empty one can go (rmdir refuses a cgroup with children or processes).
    try {
      rmdirSync(join(dir, 'berth'));
    } catch {
      // absent, or in use: the check below names it
    }
    const children = childCgroups(dir);
    if (children.length > 0) {
      throw new Error(`${dir} has child cgroups (${children.join(', ')}): something else uses the ${c} controller; run this file alone`);
    }
  }
  movedAway = true;
  for (const c of moved) {
    const r = spawnSync('umount', [`/sys/fs/cgroup/${c}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`umount /sys/fs/cgroup/${c} failed (${r.stderr.trim()}): is another container or test running? This file must run alone`);
  }
  await until('pids and cpu are detached from v1 (/proc/cgroups)', 10_000, () => moved.every((c) => hierarchyOf(c) === 0));
  await writeRetrying(join(unified, 'cgroup.subtree_control'), '+pids +cpu', 10_000);
});

test.after.always(async () => {
  if (!movedAway) return;
  const stillMounted = moved.filter((c) => isMountPoint(`/sys/fs/cgroup/${c}`));
  // Disable them at every level (Berth's parent is gone once its containers are).
  const berth = join(unified, 'berth');
  if (existsSync(berth)) await writeRetrying(join(berth, 'cgroup.subtree_control'), '-pids -cpu', 10_000).catch(() => undefined);
  await writeRetrying(join(unified, 'cgroup.subtree_control'), '-pids -cpu', 10_000);
  for (const c of moved) {
    const dir = `/sys/fs/cgroup/${c}`;
    if (stillMounted.includes(c)) continue;
    const end = Date.now() + 20_000;
    for (;;) {
      const r = spawnSync('mount', ['-t', 'cgroup', '-o', c, 'cgroup', dir], { encoding: 'utf8' });
      if (r.status === 0) break;
      if (Date.now() > end) throw new Error(`could not remount the ${c} hierarchy on ${dir}: ${r.stderr}; run: mount -t cgroup -o ${c} cgroup ${dir}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
});

function resources(c: OciConfig): Record<string, unknown> {
  const linux = c.linux as { resources?: Record<string, unknown> };
  linux.resources ??= {};
  return linux.resources;
}

function stats(rt: Runtime, id: string): { pids: { current: number | null; limit: number | null }; cpu: { usageNanoseconds: number | null } } {
  const r = rt.run(['stats', id]);
  if (r.status !== 0) throw new Error(`stats ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { pids: { current: number | null; limit: number | null }; cpu: { usageNanoseconds: number | null } };
}

test.serial('pids.max, cpu.max and cpu.weight are written on cgroup2, and a fork bomb stops there', async (t) => {
  t.deepEqual(readFileSync(join(unified, 'cgroup.controllers'), 'utf8').trim().split(' ').filter((c) => c === 'pids' || c === 'cpu').sort(), ['cpu', 'pids']);
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'forkbomb', '1000', '60'], (c) => {
    const r = resources(c);
    r.pids = { limit: 30 };
    r.cpu = { shares: 512, quota: 50_000, period: 100_000 };
  });
  const id = containerId();
  const run = rt.run(['run', '-d', '--bundle', b.dir, id]);
  t.is(run.status, 0, run.stderr);
  const dir = join(unified, 'berth', id);
  t.is(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '30');
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8').trim(), '50000 100000');
  t.is(readFileSync(join(dir, 'cpu.weight'), 'utf8').trim(), String(1 + Math.floor(((512 - 2) * 9999) / 262142)));
  await until('the bomb fills its limit', 10_000, () => stats(rt, id).pids.current === 30);
  const s = stats(rt, id);
  t.is(s.pids.limit, 30, 'stats read pids.max from cgroup2');
  const log = readFileSync(join(rt.root, id, 'container.log'), 'utf8');
  t.regex(log, /\\"forked\\":29,\\"error\\":\\"Resource temporarily unavailable\\"/, log);
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.false(existsSync(dir));
  t.deepEqual(leftovers(id), []);
});

test.serial('a CPU hog gets its cpu.max quota on cgroup2', async (t) => {
  const rt = await useRuntime(t);
  const seconds = 2;
  const b = await makeBundle(t, ['/probe', 'spin', String(seconds)], (c) => {
    resources(c).cpu = { quota: 25_000, period: 100_000 };
  });
  const id = containerId();
  const started = Date.now();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await until('the hog stops', 20_000, () => JSON.parse(rt.run(['state', id]).stdout).status === 'stopped');
  const wall = (Date.now() - started) / 1000;
  const cpu = (stats(rt, id).cpu.usageNanoseconds ?? 0) / 1e9;
  t.log(`CPU ${cpu.toFixed(3)} s in ${wall.toFixed(2)} s wall at a cgroup2 quota of 0.25 CPU`);
  t.true(cpu <= 0.25 * wall + 0.1, `used ${cpu} s of CPU`);
  t.true(cpu >= 0.25 * seconds - 0.15, `used ${cpu} s of CPU: the hog did not get its share`);
  t.is(rt.run(['delete', id]).status, 0);
});

test.serial('linux.resources.unified writes cgroup2 files by name, and a file that does not exist is refused naming it', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'exit', '0'], (c) => {
    resources(c).unified = { 'nosuch.max': '1' };
  });
  const id = containerId();
  const r = rt.run(['run', '--bundle', b.dir, id]);
  t.is(r.status, 1);
  t.regex(r.stderr, new RegExp(`set linux\\.resources\\.unified\\[\\\\"nosuch\\.max\\\\"\\] to 1: open ${unified}/berth/\\S+/nosuch\\.max`));
  t.deepEqual(leftovers(id), []);
  const ok = await makeBundle(t, ['/bin/cat', pureV2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/unified/pids.max'], (c) => {
    resources(c).unified = { 'pids.max': '77' };
  });
  const o = rt.run(['run', '--bundle', ok.dir, containerId()]);
  t.is(o.status, 0, o.stderr);
  t.is(o.stdout.trim(), '77', 'the container sees its own cgroup2 pids.max');
});
