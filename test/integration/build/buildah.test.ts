/**
 * Berth's builder against the reference, buildah (Debian's, `buildah bud`, vfs storage in a
 * private directory, runc, docker format so that HEALTHCHECK is kept): the same Dockerfiles on
 * the same busybox base (Berth's, exported to buildah as an OCI archive) give the same files
 * (path, type, mode, owner, content or link target) and the same config (Env, Cmd,
 * Entrypoint, WorkingDir, User, ExposedPorts, Labels, Healthcheck, StopSignal, Volumes).
 * Times are not compared (each build writes its own). The known differences, and nothing
 * else, are left out, each with its reason:
 *  - buildah labels every image `io.buildah.version`; Berth adds no label of its own.
 *  - SHELL: Docker applies it to the shell forms of CMD and ENTRYPOINT too (its reference
 *    says so); buildah 1.28 uses /bin/sh -c there. Berth follows Docker.
 *  - mount points a RUN container's runtime creates in its writable layer end up in
 *    buildah's step layer (/run, and /etc/hostname with mode 755); Berth's commit leaves
 *    them out, as Docker does, so Berth's tree must have none of them.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { RootfsView } from '../../../server/build/rootfs.js';
import { defaultFsutilBinary, exportOciArchive, type Image } from '../../../server/images/index.js';
import { useBuild, type ContextFile } from '../../helpers/build.js';
import { requireBinary } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';

interface Case {
  name: string;
  files: Record<string, ContextFile>;
  buildArgs?: Record<string, string>;
  target?: string;
}

const cases: Case[] = [
  {
    name: 'config',
    files: {
      Dockerfile: [
        'FROM busybox',
        'ENV A=1 B="two words" C=$A-x',
        'LABEL org.example.a="x y" b=2',
        'EXPOSE 80 53/udp',
        'USER nobody',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q -O- http://localhost/ || exit 1',
        'VOLUME /data',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo hi"]',
        '',
      ].join('\n'),
    },
  },
  {
    name: 'workdir and copy',
    files: { Dockerfile: 'FROM busybox\nWORKDIR /app/sub\nCOPY a.txt .\nCOPY a.txt b.txt ../\nWORKDIR rel\n', 'a.txt': 'a\n', 'b.txt': 'b\n' },
  },
  {
    name: 'directories and wildcards',
    files: {
      Dockerfile: 'FROM busybox\nCOPY src /srv/\nCOPY *.md /docs/\nCOPY ["src/deep", "/deep"]\n',
      'src/x.sh': { text: '#!/bin/sh\n', mode: 0o755 },
      'src/deep/y.txt': 'y\n',
      'one.md': '1',
      'two.md': '2',
      'skip.txt': '',
    },
  },
  {
    name: 'chown and chmod',
    files: {
      Dockerfile: 'FROM busybox\nCOPY --chown=nobody:nogroup a.txt /owned/\nCOPY --chown=1234:5678 --chmod=640 a.txt /numeric\nCOPY --chmod=700 dir /mode/\n',
      'a.txt': 'a\n',
      'dir/f': 'f\n',
    },
  },
  { name: 'add archive', files: { Dockerfile: 'FROM busybox\nADD archive.tar.gz /opt/\nADD plain.txt /opt/plain.txt\n', 'plain.txt': 'plain\n' } },
  {
    name: 'run',
    files: { Dockerfile: 'FROM busybox\nRUN mkdir -p /var/app && echo hi > /var/app/hi && chmod 600 /var/app/hi && ln -s hi /var/app/link && rm /etc/group\n' },
  },
  {
    name: 'multi-stage',
    files: {
      Dockerfile:
        'FROM busybox AS build\nRUN mkdir /out && echo built > /out/result\nFROM busybox\nCOPY --from=build /out /result/\nCOPY --from=0 /out/result /single\n',
    },
  },
  {
    name: 'args',
    buildArgs: { NAME: 'given' },
    files: {
      Dockerfile:
        'ARG BASE=busybox\nFROM $BASE\nARG NAME=dflt\nARG OTHER=other\nENV FROM_ARG=$NAME\nWORKDIR /w/$OTHER\nLABEL name=$NAME\nCOPY a.txt /w/${NAME}.txt\n',
      'a.txt': 'a\n',
    },
  },
  {
    name: 'dockerignore',
    files: {
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
      '.dockerignore': '*.log\n!keep.log\nsecret/\n',
      'a.log': '',
      'keep.log': 'k',
      'secret/s': 's',
      'ok/o': 'o',
    },
  },
  { name: 'shell forms', files: { Dockerfile: 'FROM busybox\nSHELL ["/bin/sh", "-e", "-c"]\nCMD echo "$HOME"\nENTRYPOINT exec env\n' } },
  {
    name: 'target',
    target: 'middle',
    files: { Dockerfile: 'FROM busybox AS middle\nENV STAGE=middle\nCOPY a.txt /m\nFROM middle\nENV STAGE=last\n', 'a.txt': 'm\n' },
  },
];

async function tarball(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  p.entry({ name: 'pkg/', type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  p.entry({ name: 'pkg/bin.sh', mode: 0o755, uid: 0, gid: 0 }, '#!/bin/sh\necho pkg\n');
  p.entry({ name: 'pkg/data.txt', mode: 0o644, uid: 1, gid: 1 }, 'data\n');
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** path → `type mode uid:gid content-hash|link-target` of a tree, by a lister of directories. */
async function describe(
  list: (rel: string) => Promise<string[]>,
  stat: (rel: string) => Promise<{ host: string; mode: number; uid: number; gid: number; kind: string }>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (rel: string): Promise<void> => {
    for (const name of await list(rel)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const s = await stat(path);
      const what =
        s.kind === 'file'
          ? createHash('sha256')
              .update(await readFile(s.host))
              .digest('hex')
              .slice(0, 16)
          : s.kind === 'symlink'
            ? await readlink(s.host)
            : '';
      out.set(path, `${s.kind} ${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid} ${what}`);
      if (s.kind === 'dir') await visit(path);
    }
  };
  await visit('');
  return out;
}

