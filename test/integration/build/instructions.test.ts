/**
 * The Dockerfile builder with real containers and the real image store (busybox image):
 * a multi-stage build run afterwards, and each instruction and flag of docs/builds.md with
 * what it does to the image's files, config and history. Each test checks that its build
 * containers are gone.
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { gzipSync } from 'node:zlib';
import { DEFAULT_BUILD_LIMITS } from '../../../server/build/index.js';
import { useBuild } from '../../helpers/build.js';

test('multi-stage: a build stage writes a file, the final stage copies it --from the stage; the image runs and prints it', async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({
    Dockerfile: [
      'FROM busybox AS build',
      'RUN mkdir /out && echo "compiled $((6 * 7))" > /out/result.txt',
      'FROM busybox',
      'COPY --from=build /out/result.txt /app/',
      'COPY greeting.txt /app/',
      'WORKDIR /app',
      'CMD ["sh", "-c", "cat result.txt greeting.txt"]',
      '',
    ].join('\n'),
    'greeting.txt': 'hello from the context\n',
  });
  const r = await b.build(dir, { tags: ['multi:1'] });
  t.is(r.error, undefined, r.error?.message);
  t.deepEqual(
    r.lines.filter((l) => l.startsWith('Step')),
    [
      'Step 1/7 : FROM busybox AS build',
      'Step 2/7 : RUN mkdir /out && echo "compiled $((6 * 7))" > /out/result.txt',
      'Step 3/7 : FROM busybox',
      'Step 4/7 : COPY --from=build /out/result.txt /app/',
      'Step 5/7 : COPY greeting.txt /app/',
      'Step 6/7 : WORKDIR /app',
      'Step 7/7 : CMD ["sh", "-c", "cat result.txt greeting.txt"]',
    ],
  );
  t.regex(r.lines.join('\n'), /Step 2\/7 : RUN .*\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/);
  t.deepEqual(r.lines.slice(-2), [`Successfully built ${r.result?.id}`, 'Successfully tagged multi:1']);
  const image = await b.c.store.resolve('multi:1');
  t.is<string | undefined, string | undefined>(image.digest, r.result?.image.digest);
  t.deepEqual(await b.runImage('multi:1'), { stdout: 'compiled 42\nhello from the context\n', stderr: '', exitCode: 0 });
  t.deepEqual(b.c.manager.list({ all: true }), [], 'no build container is left');
  t.deepEqual(b.c.leftovers(), []);
});

test('RUN: shell and exec forms, SHELL, output line by line on its stream, USER, the build args in its environment', async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({
    Dockerfile: [
      'FROM busybox',
      'ARG WHO=nobody',
      'RUN echo "shell $0 as $(id -u) for $WHO"; echo err >&2',
      'RUN ["/bin/echo", "exec", "$WHO"]',
      'SHELL ["/bin/sh", "-e", "-c"]',
      'RUN case $- in *e*) echo "shell now: $0 with errexit";; esac',
      'USER 65534:65534',
      'RUN id -u > /tmp/uid; cat /tmp/uid',
      '',
    ].join('\n'),
  });
  const limits: unknown[] = [];
  const r = await b.build(dir, { buildArgs: { WHO: 'berth' } }, (e) => {
    if (e.type === 'running') limits.push(b.c.manager.inspect(e.container).limits);
  });
  t.is(r.error, undefined, r.error?.message);
  t.deepEqual(
    limits[0],
    { memoryBytes: DEFAULT_BUILD_LIMITS.memoryBytes, cpus: DEFAULT_BUILD_LIMITS.cpus, pids: DEFAULT_BUILD_LIMITS.pids },
    'build limits are on by default',
  );
  t.is(limits.length, 4);
  const out = r.events.filter((e) => e.type === 'output').map((e) => (e.type === 'output' ? `${e.stream}: ${e.line}` : ''));
  t.deepEqual(out, ['stdout: shell /bin/sh as 0 for berth', 'stderr: err', 'stdout: exec $WHO', 'stdout: shell now: /bin/sh with errexit', 'stdout: 65534']);
  const history = r.result?.image.config.history?.map((h) => h.created_by);
  t.true(history?.includes('|1 WHO=berth /bin/sh -c echo "shell $0 as $(id -u) for $WHO"; echo err >&2'), JSON.stringify(history));
  t.true(history?.includes('|1 WHO=berth /bin/echo exec $WHO'));
  t.true(history?.includes('/bin/sh -c #(nop)  SHELL [/bin/sh -e -c]'));
  t.deepEqual(
    r.result?.image.config.history?.filter((h) => h.created_by?.startsWith('|1 WHO=berth ')).map((h) => h.empty_layer === true),
    [true, true, true, false],
    "a RUN that changes no file adds no layer, only a history entry with empty_layer, as Docker's classic builder",
  );
  t.is(r.result?.image.manifest.layers.length, 2, 'busybox, and the layer of the RUN that wrote /tmp/uid');
  t.deepEqual((r.result?.image.config.config as Record<string, unknown>).Shell, ['/bin/sh', '-e', '-c']);
  t.deepEqual(
    r.result?.image.config.config?.Env,
    ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    'build args are not kept in the image',
  );
  t.deepEqual(b.c.leftovers(), []);
});

test('config instructions: ENV, LABEL, EXPOSE, CMD, ENTRYPOINT, USER, WORKDIR, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD, --label; history as Docker writes it', async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({
    Dockerfile: [
      'FROM busybox',
      'ENV APP=/srv/app MODE="two words" OLD=1',
      'ENV NEXT=$APP/bin',
      'LABEL org.example.name="demo" version=1',
      'EXPOSE 8080 53/udp',
      'WORKDIR $APP',
      'WORKDIR sub',
      'VOLUME /data ["/cache"]',
      'VOLUME ["/cache"]',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD wget -q -O- http://localhost/ || exit 1',
      'ONBUILD RUN echo triggered',
      'ENTRYPOINT ["/usr/bin/env"]',
      'CMD echo "$MODE"',
      'USER nobody',
      '',
    ].join('\n'),
  });
  const r = await b.build(dir, { labels: { 'built.by': 'test' } });
  t.is(r.error, undefined, r.error?.message);
  const c = r.result?.image.config.config as Record<string, any>;
  t.deepEqual(c.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP=/srv/app', 'MODE=two words', 'OLD=1', 'NEXT=/srv/app/bin']);
  t.deepEqual(c.Labels, { 'org.example.name': 'demo', version: '1', 'built.by': 'test' });
  t.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  t.is(c.WorkingDir, '/srv/app/sub');
  t.deepEqual(c.Volumes, { '/data': {}, '[/cache]': {}, '/cache': {} }, 'a JSON array after another word is a word (its quotes removed), as in Docker');
  t.is(c.StopSignal, 'SIGINT');
  t.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'], Interval: 5e9, Timeout: 2e9, Retries: 3 });
  t.deepEqual(c.OnBuild, ['RUN echo triggered']);
  t.deepEqual(c.Entrypoint, ['/usr/bin/env']);
  t.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo "$MODE"']);
  t.is(c.User, 'nobody');
  const history = r.result?.image.config.history ?? [];
  const mine = history.slice(1);
  t.deepEqual(
    mine.map((h) => [h.created_by, h.empty_layer === true]),
    [
      ['/bin/sh -c #(nop)  ENV APP=/srv/app MODE=two words OLD=1', true],
      ['/bin/sh -c #(nop)  ENV NEXT=/srv/app/bin', true],
      ['/bin/sh -c #(nop)  LABEL org.example.name=demo version=1', true],
      ['/bin/sh -c #(nop)  EXPOSE 8080/tcp 53/udp', true],
      ['/bin/sh -c #(nop) WORKDIR /srv/app', false],
      ['/bin/sh -c #(nop) WORKDIR /srv/app/sub', false],
      ['/bin/sh -c #(nop)  VOLUME [/data [/cache]]', true],
      ['/bin/sh -c #(nop)  VOLUME [/cache]', true],
      ['/bin/sh -c #(nop)  STOPSIGNAL SIGINT', true],
      ['/bin/sh -c #(nop)  HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD wget -q -O- http://localhost/ || exit 1', true],
      ['/bin/sh -c #(nop)  ONBUILD RUN echo triggered', true],
      ['/bin/sh -c #(nop)  ENTRYPOINT ["/usr/bin/env"]', true],
      ['/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo \\"$MODE\\""]', true],
      ['/bin/sh -c #(nop)  USER nobody', true],
      ['/bin/sh -c #(nop)  LABEL built.by="test"', true],
    ],
  );
  t.is(r.result?.image.manifest.layers.length, 3, 'busybox, and the two directories WORKDIR made');
  const run = await b.runImage(r.result?.image.digest as string);
  t.deepEqual(run, { stdout: 'two words\n', stderr: '', exitCode: 0 }, 'ENTRYPOINT + CMD, as user nobody, in /srv/app/sub');

  // ONBUILD runs when the image is a FROM; its trigger is not inherited further.
  await b.c.store.tag(r.result?.image.digest as string, 'onbuild-base:1');
  const child = await b.build(await b.context({ Dockerfile: 'FROM onbuild-base:1\nUSER root\n' }));
  t.is(child.error, undefined, child.error?.message);
  t.true(child.lines.includes('# Executing 1 build trigger'));
  t.true(child.events.some((e) => e.type === 'output' && e.line === 'triggered'));
  t.is((child.result?.image.config.config as Record<string, unknown>).OnBuild, undefined);
  t.deepEqual(b.c.leftovers(), []);
});

async function tarball(entries: { name: string; text?: string; type?: 'directory' }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    if (e.type === 'directory') p.entry({ name: e.name, type: 'directory', mode: 0o750, uid: 7, gid: 8 });
    else p.entry({ name: e.name, mode: 0o640, uid: 7, gid: 8 }, e.text ?? '');
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

test('COPY and ADD: wildcards, directories, --chown by name and number, --chmod, .dockerignore, ADD of a tar.gz, --from an image; owners and modes in the image', async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({
    Dockerfile: [
      'FROM busybox',
      'COPY *.txt /dst/',
      'COPY --chown=nobody:nogroup src /src',
      'COPY --chown=1234 --chmod=600 one.txt /secret',
      'COPY ["two.txt", "rel/"]',
      'ADD archive.tar.gz /unpacked/',
      'ADD two.txt /added.txt',
      'COPY src/ /etc/',
      'COPY --from=busybox:latest /etc/group /from-image/',
      '',
    ].join('\n'),
    'one.txt': '1\n',
    'two.txt': '2\n',
    'ignored.txt': 'no\n',
    '.dockerignore': 'ignored.txt\nsrc/skip\n',
    'src/a/b.sh': { text: '#!/bin/sh\n', mode: 0o755 },
    'src/skip': 'no\n',
  });
  await writeFile(
    join(dir, 'archive.tar.gz'),
    gzipSync(
      await tarball([
        { name: 'd/', type: 'directory' },
        { name: 'd/inner.txt', text: 'inner\n' },
      ]),
    ),
  );
  await mkdir(join(dir, 'src', 'empty'));
  const r = await b.build(dir, { tags: ['copies:1'] });
  t.is(r.error, undefined, r.error?.message);
  const script = [
    'stat -c "%a %u:%g %n" /from-image/group /dst/one.txt /dst/two.txt /src /src/a /src/a/b.sh /src/empty /secret /rel/two.txt /unpacked/d /unpacked/d/inner.txt /added.txt /etc /etc/a/b.sh',
    'ls /dst; ls -a /src',
    'cat /etc/passwd | head -1',
  ].join('; ');
  const run = await b.runImage('copies:1', ['sh', '-c', script]);
  t.is(run.stderr, '');
  t.deepEqual(
    run.stdout.trim().split('\n'),
    [
      '644 0:0 /from-image/group',
      '644 0:0 /dst/one.txt',
      '644 0:0 /dst/two.txt',
      '755 65534:65534 /src',
      '755 65534:65534 /src/a',
      '755 65534:65534 /src/a/b.sh',
      '755 65534:65534 /src/empty',
      '600 1234:1234 /secret',
      '644 0:0 /rel/two.txt',
      '750 7:8 /unpacked/d',
      '640 7:8 /unpacked/d/inner.txt',
      '644 0:0 /added.txt',
      '755 0:0 /etc',
      '755 0:0 /etc/a/b.sh',
      'one.txt',
      'two.txt',
      '.',
      '..',
      'a',
      'empty',
      'root:x:0:0:root:/root:/bin/sh',
    ],
    'wildcards match only what .dockerignore leaves; an existing /etc keeps its files',
  );
  const history = r.result?.image.config.history?.map((h) => h.created_by) ?? [];
  t.regex(history[1] ?? '', /^\/bin\/sh -c #\(nop\) COPY multi:[0-9a-f]{64} in \/dst\/ $/);
  t.regex(history[2] ?? '', /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/src $/);
  t.regex(history[3] ?? '', /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/secret $/);
  t.deepEqual(b.c.leftovers(), []);
});

test('ARG: global for FROM, per stage, defaults, --build-arg, ENV wins over ARG; --target builds up to a stage', async (t) => {
  const b = await useBuild(t);
  const dir = await b.context({
    Dockerfile: [
      'ARG BASE=busybox',
      'ARG TAG=latest',
      'FROM ${BASE}:${TAG} AS first',
      'ARG TAG',
      'ARG GREETING=hello',
      'ENV FROM_ENV=env',
      'ARG FROM_ENV=arg',
      'RUN echo "$TAG $GREETING ${UNSET:-dflt} $FROM_ENV" > /out',
      'FROM first AS second',
      'RUN echo "second: ${GREETING:-not inherited}" >> /out',
      'FROM busybox AS unused',
      'RUN false',
      '',
    ].join('\n'),
  });
  const r = await b.build(dir, { target: 'second', buildArgs: { GREETING: 'hi', EXTRA: 'x' } });
  t.is(r.error, undefined, r.error?.message);
  t.true(
    r.lines.some((l) => l === 'Step 10/10 : RUN echo "second: ${GREETING:-not inherited}" >> /out'),
    r.lines.join('\n'),
  );
  t.true(r.lines.includes('[Warning] One or more build-args [EXTRA] were not consumed'));
  const run = await b.runImage(r.result?.image.digest as string, ['cat', '/out']);
  t.is(run.stdout, 'latest hi dflt env\nsecond: not inherited\n');
  const bad = await b.build(dir, { target: 'nosuch' });
  t.is(bad.error?.code, 'E_BUILD_STAGE_NOT_FOUND');
  t.regex(bad.error?.message ?? '', /first, second, unused/);
  t.deepEqual(b.c.leftovers(), []);
});

test('FROM scratch: a RUN with nothing to run it in is refused; files copied in make a stage that runs', async (t) => {
  const b = await useBuild(t);
  const empty = await b.build(await b.context({ Dockerfile: 'FROM scratch\nRUN true\n' }));
  t.is(empty.error?.code, 'E_BUILD_DOCKERFILE_INVALID');
  t.regex(empty.error?.message ?? '', /^Dockerfile:2: RUN: there is nothing to run it in/);
  const dir = await b.context({
    Dockerfile: 'FROM scratch\nCOPY --from=busybox /bin/busybox /bin/busybox\nRUN ["/bin/busybox", "mkdir", "/made"]\nCMD ["/bin/busybox", "ls", "/"]\n',
  });
  const r = await b.build(dir);
  t.is(r.error, undefined, r.error?.message);
  t.is(r.result?.image.manifest.layers.length, 2);
  t.deepEqual(await b.runImage(r.result?.image.digest as string), { stdout: 'bin\ndev\netc\nmade\nproc\nsys\n', stderr: '', exitCode: 0 });
  t.deepEqual(b.c.leftovers(), []);
});
