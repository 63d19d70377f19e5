/**
 * How the CLI prints tables, sizes and ages, each written once, in Docker's words: the
 * tabwriter's columns, units.HumanSize and units.BytesSize, units.HumanDuration. Pure
 * (the clock is a parameter): unit-tested in test/unit/cli.
 */

/** Columns left-aligned, three spaces apart, the last one unpadded (Docker's tabwriter). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

/** Docker's units.HumanSize: decimal units, three significant digits ("1.06MB"), as `images` prints sizes. */
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

/** Docker's units.BytesSize: binary units, four significant digits ("1.523MiB"), as `stats` prints memory. */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u]}`;
}

/** Docker's units.HumanDuration: "Less than a second", "About a minute", "3 hours"… */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(seconds / 3600 / 24 / 365)} years`;
}

/** How long since `iso`, in Docker's words ("3 minutes"); a time in the future or unreadable counts as now. */
export function since(iso: string | undefined, now: number): string {
  return humanDuration(Math.max(0, now - Date.parse(iso ?? '')) || 0);
}

/** The CREATED column: "3 minutes ago" (Docker's `ps` and `images`), `-` when unknown. */
export function timeAgo(iso: string | undefined, now = Date.now()): string {
  return iso === undefined ? '-' : `${since(iso, now)} ago`;
}

/** The first 12 hex digits of an id or a `sha256:` digest, as Docker shows them. */
export function shortId(idOrDigest: string): string {
  return idOrDigest.replace(/^sha256:/, '').slice(0, 12);
}