const kindOf = (st: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }): string =>
  st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';

function buildah(storage: string[], args: string[]): string {
  const r = spawnSync('buildah', [...storage, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`buildah ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** JSON with object keys sorted: the same config whatever order its keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

const CONFIG_KEYS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Healthcheck', 'StopSignal', 'Volumes'] as const;

function configOf(c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    let v = c[k];
    if (k === 'Labels' && v !== null && typeof v === 'object') {
      const { 'io.buildah.version': _byDesign, ...rest } = v as Record<string, string>;
      v = rest;
    }
    if (v === undefined || v === null || v === '' || (typeof v === 'object' && Object.keys(v as object).length === 0)) continue;
    out[k] = v;
  }
  return out;
}

test('the same files and config as buildah bud, for 11 Dockerfiles covering the instructions', async (t) => {
  t.timeout(30 * 60_000, 'buildah runs every RUN in a runc container; on a loaded machine that is slow');
  requireBinary('/usr/bin/buildah', 'buildah');
  requireBinary('/usr/sbin/runc', 'runc');
  const b = await useBuild(t);
  const dir = await tempDir(t, 'bah-');
  const storage = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'];
  t.teardown(() => {
    spawnSync('buildah', [...storage, 'rm', '--all']);
    spawnSync('buildah', [...storage, 'rmi', '--all', '--force']);
  });
  const archive = join(dir, 'busybox.tar');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(archive);
    out.on('finish', () => resolve());
    out.on('error', reject);
    exportOciArchive(b.c.store, ['busybox:latest'], out).catch(reject);
  });
  buildah(storage, ['pull', '--quiet', `oci-archive:${archive}`]);
  buildah(storage, ['tag', 'busybox:latest', 'localhost/busybox:latest']);
  const archiveBytes = gzipSync(await tarball());
  const differences: string[] = [];
  for (const c of cases) {
    const ctx = await b.context(c.files);
    if (c.name === 'add archive') await writeFile(join(ctx, 'archive.tar.gz'), archiveBytes);
    const mine = await b.build(ctx, { ...(c.buildArgs ? { buildArgs: c.buildArgs } : {}), ...(c.target ? { target: c.target } : {}) });
    t.is(mine.error, undefined, `${c.name}: ${mine.error?.message}`);
    const image = mine.result?.image as Image;
    const tag = `localhost/cmp-${c.name.replaceAll(' ', '-')}:1`;
    buildah(storage, [
      'bud',
      '--quiet',
      '--pull-never',
      '--format',
      'docker',
      '--isolation',
      'oci',
      '--runtime',
      'runc',
      '--network',
      'none',
      '-t',
      tag,
      ...Object.entries(c.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      ...(c.target ? ['--target', c.target] : []),
      ctx,
    ]);
    const inspect = JSON.parse(buildah(storage, ['inspect', '--type', 'image', tag])) as { Docker: { config: Record<string, unknown> } };
    const ours = canonical(configOf((image.config.config ?? {}) as Record<string, unknown>));
    const ref = canonical(configOf(inspect.Docker.config));
    if (c.name === 'shell forms') {
      t.is(
        ref,
        canonical({ Env: [PATH], Cmd: ['/bin/sh', '-c', 'echo "$HOME"'], Entrypoint: ['/bin/sh', '-c', 'exec env'] }),
        'buildah ignores SHELL for CMD and ENTRYPOINT',
      );
      t.is(
        ours,
        canonical({ Env: [PATH], Cmd: ['/bin/sh', '-e', '-c', 'echo "$HOME"'], Entrypoint: ['/bin/sh', '-e', '-c', 'exec env'] }),
        'Berth applies it, as Docker does',
      );
    } else if (ours !== ref) differences.push(`${c.name}: config: berth ${ours} | buildah ${ref}`);

    const view = new RootfsView(await b.c.store.unpackImage(image), defaultFsutilBinary);
    const berthTree = await describe(
      (rel) => view.readdir(rel),
      async (rel) => {
        const e = await view.lstat(rel);
        if (e === undefined) throw new Error(`${rel} vanished`);
        return { host: e.host, mode: e.stat.mode, uid: e.stat.uid, gid: e.stat.gid, kind: kindOf(e.stat) };
      },
    );
    const container = buildah(storage, ['from', '--pull-never', tag]).trim();
    const mount = buildah(storage, ['mount', container]).trim();
    const theirs = await describe(
      async (rel) => (await readdir(join(mount, rel))).sort(),
      async (rel) => {
        const st = await lstat(join(mount, rel));
        return { host: join(mount, rel), mode: st.mode, uid: st.uid, gid: st.gid, kind: kindOf(st) };
      },
    );
    buildah(storage, ['rm', container]);
    if (mine.events.some((e) => e.type === 'running')) {
      for (const mountPoint of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf']) {
        if (theirs.get(mountPoint)?.startsWith('file 755 0:0 ')) theirs.delete(mountPoint);
      }
      if (theirs.get('run') === 'dir 755 0:0 ') theirs.delete('run');
    }
    for (const [path, d] of berthTree)
      if (theirs.get(path) !== d) differences.push(`${c.name}: /${path}: berth ${d} | buildah ${theirs.get(path) ?? '(missing)'}`);
    for (const [path, d] of theirs) if (!berthTree.has(path)) differences.push(`${c.name}: /${path}: berth (missing) | buildah ${d}`);
  }
  t.deepEqual(differences, []);
  t.deepEqual(b.c.leftovers(), []);
});
