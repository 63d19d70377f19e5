import { renderError, toBerthError } from '../../core/index.js';

/**
 * For commands taking several names (stop, kill, rm, inspect): do each, print each failure
 * as it comes and go on, and exit 1 at the end if any failed (Docker's rule).
 */
export async function forEach(refs: readonly string[], one: (r: string) => Promise<void>): Promise<void> {
  let failed = false;
  for (const r of refs) {
    try {
      await one(r);
    } catch (err) {
      failed = true;
      process.stderr.write(`${renderError(toBerthError(err))}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}
