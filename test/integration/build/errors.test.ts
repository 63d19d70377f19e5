/**
 * Bad input to real builds: each a clear error naming the file and line, and after each,
 * nothing tagged, no build container, nothing left in the runtime or on the network, no
 * half-written blob or layer in the store.
 */
import test, { type ExecutionContext } from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useBuild, type BuildEnv, type ContextFile } from '../../helpers/build.js';
import { leftovers } from '../../helpers/runtime.js';

/** Build `files` tagged `bad:1`; it must fail with `code` and a message matching `message`; nothing may be left. */
async function fails(t: ExecutionContext, b: BuildEnv, files: Record<string, ContextFile>, code: string, message: RegExp, options = {}): Promise<string> {
  const r = await b.build(await b.context(files), { tags: ['bad:1'], ...options });
  t.is(r.error?.code, code, r.error?.message ?? 'the build succeeded');
  t.regex(r.error?.message ?? '', message);
  t.false(b.c.store.tags().has('bad:1'), 'nothing is tagged');
  t.deepEqual(b.c.manager.list({ all: true }), [], 'no build container is left');
  t.deepEqual(b.c.leftovers(), []);
  t.deepEqual(r.leftovers(), [], 'no mount, cgroup or process of the RUN containers');
  t.deepEqual(readdirSync(join(b.c.store.root, 'ingest')), [], 'no half-written blob');
  t.deepEqual(readdirSync(join(b.c.store.root, 'layers', 'tmp')), [], 'no half-unpacked layer');
  return r.error?.message ?? '';
}

test('the Dockerfile: syntax errors, unknown instructions, what is refused, a missing Dockerfile, bad options', async (t) => {
  const b = await useBuild(t);
  await fails(t, b, { Dockerfile: 'FROM busybox\nRUN true\nFOO bar\n' }, 'E_BUILD_DOCKERFILE_INVALID', /^Dockerfile:3: unknown instruction: FOO/);
  await fails(
    t,
    b,
    { 'sub/Dockerfile.dev': 'FROM busybox\nENV A="open\n' },
    'E_BUILD_DOCKERFILE_INVALID',
    /^sub\/Dockerfile.dev:2: ENV: unterminated double quote/,
    { dockerfile: 'sub/Dockerfile.dev' },
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nADD https://example.com/x.tgz /x\n' },
    'E_BUILD_UNSUPPORTED',
    /^Dockerfile:2: ADD: ADD https:\/\/example.com\/x.tgz: a build does not download anything/,
  );
  await fails(t, b, { Dockerfile: 'FROM --platform=linux/arm64 busybox\n' }, 'E_BUILD_UNSUPPORTED', /^Dockerfile:1: FROM: --platform=linux\/arm64/);
  await fails(t, b, { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/c true\n' }, 'E_BUILD_UNSUPPORTED', /Dockerfile:2: RUN --mount/);
  await fails(t, b, { 'other.txt': '' }, 'E_BUILD_CONTEXT_INVALID', /has no Dockerfile/);
  await fails(
    t,
    b,
    { Dockerfile: { symlink: '/etc/passwd' } },
    'E_BUILD_CONTEXT_INVALID',
    /the Dockerfile Dockerfile is a symlink leading outside the build context; it was not read/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\n', '.dockerignore': { symlink: '/etc/passwd' } },
    'E_BUILD_CONTEXT_INVALID',
    /.dockerignore .* is not a regular file/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nUSER nosuchuser\nRUN true\n' },
    'E_CONTAINER_INVALID',
    /^Dockerfile:3: RUN: user "nosuchuser" is not in the image's \/etc\/passwd/,
  );
  await fails(t, b, { Dockerfile: 'FROM busybox\n' }, 'E_BUILD_OPTIONS_INVALID', /the Dockerfile path "..\/Dockerfile"/, { dockerfile: '../Dockerfile' });
  await fails(t, b, { Dockerfile: 'FROM busybox\n' }, 'E_BUILD_OPTIONS_INVALID', /the tag "Bad Tag"/, { tags: ['Bad Tag'] });
  await fails(t, b, { Dockerfile: 'FROM busybox\n' }, 'E_BUILD_OPTIONS_INVALID', /memory limit 1000/, { limits: { memoryBytes: 1000 } });
});

test('FROM an image the store does not have; COPY outside the context, of nothing, --from a stage that does not exist', async (t) => {
  const b = await useBuild(t);
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox AS ok\nFROM nosuch/image:2\n' },
    'E_BUILD_BASE_NOT_FOUND',
    /^Dockerfile:2: FROM nosuch\/image:2: no image .* it names no registry to pull it from/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nCOPY ../secret /x\n' },
    'E_BUILD_COPY_OUTSIDE_CONTEXT',
    /^Dockerfile:2: COPY ..\/secret: ..\/secret goes up with ".."/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nCOPY link/passwd /x\n', link: { symlink: '/etc' } },
    'E_BUILD_COPY_OUTSIDE_CONTEXT',
    /^Dockerfile:2: COPY link\/passwd: .*symlink link, which points to \/etc, outside the build context/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nCOPY up /x\n', up: { symlink: '../../../../etc/passwd' } },
    'E_BUILD_COPY_OUTSIDE_CONTEXT',
    /^Dockerfile:2: COPY up:.*outside the build context/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nCOPY /etc/passwd /x\n' },
    'E_BUILD_COPY_NOT_FOUND',
    /^Dockerfile:2: COPY \/etc\/passwd: no such file or directory in the build context \(an absolute source is read from the context's root/,
  );
  await fails(t, b, { Dockerfile: 'FROM busybox\nCOPY *.nothing /x/\n' }, 'E_BUILD_COPY_NOT_FOUND', /Dockerfile:2: COPY \*\.nothing/);
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nCOPY secret.txt /x\n', 'secret.txt': 's', '.dockerignore': 'secret.txt\n' },
    'E_BUILD_COPY_NOT_FOUND',
    /COPY secret.txt: no such file/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox AS one\nFROM busybox\nCOPY --from=two /x /y\n' },
    'E_BUILD_STAGE_NOT_FOUND',
    /^Dockerfile:3: COPY --from=two: no stage of that name \(the stages: one, 1\)/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox AS one\nCOPY --from=one /bin/sh /x\n' },
    'E_BUILD_STAGE_NOT_FOUND',
    /a stage can only copy from a stage before it/,
  );
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nCOPY a b /x\n', a: '', b: '' },
    'E_BUILD_DOCKERFILE_INVALID',
    /Dockerfile:2: COPY: with more than one source the destination must be a directory ending with \//,
  );
});

