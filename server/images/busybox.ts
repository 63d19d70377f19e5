/**
 * The `busybox` base image, built here from Debian's busybox-static (no registry needed):
 * one layer with /bin/busybox, a symlink per applet at the path `busybox --list-full`
 * gives, the usual top-level directories and a minimal /etc. Every time in it is the
 * binary's mtime, so the same package gives the same digests on every machine.
 */
import './tar-compat.js';
import { readFile, stat } from 'node:fs/promises';
import { pack } from 'tar-stream';
import { BerthError, DEFAULT_PATH, run } from '../core/index.js';
import { buildImage } from './build.js';
import type { Image, ImageStore } from './store.js';

export const BUSYBOX_TAG = 'busybox:latest';
export const DEFAULT_BUSYBOX = '/bin/busybox';

interface Entry {
  name: string;
  type: 'directory' | 'file' | 'symlink';
  mode: number;
  content?: Buffer;
  linkname?: string;
}

async function tar(entries: Entry[], mtime: Date): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type,
      mode: e.mode,
      mtime,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.content) p.entry({ ...header, size: e.content.length }, e.content, cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The busybox layer as an uncompressed tarball, and the version banner it was made from. */
export async function busyboxLayer(busybox = DEFAULT_BUSYBOX): Promise<{ tar: Buffer; version: string; mtime: Date }> {
  let binary: Buffer;
  try {
    binary = await readFile(busybox);
  } catch (cause) {
    throw new BerthError('E_EXEC_NOT_FOUND', `${busybox} is missing: the busybox image is built from it`, {
      cause,
      hint: 'Install it: apt-get install -y busybox-static',
    });
  }
  const mtime = new Date(Math.floor((await stat(busybox)).mtimeMs / 1000) * 1000);
  const list = await run(busybox, ['--list-full'], { installHint: 'busybox-static' });
  const banner = (await run(busybox, ['--help'], { allowFailure: true })).stdout.split('\n')[0]?.trim() ?? 'BusyBox';
  const dirs: [string, number][] = [
    ['bin', 0o755],
    ['dev', 0o755],
    ['etc', 0o755],
    ['home', 0o755],
    ['proc', 0o755],
    ['root', 0o700],
    ['sbin', 0o755],
    ['sys', 0o755],
    ['tmp', 0o1777],
    ['usr', 0o755],
    ['usr/bin', 0o755],
    ['usr/sbin', 0o755],
    ['var', 0o755],
    ['var/tmp', 0o1777],
  ];
  const entries: Entry[] = dirs.map(([name, mode]) => ({ name: `${name}/`, type: 'directory', mode }));
  entries.push({ name: 'bin/busybox', type: 'file', mode: 0o755, content: binary });
  const applets = list.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'bin/busybox')
    .sort();
  for (const path of applets) {
    if (!/^(bin|sbin|usr\/bin|usr\/sbin)\/[^/]+$/.test(path)) continue; // only into the directories made above
    entries.push({ name: path, type: 'symlink', mode: 0o777, linkname: '/bin/busybox' });
  }
  entries.push(
    {
      name: 'etc/passwd',
      type: 'file',
      mode: 0o644,
      content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
    },
    { name: 'etc/group', type: 'file', mode: 0o644, content: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
  );
  return { tar: await tar(entries, mtime), version: banner, mtime };
}

/** Build the busybox image and tag it (`busybox:latest` unless told otherwise). */
export async function buildBusyboxImage(store: ImageStore, options: { tag?: string; busybox?: string } = {}): Promise<Image> {
  const layer = await busyboxLayer(options.busybox);
  return buildImage(store, {
    layers: [layer.tar],
    compression: 'gzip',
    created: layer.mtime.toISOString(),
    history: [`berth: ${layer.version}`],
    config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ['sh'] },
    tags: [options.tag ?? BUSYBOX_TAG],
  });
}

/** The busybox image, built once: an existing tag is used as it is. */
export async function ensureBusyboxImage(store: ImageStore, options: { tag?: string; busybox?: string } = {}): Promise<Image> {
  const tag = options.tag ?? BUSYBOX_TAG;
  if (store.tags().has(tag)) return store.resolve(tag);
  return buildBusyboxImage(store, options);
}
