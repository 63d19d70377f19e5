/**
 * The exit statuses of `container:run`, `container:start -a` and `container:exec`, Docker's:
 * the program's own when it ran; 125 when Berth failed before it ran; 126/127 when it could
 * not be executed or found (docs/containers.md).
 */
import { cannotRunStatus, renderError, toBerthError, type BerthError } from '../../../core/index.js';
import { BERTH_FAILED_EXIT } from './exit.js';

/**
 * The status for a failure before the program ran: 127 not found, 126 not executable (from
 * the failing exec's errno in the start failure's details: core cannotRunStatus), else 125.
 */
export function failureStatus(err: BerthError): number {
  return (err.code === 'E_CONTAINER_START_FAILED' ? cannotRunStatus(err.details) : undefined) ?? BERTH_FAILED_EXIT;
}

/** Run an action that resolves with the program's status; an error is printed as every command prints one, with Docker's status. */
export async function withDockerStatus(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (err) {
    const e = toBerthError(err);
    process.stderr.write(`${renderError(e)}\n`);
    process.exitCode = failureStatus(e);
  }
}
