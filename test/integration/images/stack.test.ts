/**
 * The stack image, built with debootstrap from Debian's packages, run by berth-runtime.
 *
 * Cost: a cold build takes about three minutes here (download and install of ~150
 * packages), too slow for every run. So the built image is cached as an OCI archive
 * (test/helpers/stack.ts), keyed by how server/images/stack.ts builds it: any change
 * rebuilds it (through the real debootstrap); otherwise the test imports the cached archive
 * (seconds) and checks the same things. BERTH_TEST_REBUILD_STACK=1 forces a build.
 */
import test from 'ava';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureStackImage, ImageStore } from '../../../server/images/index.js';
import { stackHasPackages, stackPackages, STACK_TAG } from '../../../server/images/stack.js';
import { defaultSpec, writeBundle } from '../../../server/runtime/index.js';
import { requireBinary, requireRoot } from '../../helpers/prereq.js';
import { containerId, leftovers, useRuntime } from '../../helpers/runtime.js';
import { loadStackImage } from '../../helpers/stack.js';
import { tempDir } from '../../helpers/temp-dir.js';

test('the stack image (debootstrap bookworm) runs python3, curl and git under berth-runtime', async (t) => {
  t.timeout(20 * 60_000, 'a cold debootstrap build downloads and installs ~150 packages');
  requireRoot('debootstrap and the image store');
  requireBinary('/usr/sbin/debootstrap', 'debootstrap');
  const dir = await tempDir(t, 'berth-stack-');
  const store = await ImageStore.open(join(dir, 'images'));
  const lines: string[] = [];
  const { image, built } = await loadStackImage(store, join(dir, 'debs'), (l) => lines.push(l));
  if (built) {
    t.true(
      lines.some((l) => l.startsWith('I: Base system installed successfully')),
      lines.slice(-5).join('\n'),
    );
    t.true(lines.some((l) => /^-----> layer sha256:/.test(l)));
    t.is((await ensureStackImage(store, { cacheDir: join(dir, 'debs') })).digest, image.digest, 'built once: the tag is reused');
    t.log('built the stack image and cached it');
  } else t.log('used the cached stack archive');
  t.deepEqual(image.tags, [STACK_TAG]);
  t.regex(image.config.history?.[0]?.created_by ?? '', /^debootstrap --variant=minbase --include=ca-certificates,/);
  t.true(stackHasPackages(image), 'its history names the current package list');
  t.false(stackHasPackages(image, [...stackPackages, 'nginx-light']), 'a longer list is another stack: ensureStackImage rebuilds it');
  t.false(stackHasPackages(image, stackPackages.slice(1)), 'so is a shorter one');

  const lower = await store.unpackImage(image);
  const rt = await useRuntime(t);
  const id = containerId();
  const bundle = join(dir, 'bundle');
  const script =
    'python3 -c "import ssl, sys; print(sys.version_info[0])" && curl --version | head -n1 && git --version && python3 -c "import ensurepip, venv; print(ensurepip.version())" && busybox --list | grep -x httpd && ls /dev/console 2>/dev/null; echo done';
  await writeBundle(bundle, defaultSpec({ args: ['bash', '-c', script], env: { LANG: 'C.UTF-8' }, layers: { lower, writable: join(dir, 'w') } }));
  const r = rt.run(['run', '--bundle', bundle, id], { timeoutMs: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.regex(
    r.stdout,
    /^3\ncurl \d+\.\d+.*\ngit version 2\.\d+.*\n\d+\.\d+.*\nhttpd\ndone\n$/,
    'python3-venv (with its pip wheel) and busybox httpd, for the bundled buildpacks',
  );
  t.deepEqual(leftovers(id), []);
  await rm(join(dir, 'w'), { recursive: true, force: true });
});
