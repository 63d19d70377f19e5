import { readFile, unlink } from 'node:fs/promises';

/** The PID in `path` if that process is alive and its command line contains `marker`. */
export async function livePid(path: string, marker: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline?.includes(marker) ? pid : undefined;
}

/**
 * Kill a process a previous run left behind (its pid file still names a live process
 * running `marker`), e.g. a Redis whose daemon was SIGKILLed. Returns the PID it killed.
 */
export async function killStale(path: string, marker: string, waitMs = 5000): Promise<number | undefined> {
  const pid = await livePid(path, marker);
  if (pid === undefined) return undefined;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && (await livePid(path, marker)) !== undefined) await new Promise((r) => setTimeout(r, 50));
  if ((await livePid(path, marker)) !== undefined) process.kill(pid, 'SIGKILL');
  try {
    process.kill(-pid, 'SIGKILL'); // what it left in its process group (nginx workers)
  } catch {
    // ESRCH: nothing left.
  }
  await unlink(path).catch(() => undefined);
  return pid;
}
