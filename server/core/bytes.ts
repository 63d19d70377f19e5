/**
 * Byte counts as people read them, in one place: "7.9 MiB" in Berth's messages, and the
 * forms Docker's CLI prints (its go-units BytesSize "1.523MiB", HumanSize "4.26MB").
 */

export interface FormatBytesOptions {
  /** 1024: B, KiB, MiB… 1000: B, kB, MB… @defaultValue 1024 */
  base?: 1024 | 1000;
  /**
   * That many significant digits, trailing zeros dropped (Docker's form: "1.523MiB",
   * "512MiB"). Without it, one decimal ("7.9 MiB", "512.0 KiB").
   */
  significant?: number;
  /** Between the number and the unit. @defaultValue ' ' */
  separator?: string;
}

const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** `bytes` in the largest unit that keeps the number at least 1: "512 B", "7.9 MiB". */
export function formatBytes(bytes: number, options: FormatBytesOptions = {}): string {
  const base = options.base ?? 1024;
  const units = base === 1024 ? binaryUnits : decimalUnits;
  const separator = options.separator ?? ' ';
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= base && u < units.length - 1) {
    v /= base;
    u++;
  }
  if (u === 0) return `${bytes}${separator}B`;
  const number = options.significant === undefined ? v.toFixed(1) : String(Number(v.toPrecision(options.significant)));
  return `${number}${separator}${units[u]}`;
}
