import { constants } from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * Docker's exit status for a program that could not be run (`container:run`, `container:exec`):
 * 127 when it does not exist (ENOENT), 126 when it cannot be executed (EACCES, ENOEXEC).
 * Decided from the failing call carried in the error's details, never from its words:
 * `details.op` is `exec` (berth-runtime's name for finding and executing the program) and
 * `details.errno` its errno, a number as the runtime reports it or a name. Any other failure
 * is undefined: the caller has its own status for it (125 for run: Berth failed).
 */
export function cannotRunStatus(details: Readonly<Record<string, unknown>>): 126 | 127 | undefined {
  if (details.op !== 'exec') return undefined;
  const errno = typeof details.errno === 'number' ? errnoNames.get(details.errno) : details.errno;
  if (errno === 'ENOENT') return 127;
  if (errno === 'EACCES' || errno === 'ENOEXEC') return 126;
  return undefined;
}
