/**
 * The `stack` image, what buildpack apps run on: a Debian bookworm root built here with
 * debootstrap from Debian's packages (minbase plus what the bundled buildpacks need),
 * stored as one gzip layer. Built once and kept under its tag; `rebuild` makes it anew.
 * debootstrap's downloads are cached (BERTH_HOME/cache/debootstrap), so a rebuild fetches
 * only what changed. Its output is passed on line by line as progress.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, DEFAULT_PATH, formatBytes, runStreaming } from '../core/index.js';
import { assembleImage, writeLayerStream } from './build.js';
import type { Image, ImageStore } from './store.js';

export const STACK_TAG = 'stack:bookworm';
export const STACK_SUITE = 'bookworm';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/**
 * minbase plus what apps and the bundled buildpacks (buildpacks/README.md) need: curl, xz and
 * ca-certificates fetch Node.js and npm from the npm registry; python3-venv makes the Python
 * buildpack's virtualenv (pip comes from its ensurepip wheel); busybox's httpd serves static sites.
 */
export const stackPackages = [
  'ca-certificates',
  'curl',
  'git',
  'python3',
  'python3-venv',
  'busybox',
  'procps',
  'netbase',
  'tzdata',
  'xz-utils',
  'locales',
] as const;

export interface StackOptions {
  /** Where debootstrap keeps downloaded packages between builds. */
  cacheDir: string;
  mirror?: string;
  packages?: readonly string[];
  tag?: string;
  /** Each line debootstrap and tar print. */
  onLine?: (line: string) => void;
  /** Give up after this long. @defaultValue 30 minutes */
  timeoutMs?: number;
  /** Stop the build (debootstrap and everything it started) when this aborts. */
  signal?: AbortSignal;
}

/** Build the stack image with debootstrap and tag it. */
export async function buildStackImage(store: ImageStore, options: StackOptions): Promise<Image> {
  const onLine = options.onLine ?? (() => undefined);
  const packages = options.packages ?? stackPackages;
  const mirror = options.mirror ?? DEFAULT_MIRROR;
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  // In ingest/: a build cut short is removed when the store next opens.
  const root = store.ingestPath('stack');
  await mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
  const lease = store.lease();
  try {
    const args = ['--variant=minbase', includeArgument(packages), `--cache-dir=${options.cacheDir}`, STACK_SUITE, root, mirror];
    onLine(`-----> debootstrap ${args.join(' ')}`);
    await runStreaming(['debootstrap', ...args], { onLine, timeoutMs, signal: options.signal, installHint: 'debootstrap' });
    // What a container never needs from the build: package lists and caches, logs, and
    // /dev (the runtime mounts its own; debootstrap's console node is not a layer's business).
    for (const d of ['var/lib/apt/lists', 'var/cache/apt', 'var/log', 'dev', 'tmp', 'var/tmp']) {
      for (const name of await readdir(join(root, d)).catch(() => [] as string[])) await rm(join(root, d, name), { recursive: true, force: true });
    }
    await addLocalCertificates(root, onLine);
    onLine('-----> packing the root filesystem as a layer');
    const tar = spawn('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--sort=name', '-C', root, '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tarErr = '';
    tar.stderr.on('data', (b: Buffer) => (tarErr += b.toString()));
    const exited = new Promise<number | null>((r) => tar.on('close', r));
    const layer = await writeLayerStream(store, tar.stdout, 'gzip', lease);
    const code = await exited;
    if (code !== 0) throw new BerthError('E_EXEC_FAILED', `tar of the stack root exited with ${code}: ${tarErr.trim()}`);
    onLine(`-----> layer ${layer.descriptor.digest} (${formatBytes(layer.descriptor.size)})`);
    return await assembleImage(
      store,
      {
        layers: [layer],
        config: { Env: [`PATH=${DEFAULT_PATH}`, 'LANG=C.UTF-8'], Cmd: ['bash'] },
        history: [`debootstrap --variant=minbase ${includeArgument(packages)} ${STACK_SUITE} ${mirror}`],
        tags: [options.tag ?? STACK_TAG],
      },
      lease,
    );
  } finally {
    lease.release();
    await rm(root, { recursive: true, force: true });
  }
}

/** Where Debian keeps the CA certificates an administrator added (update-ca-certificates(8)). */
const localCertificates = '/usr/local/share/ca-certificates';

/**
 * The host's local CA certificates, into the stack as well: a server whose outbound HTTPS
 * goes through a TLS-intercepting proxy trusts its CA there, and without it no buildpack
 * reaches a registry. They are copied where update-ca-certificates finds them and appended
 * to the bundle curl, Python and (with NODE_EXTRA_CA_CERTS) Node.js read.
 */
async function addLocalCertificates(root: string, onLine: (line: string) => void): Promise<void> {
  const names = (await readdir(localCertificates).catch(() => [] as string[])).filter((n) => n.endsWith('.crt')).sort();
  if (names.length === 0) return;
  await mkdir(join(root, localCertificates), { recursive: true });
  let bundle = '';
  for (const name of names) {
    const pem = await readFile(join(localCertificates, name), 'utf8');
    await writeFile(join(root, localCertificates, name), pem);
    bundle += pem.endsWith('\n') ? pem : `${pem}\n`;
  }
  await appendFile(join(root, 'etc/ssl/certs/ca-certificates.crt'), bundle);
  onLine(`-----> the host's local CA certificates (${localCertificates}): ${names.join(', ')}`);
}

function includeArgument(packages: readonly string[]): string {
  return `--include=${packages.join(',')}`;
}

/**
 * Whether `image` was built with `packages`: its first history entry records the debootstrap
 * command line, so a stack built before the package list changed (a buildpack needing a new
 * package) is told apart without a label of its own.
 */
export function stackHasPackages(image: Image, packages: readonly string[] = stackPackages): boolean {
  const words = (image.config.history?.[0]?.created_by ?? '').split(' ');
  return words.includes(includeArgument(packages));
}

/**
 * The stack image: the tagged one when it exists and was built with the current package list
 * (unless `rebuild`), else built now.
 */
export async function ensureStackImage(store: ImageStore, options: StackOptions & { rebuild?: boolean }): Promise<Image> {
  const tag = options.tag ?? STACK_TAG;
  if (!options.rebuild && store.tags().has(tag)) {
    const image = await store.resolve(tag);
    if (stackHasPackages(image, options.packages ?? stackPackages)) return image;
    options.onLine?.(`-----> ${tag} was built with another package list: building it anew`);
  }
  return buildStackImage(store, options);
}