test('RUN exiting non-zero: its status and its last lines, nothing tagged, the container removed', async (t) => {
  const b = await useBuild(t);
  const lines = Array.from({ length: 15 }, (_, i) => `line ${i + 1}`);
  const message = await fails(
    t,
    b,
    { Dockerfile: `FROM busybox\nRUN true\nRUN for l in ${lines.map((l) => `'${l}'`).join(' ')}; do echo "$l"; done; exit 3\n` },
    'E_BUILD_RUN_FAILED',
    /^Dockerfile:3: The command '\/bin\/sh -c for l in .*' returned a non-zero code: 3; its last lines:\n {2}line 6\n/,
  );
  t.true(message.endsWith('  line 15'), message);
  t.false(message.includes('line 5\n'), 'only the last 10 lines');
});

test("RUN over the build's memory limit: OOM-killed, the limit named", async (t) => {
  const b = await useBuild(t);
  await fails(
    t,
    b,
    { Dockerfile: 'FROM busybox\nRUN dd if=/dev/zero of=/dev/null bs=256M count=4\n' },
    'E_BUILD_RUN_OOM',
    /^Dockerfile:2: \/bin\/sh -c dd .* was killed by the OOM killer: it needed more than the build's memory limit of 32 MiB/,
    { limits: { memoryBytes: 32 * 1024 * 1024 } },
  );
});

test("cancelled: the running step's container is killed and removed, nothing is tagged", async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({ Dockerfile: 'FROM busybox\nRUN echo started; sleep 600\nRUN true\n' });
  const controller = new AbortController();
  const started = Date.now();
  const events: string[] = [];
  const ids: string[] = [];
  const { buildDockerfile } = await import('../../../server/build/index.js');
  const error = await t.throwsAsync(
    buildDockerfile({ dir, images: b.c.store, containers: b.c.manager, cache: b.cache }, { tags: ['bad:1'], signal: controller.signal }, (e) => {
      events.push(e.type);
      if (e.type === 'running') ids.push(e.container);
      if (e.type === 'output' && e.line === 'started') controller.abort();
    }),
  );
  t.is((error as { code?: string }).code, 'E_BUILD_CANCELLED');
  t.regex(error?.message ?? '', /^the build was cancelled at Dockerfile:2; nothing was tagged/);
  t.true(Date.now() - started < 60_000, 'the sleep was killed, not waited for');
  t.true(events.includes('removed'));
  t.false(b.c.store.tags().has('bad:1'));
  t.deepEqual(b.c.manager.list({ all: true }), []);
  t.deepEqual(b.c.leftovers(), []);
  t.is(ids.length, 1);
  t.deepEqual(
    ids.flatMap((id) => leftovers(id)),
    [],
    'no mount, cgroup or process of the killed step',
  );
});
