/**
 * `KEY=VALUE` environment entries, parsed, checked and merged by one rule wherever Berth
 * builds a process's environment (a container's, a committed image's, the runtime's spec).
 *
 * The rule is the OCI runtime spec's ("POSIX process": each entry is KEY=VALUE) with
 * Docker's leniency on names: the key is everything before the first `=`, must not be
 * empty, and any other character is the program's business (Docker's CLI checks nothing
 * more); the value may hold `=`; no NUL anywhere, since the kernel's
 * environment block ends each entry with one. Merging is Docker's too: an override replaces
 * the entry of the same key where it stands, new keys come after in the order given.
 */
import { BerthError } from './errors.js';

/** The PATH a process gets when its image sets none: Docker's (and runc's spec) default. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** One entry, split at its first `=`. */
export interface EnvEntry {
  key: string;
  value: string;
}

function invalidEntry(message: string, entry: string): BerthError {
  return new BerthError('E_NAME_INVALID', message, {
    hint: 'Write environment entries as KEY=VALUE: a non-empty KEY without "=", and no NUL byte anywhere.',
    details: { entry },
  });
}

/**
 * Split `KEY=VALUE`. Throws E_NAME_INVALID naming the entry when it has no `=`, an empty
 * key, or a NUL byte (a value is never quoted in the message: it may be a secret).
 */
export function parseEnvEntry(entry: string): EnvEntry {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (key.includes('\0')) throw invalidEntry(`environment variable name ${JSON.stringify(key)} contains a NUL byte`, key);
  if (eq < 0) throw invalidEntry(`environment entry ${JSON.stringify(entry)} is not KEY=VALUE: it has no "="`, entry);
  if (eq === 0) throw invalidEntry(`environment entry ${JSON.stringify(entry)} is not KEY=VALUE: the KEY is empty`, entry);
  const value = entry.slice(eq + 1);
  if (value.includes('\0')) throw invalidEntry(`the value of environment variable ${JSON.stringify(key)} contains a NUL byte`, key);
  return { key, value };
}

/**
 * `base` with `overrides` applied: an override replaces the base entry of the same key in
 * place, a new key is appended in the order given; a key given twice keeps its first place
 * and its last value. Every override must be a valid entry (E_NAME_INVALID otherwise). A
 * base entry that is not one (an image's Env is written by whoever built the image) cannot
 * be handed to a process, so it is left out rather than failing every container of it.
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const merged = new Map<string, string>();
  for (const entry of base) {
    const eq = entry.indexOf('=');
    if (eq > 0 && !entry.includes('\0')) merged.set(entry.slice(0, eq), entry);
  }
  for (const entry of overrides) merged.set(parseEnvEntry(entry).key, entry);
  return [...merged.values()];
}

/** Entries as a key → value record (a later entry of the same key wins). Throws as parseEnvEntry. */
export function envRecord(entries: readonly string[]): Record<string, string> {
  // fromEntries defines own properties, so a key such as `__proto__` stays a plain key.
  return Object.fromEntries(
    entries.map((entry) => {
      const { key, value } = parseEnvEntry(entry);
      return [key, value];
    }),
  );
}
