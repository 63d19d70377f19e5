/**
 * The stack image, built with debootstrap from Debian's packages, run by berth-runtime.
 *
 * Cost: a cold build takes about three minutes here (download and install of ~150
 * packages), too slow for every run. So the built image is cached as an OCI archive in
 * /var/cache/berth-test/, keyed by the package list, suite, mirror and the source of
 * server/images/stack.ts: any change to how the stack is built rebuilds it (through the
 * real debootstrap); otherwise the test imports the cached archive (seconds) and checks the
 * same things. BERTH_TEST_REBUILD_STACK=1 forces a build.
 */
import test from 'ava';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ensureStackImage, exportOciArchive, ImageStore, importArchive, type Image } from '../../../server/images/index.js';
import { stackPackages, STACK_TAG } from '../../../server/images/stack.js';
import { defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { requireBinary, requireRoot } from '../../helpers/prereq.js';
import { containerId, leftovers, useRuntime } from '../../helpers/runtime.js';
import { tempDir } from '../../helpers/temp-dir.js';

const cacheDir = '/var/cache/berth-test';

test('the stack image (debootstrap bookworm) runs python3, curl and git under berth-runtime', async (t) => {
  t.timeout(20 * 60_000, 'a cold debootstrap build downloads and installs ~150 packages');
  requireRoot('debootstrap and the image store');
  requireBinary('/usr/sbin/debootstrap', 'debootstrap');
  const dir = await tempDir(t, 'berth-stack-');
  const store = await ImageStore.open(join(dir, 'images'));
  const source = await readFile(new URL('../../../server/images/stack.ts', import.meta.url));
  const key = createHash('sha256')
    .update(JSON.stringify([stackPackages, 'bookworm', 'http://deb.debian.org/debian']))
    .update(source)
    .digest('hex')
    .slice(0, 16);
  const cached = join(cacheDir, `stack-${key}.oci.tar`);

  let image: Image;
  if (existsSync(cached) && process.env.BERTH_TEST_REBUILD_STACK !== '1') {
    t.log(`using the cached stack archive ${cached}`);
    const [imported] = await importArchive(store, createReadStream(cached), { what: cached });
    if (!imported) throw new Error('the cached archive holds no image');
    image = imported;
  } else {
    const lines: string[] = [];
    image = await ensureStackImage(store, { cacheDir: join(dir, 'debs'), onLine: (l) => lines.push(l) });
    t.true(
      lines.some((l) => l.startsWith('I: Base system installed successfully')),
      lines.slice(-5).join('\n'),
    );
    t.true(lines.some((l) => /^-----> layer sha256:/.test(l)));
    t.is((await ensureStackImage(store, { cacheDir: join(dir, 'debs') })).digest, image.digest, 'built once: the tag is reused');
    await mkdir(cacheDir, { recursive: true });
    const temp = `${cached}.${process.pid}.tmp`;
    await exportOciArchive(store, [STACK_TAG], createWriteStream(temp));
    await rename(temp, cached);
    t.log(`built the stack image and cached it as ${cached}`);
  }
  t.deepEqual(image.tags, [STACK_TAG]);
  t.regex(image.config.history?.[0]?.created_by ?? '', /^debootstrap --variant=minbase --include=ca-certificates,/);

  const lower = await store.unpackImage(image);
  const rt = await useRuntime(t);
  const id = containerId();
  const bundle = join(dir, 'bundle');
  const script =
    'python3 -c "import ssl, sys; print(sys.version_info[0])" && curl --version | head -n1 && git --version && ls /dev/console 2>/dev/null; echo done';
  await writeBundle(bundle, defaultSpec({ args: ['bash', '-c', script], env: { LANG: 'C.UTF-8' }, layers: { lower, writable: join(dir, 'w') } }));
  const r = rt.run(['run', '--bundle', bundle, id], { timeoutMs: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^3\ncurl \d+\.\d+.*\ngit version 2\.\d+.*\ndone\n$/);
  t.deepEqual(leftovers(id), []);
  await rm(join(dir, 'w'), { recursive: true, force: true });
});
