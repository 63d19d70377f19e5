/**
 * Where an app's user-namespace range comes from (docs/apps.md, "User namespaces"): slots of
 * 65,536 ids (a whole 16-bit id space, so an image's `nobody` 65534 maps too), from host id
 * 0x70000000 (1,879,048,192) up to 0x7FFE0000. That window lies above systemd's container
 * range (524,288–1,879,048,191, which systemd-nspawn picks from), below systemd's foreign
 * range (0x7FFE0000–0x7FFEFFFF) and below 2^31 (ids past it are unsafe in signed code), and
 * far above what useradd delegates in /etc/subuid (100,000 + 65,536·k) and the fixed test
 * ranges. A slot that overlaps any range in /etc/subuid or /etc/subgid is skipped anyway.
 * The containers room hands out no range of its own: containers run in the host's user
 * namespace unless given an app's range. The lowest free slot goes to a new app; an app
 * keeps its range for its whole life and frees it when destroyed.
 */
import { readTextIfExists } from '../core/index.js';
import type { UsernsRange } from './types.js';

export interface UsernsPolicy {
  /** The first host id of the first slot. @defaultValue 0x70000000 */
  first: number;
  /** Ids per app. @defaultValue 65536 */
  size: number;
  /** How many slots there are. @defaultValue 4094 (up to 0x7FFE0000) */
  slots: number;
  /** Files in /etc/subuid format whose ranges are never handed out. @defaultValue ['/etc/subuid', '/etc/subgid'] */
  reservedFiles: readonly string[];
}

export const defaultUsernsPolicy: UsernsPolicy = {
  first: 0x7000_0000,
  size: 65_536,
  slots: (0x7ffe_0000 - 0x7000_0000) / 65_536,
  reservedFiles: ['/etc/subuid', '/etc/subgid'],
};

/** `user:start:count` lines (subuid(5)); comments, blank and malformed lines carry no range. */
export function parseSubidRanges(text: string): UsernsRange[] {
  const out: UsernsRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^[^:#\s][^:]*:(\d+):(\d+)\s*$/.exec(line.trim());
    if (m) out.push({ hostId: Number(m[1]), size: Number(m[2]) });
  }
  return out;
}

/** The ranges the reserved files name (a missing file names none). */
export async function reservedRanges(files: readonly string[]): Promise<UsernsRange[]> {
  const texts = await Promise.all(files.map((f) => readTextIfExists(f)));
  return texts.flatMap((t) => (t === undefined ? [] : parseSubidRanges(t)));
}

const overlaps = (a: UsernsRange, b: UsernsRange): boolean => a.hostId < b.hostId + b.size && b.hostId < a.hostId + a.size;

/** The lowest slot that overlaps none of `taken`; undefined when every slot is taken. */
export function allocateRange(policy: UsernsPolicy, taken: readonly UsernsRange[]): UsernsRange | undefined {
  for (let slot = 0; slot < policy.slots; slot++) {
    const candidate = { hostId: policy.first + slot * policy.size, size: policy.size };
    if (!taken.some((r) => overlaps(candidate, r))) return candidate;
  }
  return undefined;
}
