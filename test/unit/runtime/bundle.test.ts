/**
 * Berth's default OCI config (namespaces, mounts, annotations for layers and init) and
 * bundle writing: valid JSON the schema accepts, and invalid specs refused with every
 * problem named.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, DEFAULT_PATH } from '../../../server/core/index.js';
import { defaultRuntimeBinary } from '../../../server/runtime/binary.js';
import { dockerCapabilities, validateSpec } from '../../../server/runtime/bundle.js';
import { defaultSpec, writeBundle, type OciSpec } from '../../../server/runtime/index.js';
import { ociSpecSchema } from '../../../server/runtime/oci-spec.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bundle-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function internalError(t: ExecutionContext, fn: () => unknown): BerthError {
  const err = t.throws(fn, { instanceOf: BerthError });
  if (!(err instanceof BerthError)) throw new Error('expected a BerthError');
  t.is(err.code, 'E_BERTH_INTERNAL');
  return err;
}

test('defaultSpec: runtime-spec 1.2.0, the program, a writable rootfs, the six namespaces', (t) => {
  const spec = defaultSpec({ args: ['/bin/app', '--port', '5000'] });
  t.is(spec.ociVersion, '1.2.0');
  t.deepEqual(spec.process.args, ['/bin/app', '--port', '5000']);
  t.is(spec.process.cwd, '/');
  t.false(spec.process.terminal);
  t.deepEqual(spec.process.user, { uid: 0, gid: 0 });
  t.true(spec.process.noNewPrivileges);
  t.deepEqual(spec.root, { path: 'rootfs', readonly: false });
  t.is(spec.hostname, 'berth');
  t.deepEqual(
    spec.linux?.namespaces?.map((n) => n.type),
    ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'],
  );
  t.true(
    spec.linux?.namespaces?.every((n) => n.path === undefined),
    'every namespace is new, none joined',
  );
  t.is(spec.annotations, undefined, 'no annotations without layers or init');
});

test('defaultSpec: the standard /proc, /dev, /sys and cgroup mounts, with their options', (t) => {
  const mounts = defaultSpec({ args: ['true'] }).mounts ?? [];
  t.deepEqual(
    mounts.map((m) => `${m.destination} ${m.type} ${m.source} ${(m.options ?? []).join(',')}`),
    [
      '/proc proc proc ',
      '/dev tmpfs tmpfs nosuid,strictatime,mode=755,size=65536k',
      '/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5',
      '/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=65536k',
      '/dev/mqueue mqueue mqueue nosuid,noexec,nodev',
      '/sys sysfs sysfs nosuid,noexec,nodev,ro',
      '/sys/fs/cgroup cgroup cgroup nosuid,noexec,nodev,relatime,ro',
    ],
  );
});

test("defaultSpec: Docker's capabilities, masked and read-only paths, seccomp profile and device rules; no limits or user namespace unless asked", (t) => {
  const spec = defaultSpec({ args: ['true'] });
  t.deepEqual(spec.process.capabilities?.bounding, [...dockerCapabilities]);
  t.deepEqual(spec.process.capabilities?.effective, [...dockerCapabilities]);
  t.is(spec.process.capabilities?.ambient, undefined, 'nothing ambient: a non-root program gets no capabilities');
  t.true(spec.linux?.maskedPaths?.includes('/proc/kcore'));
  t.true(spec.linux?.readonlyPaths?.includes('/proc/sys'));
  const linux = spec.linux as Record<string, unknown>;
  t.is(spec.linux?.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  for (const key of ['devices', 'uidMappings', 'gidMappings']) t.false(key in linux, key);
  t.deepEqual(Object.keys(spec.linux?.resources ?? {}), ['devices']);
  t.deepEqual(spec.linux?.resources?.devices?.[0], { allow: false, access: 'rwm' }, 'everything denied first');
  t.true(
    spec.linux?.resources?.devices?.some((d) => d.allow && d.type === 'c' && d.major === 1 && d.minor === 3),
    '/dev/null allowed',
  );
  t.false(spec.linux?.namespaces?.some((n) => n.type === 'user'));
});

test('defaultSpec: limits become linux.resources; a user namespace maps 0..size-1 onto the host range', (t) => {
  const spec = defaultSpec({ args: ['x'], limits: { memoryBytes: 64 << 20, cpus: 0.5, cpuShares: 512, pids: 100 }, userns: { hostId: 200_000, size: 65_536 } });
  const r = spec.linux?.resources;
  t.deepEqual(r?.memory, { limit: 64 << 20, swap: 64 << 20 });
  t.deepEqual(r?.cpu, { quota: 50_000, period: 100_000, shares: 512 });
  t.deepEqual(r?.pids, { limit: 100 });
  t.true(spec.linux?.namespaces?.some((n) => n.type === 'user'));
  t.deepEqual(spec.linux?.uidMappings, [{ containerID: 0, hostID: 200_000, size: 65_536 }]);
  t.deepEqual(spec.linux?.gidMappings, [{ containerID: 0, hostID: 200_000, size: 65_536 }]);
  t.notThrows(() => validateSpec(spec));
  for (const bad of [{ memoryBytes: 1000 }, { cpus: 0 }, { pids: 0 }, { pids: 1.5 }]) {
    t.throws(() => defaultSpec({ args: ['x'], limits: bad }), { message: /must be/ }, JSON.stringify(bad));
  }
  t.throws(() => defaultSpec({ args: ['x'], userns: { hostId: 0, size: 65_536 } }), { message: /not starting at host root/ });
});

test('defaultSpec: layers become berth.rootfs.lower (top first, ":"-joined) and berth.rootfs.writable', (t) => {
  const spec = defaultSpec({
    args: ['/start'],
    layers: { lower: ['/var/lib/berth/layers/top', '/var/lib/berth/layers/base'], writable: '/var/lib/berth/containers/web.1' },
  });
  t.deepEqual(spec.annotations, {
    'berth.rootfs.lower': '/var/lib/berth/layers/top:/var/lib/berth/layers/base',
    'berth.rootfs.writable': '/var/lib/berth/containers/web.1',
  });
  t.deepEqual(spec.root, { path: 'rootfs', readonly: false });
});

test('defaultSpec: init adds berth.init "true"; init false adds nothing', (t) => {
  t.deepEqual(defaultSpec({ args: ['/start'], init: true }).annotations, { 'berth.init': 'true' });
  t.is(defaultSpec({ args: ['/start'], init: false }).annotations, undefined);
  const both = defaultSpec({ args: ['/start'], init: true, layers: { lower: ['/l'], writable: '/w' } });
  t.deepEqual(both.annotations, { 'berth.rootfs.lower': '/l', 'berth.rootfs.writable': '/w', 'berth.init': 'true' });
});

test('defaultSpec: env gets PATH and TERM defaults, which the caller can override', (t) => {
  t.deepEqual(defaultSpec({ args: ['x'] }).process.env, [`PATH=${DEFAULT_PATH}`, 'TERM=xterm']);
  t.deepEqual(defaultSpec({ args: ['x'], env: { PORT: '5000', PATH: '/app/bin:/bin', EMPTY: '' } }).process.env, [
    'PATH=/app/bin:/bin',
    'TERM=xterm',
    'PORT=5000',
    'EMPTY=',
  ]);
});

test('defaultSpec: hostname and cwd are taken as given', (t) => {
  const spec = defaultSpec({ args: ['x'], hostname: 'web-1', cwd: '/app' });
  t.is(spec.hostname, 'web-1');
  t.is(spec.process.cwd, '/app');
});

test('defaultSpec: specs share no arrays, so changing one leaves the next alone', (t) => {
  const a = defaultSpec({ args: ['x'] });
  a.mounts?.[1]?.options?.push('ro');
  a.linux?.namespaces?.pop();
  const b = defaultSpec({ args: ['x'] });
  t.deepEqual(b.mounts?.[1]?.options, ['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  t.is(b.linux?.namespaces?.length, 6);
});

test('defaultSpec: layer paths that are relative or contain ":" or "," are refused', (t) => {
  for (const bad of ['relative/dir', '/with:colon', '/with,comma']) {
    const err = internalError(t, () => defaultSpec({ args: ['x'], layers: { lower: [bad], writable: '/w' } }));
    t.true(err.message.includes(JSON.stringify(bad)), err.message);
  }
  internalError(t, () => defaultSpec({ args: ['x'], layers: { lower: ['/l'], writable: 'w' } }));
  const empty = internalError(t, () => defaultSpec({ args: ['x'], layers: { lower: [], writable: '/w' } }));
  t.regex(empty.message, /at least one lower layer/);
});

test('the default spec passes the schema', (t) => {
  const spec = defaultSpec({ args: ['/start'], init: true, layers: { lower: ['/l'], writable: '/w' } });
  t.deepEqual(ociSpecSchema.parse(spec), spec);
  t.deepEqual(validateSpec(spec), spec);
});

test('writeBundle creates the directory and writes config.json that parses and validates', async (t) => {
  const dir = join(await tempDir(t), 'bundles', 'web.1');
  const spec = defaultSpec({ args: ['/start', 'web'], env: { SECRET: 'x' }, layers: { lower: ['/l'], writable: '/w' } });
  const path = await writeBundle(dir, spec);
  t.is(path, join(dir, 'config.json'));
  const text = await readFile(path, 'utf8');
  t.true(text.endsWith('\n'));
  const written: unknown = JSON.parse(text);
  t.deepEqual(written, spec);
  t.true(ociSpecSchema.safeParse(written).success);
  t.is((await stat(path)).mode & 0o777, 0o600, 'config.json holds the environment: owner only');
  t.deepEqual((await readdir(dir)).sort(), ['config.json', 'rootfs'], "no temp file left behind; the layers' mount point made");
  t.true((await stat(join(dir, 'rootfs'))).isDirectory());
});

test('writeBundle replaces an existing config.json', async (t) => {
  const dir = await tempDir(t);
  await writeBundle(dir, defaultSpec({ args: ['/first'] }));
  await writeBundle(dir, defaultSpec({ args: ['/second'] }));
  const written = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as OciSpec;
  t.deepEqual(written.process.args, ['/second']);
});

test('writeBundle refuses an invalid spec, names every problem and writes nothing', async (t) => {
  const dir = join(await tempDir(t), 'bundle');
  const spec = defaultSpec({ args: ['x'] });
  spec.process.args = [];
  spec.process.cwd = 'app';
  spec.process.env = ['NOEQUALS'];
  spec.linux?.namespaces?.push({ type: 'pid' });
  (spec.process as Record<string, unknown>).ioPriority = { class: 'IOPRIO_CLASS_IDLE' };
  const err = await t.throwsAsync(writeBundle(dir, spec), { instanceOf: BerthError });
  if (!(err instanceof BerthError)) throw new Error('expected a BerthError');
  t.is(err.code, 'E_BERTH_INTERNAL');
  t.true(err.message.startsWith(`invalid OCI config for bundle ${dir}:`), err.message);
  for (const where of ['process.args', 'process.cwd', 'process.env[0]', 'linux.namespaces[6].type', 'process: Unrecognized key: "ioPriority"']) {
    t.true(err.message.includes(where), `${where} in: ${err.message}`);
  }
  t.regex(err.message, /namespace pid is listed twice/);
  t.true(Array.isArray(err.details.problems));
  t.false(existsSync(dir), 'nothing was created');
});

test('validateSpec refuses unknown namespace types and out-of-range values', (t) => {
  const spec = defaultSpec({ args: ['x'] }) as unknown as { linux: { namespaces: { type: string }[] }; process: Record<string, unknown> };
  spec.linux.namespaces.push({ type: 'time' });
  spec.process.oomScoreAdj = 5000;
  spec.process.user = { uid: -1, gid: 0 };
  const err = internalError(t, () => validateSpec(spec));
  for (const where of ['linux.namespaces[6].type', 'process.oomScoreAdj', 'process.user.uid'])
    t.true(err.message.includes(where), `${where} in: ${err.message}`);
});

// Drift check: Berth's default and `berth-runtime spec` describe the same container.
test("defaultSpec agrees with `berth-runtime spec` except for the program, a writable root and spec's berth.monitor", async (t) => {
  if (!existsSync(defaultRuntimeBinary)) t.fail(`${defaultRuntimeBinary} is missing: build it with \`make -C native\``);
  const dir = await tempDir(t);
  const r = spawnSync(defaultRuntimeBinary, ['spec', '--bundle', dir], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const theirs = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as OciSpec;
  const ours = defaultSpec({ args: theirs.process.args });
  // spec's template asks for Berth's monitor (docs/runtime.md, "Two modes"); defaultSpec
  // leaves the mode to the berth.* annotations its options add (the daemon's containers
  // carry berth.attach).
  t.deepEqual({ ...ours, root: { ...ours.root, readonly: theirs.root.readonly }, annotations: { 'berth.monitor': 'true' } }, theirs);
});
