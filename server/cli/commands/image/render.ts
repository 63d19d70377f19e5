/**
 * What `berth images`, `image:history`, `image:pull` and `image:push` print, in Docker's
 * words and columns. Pure but for the printer's terminal: unit-tested in test/unit/cli/images.test.ts.
 */
import type { ImageSummary, ImageView, ProgressEvent } from '../../../api/index.js';
import { humanSize, shortId, table, timeAgo } from '../../lib/format.js';

export function renderImages(list: ImageSummary[], now = Date.now()): string {
  const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const image of list) {
    for (const tag of image.tags) {
      const i = tag.lastIndexOf(':');
      rows.push([tag.slice(0, i), tag.slice(i + 1), shortId(image.configDigest), timeAgo(image.created, now), humanSize(image.size)]);
    }
  }
  return table(rows);
}

/** `image:history`: the newest layer first, as Docker. */
export function renderHistory(view: ImageView, now = Date.now()): string {
  let layer = view.layers.length;
  const rows = [['LAYER', 'CREATED', 'CREATED BY', 'SIZE']];
  for (const h of [...view.history].reverse()) {
    const l = h.emptyLayer ? undefined : view.layers[--layer];
    rows.push([l ? shortId(l.digest) : '<missing>', timeAgo(h.created, now), (h.createdBy ?? '').slice(0, 60), l ? humanSize(l.size) : '0B']);
  }
  return table(rows);
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
  return `${shortId(e.digest)}: ${progressWords(e)}${e.kind === 'config' ? ' (config)' : ''}${amount}`;
}

/**
 * Docker's per-layer progress. On a terminal, one line per blob, redrawn in place as bytes
 * move; otherwise one line each time a blob changes state (logs stay readable).
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stdout): (e: ProgressEvent) => void {
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
    out.write(`${shortId(e.digest)}: ${progressWords(e)}${e.kind === 'config' ? ' (config)' : ''}${moving ? ` (${humanSize(e.total)})` : ''}\n`);
  };
}
