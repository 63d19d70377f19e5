/**
 * `berth images` and `berth image:*`: the image store through the daemon's API, with
 * Docker's words and columns where Docker has them.
 */
import { Argument, Command, Option } from '@commander-js/extra-typings';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { GcResult, ImageSummary, ImageView, ProgressEvent, PushResult, UntagResult } from '../../api/index.js';
import { BerthError } from '../../core/index.js';
import { apiFetch, apiRequest } from '../client.js';
import { readResult } from '../lib/ndjson.js';
import { resolveSettings } from '../settings.js';

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json'] as const).default('text' as const);

export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[u]}`;
}

function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  for (const [n, unit] of [[31_536_000, 'year'], [2_592_000, 'month'], [604_800, 'week'], [86_400, 'day'], [3600, 'hour'], [60, 'minute']] as const) {
    if (s >= n) {
      const k = Math.floor(s / n);
      return `${k} ${unit}${k === 1 ? '' : 's'} ago`;
    }
  }
  return `${s} seconds ago`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd()).join('\n');
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

export function renderImages(list: ImageSummary[]): string {
  const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const image of list) {
    for (const tag of image.tags) {
      const i = tag.lastIndexOf(':');
      rows.push([tag.slice(0, i), tag.slice(i + 1), short(image.configDigest), ago(image.created), humanSize(image.size)]);
    }
  }
  return table(rows);
}

function q(ref: string): string {
  return `ref=${encodeURIComponent(ref)}`;
}

/**
 * Docker's words for a blob's state (as server/images' progressWords; not imported from
 * there, since loading the image store's modules would add ~50 ms to every CLI command).
 */
function progressWords(e: ProgressEvent): string {
  if (e.status === 'pushed' && e.mountedFrom !== undefined) return `Mounted from ${e.mountedFrom}`;
  return { exists: 'Already exists', downloading: 'Downloading', downloaded: 'Download complete', uploading: 'Pushing', pushed: 'Pushed' }[e.status];
}

/** One blob's line, as Docker words it: `0123456789ab: Downloading  1.2MB/3.4MB`. */
export function progressLine(e: ProgressEvent): string {
  const moving = e.status === 'downloading' || e.status === 'uploading';
  const amount = moving ? `  ${humanSize(e.current)}/${humanSize(e.total)}` : '';
  return `${short(e.digest)}: ${progressWords(e)}${e.kind === 'config' ? ' (config)' : ''}${amount}`;
}

/**
 * Docker's per-layer progress. On a terminal, one line per blob, redrawn in place as bytes
 * move; otherwise one line each time a blob changes state (logs stay readable).
 */
function progressPrinter(out: NodeJS.WriteStream = process.stdout): (e: ProgressEvent) => void {
  if (out.isTTY) {
    const order: string[] = [];
    const lines = new Map<string, string>();
    return (e) => {
      if (!lines.has(e.digest)) {
        order.push(e.digest);
        lines.set(e.digest, progressLine(e));
        out.write(`${progressLine(e)}\n`);
        return;
      }
      lines.set(e.digest, progressLine(e));
      const up = order.length - order.indexOf(e.digest);
      out.write(`\x1b[${up}A\r\x1b[2K${progressLine(e)}\x1b[${up}B\r`);
    };
  }
  const last = new Map<string, string>();
  return (e) => {
    if (last.get(e.digest) === e.status) return;
    last.set(e.digest, e.status);
    const moving = e.status === 'downloading' || e.status === 'uploading';
    out.write(`${short(e.digest)}: ${progressWords(e)}${e.kind === 'config' ? ' (config)' : ''}${moving ? ` (${humanSize(e.total)})` : ''}\n`);
  };
}

/** Read a streamed transfer: print its progress and output lines, return its result. */
async function transfer<Result>(res: Response, what: string): Promise<Result> {
  return readResult<ProgressEvent, string, Result>(res.body as AsyncIterable<Uint8Array> | null, what, {
    progress: progressPrinter(),
    line: (text) => void process.stdout.write(`${text}\n`),
  });
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += String(chunk);
  return s.replace(/\r?\n$/, '');
}

async function credentials(options: { username?: string; passwordStdin?: boolean }): Promise<{ credentials?: { username: string; password: string } }> {
  if (options.username === undefined) {
    if (options.passwordStdin) throw new BerthError('E_CLI_USAGE', '--password-stdin needs --username');
    return {};
  }
  if (!options.passwordStdin) throw new BerthError('E_CLI_USAGE', '--username needs --password-stdin (the password is read from stdin, never from the command line)');
  return { credentials: { username: options.username, password: await readStdin() } };
}

export const imagesCommand = new Command('images')
  .description('list the images in the store')
  .addOption(formatOption())
  .action(async (options) => {
    const list = await apiRequest<ImageSummary[]>(resolveSettings(), 'GET', '/v1/images');
    process.stdout.write(options.format === 'json' ? `${JSON.stringify(list, null, 2)}\n` : `${renderImages(list)}\n`);
  });

const inspect = new Command('image:inspect')
  .description('show an image: digests, layers, config and history (JSON)')
  .argument('<image>', 'name[:tag], name@sha256:…, or a manifest digest')
  .action(async (image) => {
    const view = await apiRequest<ImageView>(resolveSettings(), 'GET', `/v1/images/inspect?${q(image)}`);
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
  });

const history = new Command('image:history')
  .description('show how an image\'s layers were made')
  .argument('<image>')
  .addOption(formatOption())
  .action(async (image, options) => {
    const view = await apiRequest<ImageView>(resolveSettings(), 'GET', `/v1/images/inspect?${q(image)}`);
    if (options.format === 'json') {
      process.stdout.write(`${JSON.stringify(view.history, null, 2)}\n`);
      return;
    }
    let layer = view.layers.length;
    const rows = [['LAYER', 'CREATED', 'CREATED BY', 'SIZE']];
    for (const h of [...view.history].reverse()) {
      const l = h.emptyLayer ? undefined : view.layers[--layer];
      rows.push([l ? short(l.digest) : '<missing>', ago(h.created), (h.createdBy ?? '').slice(0, 60), l ? humanSize(l.size) : '0B']);
    }
    process.stdout.write(`${table(rows)}\n`);
  });

const tag = new Command('image:tag')
  .description('give an image another name')
  .argument('<source>')
  .argument('<target>')
  .action(async (source, target) => {
    await apiRequest<ImageView>(resolveSettings(), 'POST', '/v1/images/tag', { source, target });
  });

const rmCommand = new Command('image:rm')
  .description('remove tags; `image:prune` then frees what no tag, container or release uses')
  .argument('<image...>')
  .option('-f, --force', 'remove the last tag of an image containers still use (they keep running; prune keeps its blobs while they exist)')
  .action(async (images, options) => {
    for (const image of images) {
      const r = await apiRequest<UntagResult>(resolveSettings(), 'DELETE', `/v1/images?${q(image)}${options.force ? '&force=true' : ''}`);
      process.stdout.write(`Untagged: ${r.untagged} (${r.digest})\n`);
    }
  });

const prune = new Command('image:prune')
  .description('remove every blob and unpacked layer that nothing uses')
  .addOption(formatOption())
  .action(async (options) => {
    const r = await apiRequest<GcResult>(resolveSettings(), 'POST', '/v1/images/prune', {}, 10 * 60_000);
    process.stdout.write(options.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : `Deleted ${r.removedBlobs.length} blobs and ${r.removedLayers.length} unpacked layers; reclaimed ${humanSize(r.freedBytes)} of blobs\n`);
  });

const base = new Command('image:base')
  .description('build a base image from Debian\'s packages: busybox (from busybox-static) or stack (debootstrap bookworm), once')
  .addArgument(new Argument('<name>', 'which base image').choices(['busybox', 'stack'] as const))
  .option('--rebuild', 'build it again even when it exists')
  .action(async (name, options) => {
    const body = JSON.stringify({ name, ...(options.rebuild ? { rebuild: true } : {}) });
    const res = await apiFetch(resolveSettings(), 'POST', '/v1/images/base', { body, headers: { 'content-type': 'application/json' } });
    const view = await transfer<ImageView>(res, 'POST /v1/images/base');
    process.stdout.write(`${view.tags.join(', ')} ${view.digest}\n`);
  });

const pull = new Command('image:pull')
  .description('pull an image from a registry (host[:port]/name[:tag])')
  .argument('<reference>')
  .option('-u, --username <user>', 'registry user')
  .option('--password-stdin', 'read the registry password from stdin')
  .action(async (reference, options) => {
    const body = JSON.stringify({ reference, ...(await credentials(options)) });
    const res = await apiFetch(resolveSettings(), 'POST', '/v1/images/pull', { body, headers: { 'content-type': 'application/json' } });
    const view = await transfer<ImageView>(res, 'POST /v1/images/pull');
    process.stdout.write(`Digest: ${view.digest}\nStatus: pulled ${reference}\n`);
  });

const push = new Command('image:push')
  .description('push an image to a registry')
  .argument('<image>', 'the local image')
  .argument('[target]', 'host[:port]/name[:tag] (default: the image\'s own name)')
  .option('-u, --username <user>', 'registry user')
  .option('--password-stdin', 'read the registry password from stdin')
  .action(async (image, target, options) => {
    const body = JSON.stringify({ source: image, ...(target === undefined ? {} : { target }), ...(await credentials(options)) });
    const res = await apiFetch(resolveSettings(), 'POST', '/v1/images/push', { body, headers: { 'content-type': 'application/json' } });
    const r = await transfer<PushResult>(res, 'POST /v1/images/push');
    process.stdout.write(`${target ?? image}: digest: ${r.digest} (${r.pushed.length} blobs pushed, ${r.existed.length} already there${r.mounted.length > 0 ? `, ${r.mounted.length} mounted from another repository` : ''})\n`);
  });

const importCommand = new Command('image:import')
  .description('import a docker save tarball or an OCI archive ("-" reads stdin)')
  .argument('<file>')
  .option('-t, --tag <tag>', 'tag the image (when the archive holds one)')
  .action(async (file, options) => {
    const source = file === '-' ? process.stdin : createReadStream(file);
    const path = `/v1/images/import${options.tag ? `?tag=${encodeURIComponent(options.tag)}` : ''}`;
    const res = await apiFetch(resolveSettings(), 'POST', path, { body: Readable.toWeb(source) as unknown as RequestInit['body'], headers: { 'content-type': 'application/x-tar' } });
    const views = (await res.json()) as ImageView[];
    for (const v of views) process.stdout.write(`Loaded image: ${v.tags.join(', ') || v.digest}\n`);
  });

const exportCommand = new Command('image:export')
  .description('write images as an OCI archive or a docker save tarball')
  .argument('<image...>')
  .requiredOption('-o, --output <file>', 'the archive to write ("-" for stdout)')
  .addOption(new Option('--format <format>', 'archive format').choices(['oci-archive', 'docker-archive'] as const).default('oci-archive' as const))
  .action(async (images, options) => {
    const query = [...images.map(q), `format=${options.format}`].join('&');
    const res = await apiFetch(resolveSettings(), 'GET', `/v1/images/export?${query}`);
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    if (options.output === '-') {
      await pipeline(body, process.stdout);
      return;
    }
    const temp = `${options.output}.partial`;
    try {
      await pipeline(body, createWriteStream(temp));
      await rename(temp, options.output);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
  });

export const imageCommands = [imagesCommand, inspect, history, tag, rmCommand, prune, base, pull, push, importCommand, exportCommand];
